//! `dump` and `load`: a subtree to JSON and back.

use crate::support::Zk;

#[tokio::test]
async fn dump_and_load_round_trip() {
    let zk = Zk::new().await;
    zk.ok(&["create", "/src", "root data"]);
    zk.ok(&["create", "/src/config", "{\"a\": 1}"]);
    zk.ok(&["create", "/src/config/deep", ""]);
    zk.run_with_stdin(&["create", "/src/blob", "-"], &[0xde, 0xad, 0xbe, 0xef])
        .ok();
    zk.ok(&["create", "/src/readonly", "r", "world:anyone:r"]);
    zk.ok(&["create", "-s", "/src/seq-"]);

    let dumped = zk.ok(&["dump", "/src"]);
    let file: serde_json::Value = serde_json::from_str(&dumped).expect("a dump is JSON");
    assert_eq!(file["zk-dump"], 1);
    assert_eq!(file["path"], "/src");
    let node = &file["node"];
    assert_eq!(node["data"], "root data");
    assert_eq!(node["children"]["config"]["data"], "{\"a\": 1}");
    assert_eq!(
        node["children"]["config"]["children"]["deep"],
        serde_json::json!({})
    );
    assert_eq!(node["children"]["blob"]["dataBase64"], "3q2+7w==");
    assert_eq!(
        node["children"]["readonly"]["acl"],
        serde_json::json!(["world:anyone:r"])
    );
    let names: Vec<&String> = node["children"]
        .as_object()
        .expect("children")
        .keys()
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("seq-000000000")),
        "{names:?}"
    );

    let dir = tempfile::tempdir().expect("temporary folder");
    let file_path = dir.path().join("src.json");
    let path = file_path.to_str().expect("utf-8 path");
    assert_eq!(zk.ok(&["dump", "/src", "-o", path]), "");
    assert_eq!(
        zk.ok(&["load", "/copies/one", path]),
        "loaded 6 new nodes into /copies/one\n"
    );
    // The copy dumps to the same nodes.
    let copy: serde_json::Value =
        serde_json::from_str(&zk.ok(&["dump", "/copies/one"])).expect("JSON");
    assert_eq!(copy["node"], file["node"]);
    assert_eq!(
        zk.json(&["get", "/copies/one/blob"])["dataBase64"],
        "3q2+7w=="
    );
    assert_eq!(
        zk.ok(&["getAcl", "/copies/one/readonly"]),
        "world:anyone:r\n"
    );

    // Loading again refuses to touch existing nodes, unless told to.
    let again = zk.run(&["load", "/copies/one", path]).error();
    assert_eq!(
        again,
        "error: /copies/one: node already exists (use --overwrite to update existing nodes)"
    );
    zk.ok(&["set", "/copies/one/config", "changed"]);
    assert_eq!(
        zk.ok(&["load", "--overwrite", "/copies/one", path]),
        "loaded 0 new nodes into /copies/one, updated 1 node\n"
    );
    assert_eq!(zk.ok(&["get", "/copies/one/config"]), "{\"a\": 1}\n");

    // From stdin, with --json.
    let loaded = zk.run_with_stdin(&["--json", "load", "/copies/two", "-"], dumped.as_bytes());
    let loaded: serde_json::Value = serde_json::from_str(&loaded.ok()).expect("JSON");
    assert_eq!(loaded["created"], 6);
    assert_eq!(loaded["updated"], 0);

    let bad = zk.run_with_stdin(&["load", "/copies/three", "-"], b"{\"not\": \"a dump\"}");
    assert!(bad.error().contains("not a zk dump file"));
}
