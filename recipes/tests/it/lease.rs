//! Leases with kazoo's layout against a real server.

use std::time::Duration;

use zk_recipes::lease::{Lease, MultiLease};

use crate::support::{children, client, connect};

#[tokio::test]
async fn a_lease_is_held_renewed_by_its_holder_and_free_after_its_end() {
    let (zk, server) = client().await;
    let other = connect(&server).await;
    let a = Lease::new(&zk, "/leases/job", Duration::from_secs(2)).holder("a");
    let b = Lease::new(&other, "/leases/job", Duration::from_secs(2)).holder("b");
    let held = a.try_obtain().await.unwrap().expect("free at first");
    assert_eq!(held.holder, "a");
    assert!(b.try_obtain().await.unwrap().is_none(), "a holds it");
    let renewed = a.try_obtain().await.unwrap().expect("a renews");
    assert!(renewed.end >= held.end);
    // kazoo's layout: the holder node, and no lock node left behind.
    assert_eq!(children(&zk, "/leases/job").await, ["lease_holder"]);
    let (data, _) = zk.get_data("/leases/job/lease_holder").await.unwrap();
    let text = String::from_utf8(data.to_vec()).unwrap();
    assert!(
        text.starts_with(r#"{"version": 1, "holder": "a", "end": ""#),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let taken = b.try_obtain().await.unwrap().expect("free after its end");
    assert_eq!(taken.holder, "b");
}

#[tokio::test]
async fn a_multi_lease_hands_out_its_slots_in_order() {
    let (zk, _server) = client().await;
    let lease = |holder: &str| {
        MultiLease::new(&zk, "/leases/report", 2, Duration::from_secs(60)).holder(holder)
    };
    assert_eq!(lease("a").try_obtain().await.unwrap().unwrap().0, 0);
    assert_eq!(lease("b").try_obtain().await.unwrap().unwrap().0, 1);
    assert!(lease("c").try_obtain().await.unwrap().is_none());
    // A holder renews its own slot.
    assert_eq!(lease("b").try_obtain().await.unwrap().unwrap().0, 1);
}

#[tokio::test]
async fn a_lease_written_by_a_newer_format_is_left_alone() {
    let (zk, _server) = client().await;
    zk.create_all(
        "/leases/new/lease_holder",
        br#"{"version": 2, "holder": "x", "end": "2000-01-01T00:00:00"}"#,
        &zk_client::CreateOptions::persistent(),
    )
    .await
    .unwrap();
    let lease = Lease::new(&zk, "/leases/new", Duration::from_secs(1)).holder("a");
    assert!(lease.try_obtain().await.unwrap().is_none());
    zk.set_data("/leases/new/lease_holder", b"garbage", None)
        .await
        .unwrap();
    assert!(matches!(
        lease.try_obtain().await,
        Err(zk_recipes::Error::InvalidArgument(_))
    ));
}
