//! Protected creates, as Curator makes them: an ephemeral-sequential node named
//! `_c_{uuid}-<name>{seq}`, so that a create whose reply was lost (`ConnectionLoss`) is found
//! again by its prefix instead of being made twice.
//!
//! - A found node is adopted only when its `ephemeralOwner` is our current session; a node
//!   of another session is deleted in the background and a new one created.
//! - A node left behind by a failed or cancelled attempt is deleted in the background
//!   until the delete succeeds or the session ends.

use bytes::Bytes;
use uuid::Uuid;
use zk_client::{Client, CreateMode, CreateOptions, Error as ZkError, Stat};

use crate::error::{Result, zk};

/// The protected prefix: `_c_`.
pub const PREFIX: &str = "_c_";

/// A protected name prefix: `_c_{uuid}-`, the uuid lowercase with dashes.
///
/// ```
/// let prefix = zk_recipes::protected::new_prefix();
/// assert!(prefix.starts_with("_c_") && prefix.ends_with('-'));
/// assert_eq!(prefix.len(), 40);
/// ```
pub fn new_prefix() -> String {
    format!("{PREFIX}{}-", Uuid::new_v4().hyphenated())
}

/// The protected prefix of `name` (`_c_{uuid}-`), if it has one with a valid uuid.
///
/// ```
/// use zk_recipes::protected::prefix_of;
/// let name = "_c_0d80a9b0-a41f-4977-b7fb-496f86f6ba7c-lock-0000000003";
/// assert_eq!(prefix_of(name), Some("_c_0d80a9b0-a41f-4977-b7fb-496f86f6ba7c-"));
/// assert_eq!(prefix_of("lock-0000000003"), None);
/// assert_eq!(prefix_of("_c_not-a-uuid-lock-0000000003"), None);
/// ```
pub fn prefix_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PREFIX)?;
    let uuid = rest.get(..36)?;
    (rest.as_bytes().get(36) == Some(&b'-') && Uuid::parse_str(uuid).is_ok())
        .then(|| &name[..PREFIX.len() + 37])
}

/// A node made by [`create`].
#[derive(Clone, Debug)]
pub(crate) struct Created {
    /// The node's path.
    pub(crate) path: String,
    /// Its Stat at creation (or when found).
    pub(crate) stat: Stat,
}

/// Creates `<parent>/<prefix><name>` ephemeral-sequential with `data`, making missing
/// parents as containers, as Curator does. After a connection loss it looks for a node of
/// `prefix` first, and adopts it only if it belongs to our session.
///
/// `lost_reply`: an earlier create of this prefix may have made a node (its reply was
/// lost), so look for it first.
pub(crate) async fn create(
    client: &Client,
    parent: &str,
    prefix: &str,
    name: &str,
    data: &Bytes,
    mut lost_reply: bool,
) -> Result<Created> {
    let path = join(parent, &format!("{prefix}{name}"));
    let options = CreateOptions::new(CreateMode::EphemeralSequential);
    loop {
        if lost_reply {
            if let Some(found) = find(client, parent, prefix).await? {
                return Ok(found);
            }
        }
        match client.create(&path, data, &options).await {
            Ok((path, stat)) => return Ok(Created { path, stat }),
            Err(ZkError::NoNode(_)) => make_parents(client, parent).await?,
            Err(e) if e.is_connection_loss() => {
                lost_reply = true;
                wait_connected(client).await?;
            }
            Err(e) => return Err(zk(e)),
        }
    }
}

/// Our node of `prefix` under `parent`, if the create of a lost reply made one. A node of
/// another session (ours expired meanwhile) is deleted in the background.
async fn find(client: &Client, parent: &str, prefix: &str) -> Result<Option<Created>> {
    let children = match client.get_children(parent).await {
        Ok((children, _)) => children,
        Err(ZkError::NoNode(_)) => return Ok(None),
        Err(e) => return Err(zk(e)),
    };
    for child in children.iter().filter(|c| c.starts_with(prefix)) {
        let path = join(parent, child);
        match client.exists(&path).await.map_err(zk)? {
            Some(stat) if stat.ephemeral_owner == client.session_id() => {
                return Ok(Some(Created { path, stat }));
            }
            Some(_) => {
                let _ = client.delete_in_background(&path, None);
            }
            None => {}
        }
    }
    Ok(None)
}

/// Deletes, in the background, whatever node a failed or cancelled attempt with `prefix`
/// left under `parent` (its name is not known when the create's reply was lost), retrying
/// until it succeeds or the session ends. Returns at once; needs a tokio runtime only when
/// the node's name is not known.
pub(crate) fn forget(client: &Client, parent: &str, prefix: &str, known: Option<&str>) {
    if let Some(path) = known {
        let _ = client.delete_in_background(path, None);
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (client, parent, prefix) = (client.clone(), parent.to_owned(), prefix.to_owned());
    runtime.spawn(async move {
        loop {
            match client.get_children(&parent).await {
                Ok((children, _)) => {
                    for child in children.iter().filter(|c| c.starts_with(&prefix)) {
                        let _ = client.delete_in_background(&join(&parent, child), None);
                    }
                    return;
                }
                Err(e) if e.is_connection_loss() => {
                    if wait_connected(&client).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
}

/// Creates the missing ancestors of `path`, and `path`, as container nodes.
pub(crate) async fn make_parents(client: &Client, path: &str) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(path);
    while let Some(p) = current.filter(|p| *p != "/") {
        missing.push(p);
        current = zk_client::proto::path::parent(p);
    }
    let options = CreateOptions::new(CreateMode::Container);
    for p in missing.into_iter().rev() {
        match client.create(p, b"", &options).await {
            Ok(_) | Err(ZkError::NodeExists(_)) => {}
            Err(e) => return Err(zk(e)),
        }
    }
    Ok(())
}

/// Waits until the session is connected again; an error once it has ended.
pub(crate) async fn wait_connected(client: &Client) -> Result<()> {
    let state = client
        .state_watcher()
        .wait_for(|s| s.is_connected() || s.is_terminal())
        .await
        .map_err(zk)?;
    if state.is_terminal() {
        let context = zk_client::ErrorContext::new("wait", None);
        return Err(zk(ZkError::SessionExpired(context)));
    }
    Ok(())
}

/// After a lost reply, on the next connection: which of `paths` exist. A sync on the first
/// makes the server catch up with every transaction the old connection could still have
/// had applied. Reads again through further connection losses.
pub(crate) async fn present(client: &Client, paths: &[&str]) -> Result<Vec<bool>> {
    'again: loop {
        wait_connected(client).await?;
        let sync = client.sync(paths.first().copied().unwrap_or("/"));
        let reads: Vec<_> = paths.iter().map(|p| client.exists(p)).collect();
        match sync.await {
            Ok(()) | Err(ZkError::NoNode(_)) => {}
            Err(e) if e.is_connection_loss() => continue,
            Err(e) => return Err(zk(e)),
        }
        let mut found = Vec::with_capacity(paths.len());
        for read in reads {
            match read.await {
                Ok(stat) => found.push(stat.is_some()),
                Err(e) if e.is_connection_loss() => continue 'again,
                Err(e) => return Err(zk(e)),
            }
        }
        return Ok(found);
    }
}

/// `parent/name`.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn every_new_prefix_is_recognised(name in "[a-z_-]{0,12}", seq in any::<i32>()) {
            let prefix = new_prefix();
            let node = format!("{prefix}{name}{seq:010}");
            prop_assert_eq!(prefix_of(&node), Some(prefix.as_str()));
        }

        #[test]
        fn names_without_a_uuid_are_not_protected(name in "[a-z0-9_-]{0,60}") {
            let node = format!("_c_{name}");
            if let Some(prefix) = prefix_of(&node) {
                prop_assert!(Uuid::parse_str(&prefix[3..39]).is_ok());
            }
        }
    }

    #[test]
    fn join_handles_the_root() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/x", "a"), "/x/a");
    }
}
