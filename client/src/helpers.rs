//! Recursive helpers built on the operations: `create_all`, `delete_all`, `walk`.

use proto::path;

use crate::call::validate;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::CreateOptions;

impl Client {
    /// Creates a node and any missing parents (`mkdir -p`). Parents are persistent nodes
    /// with the same ACL and empty data; nodes that already exist are left as they are.
    /// Returns the path created (or found) for the last segment.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), except that existing nodes are not an error.
    ///
    /// ```no_run
    /// use zk_client::CreateOptions;
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.create_all("/app/services/api", b"", &CreateOptions::persistent()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_all(
        &self,
        target: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<String> {
        validate("create", target)?;
        let parents = CreateOptions::persistent().acl(options.acl.clone());
        // Pipelined: every ancestor is requested at once, in order.
        let mut ancestors = Vec::new();
        let mut current = path::parent(target);
        while let Some(p) = current.filter(|p| *p != "/") {
            ancestors.push(p.to_owned());
            current = path::parent(p);
        }
        let creates: Vec<_> = ancestors
            .iter()
            .rev()
            .map(|p| self.create(p, b"", &parents))
            .collect();
        for created in creates {
            match created.await {
                Ok(_) | Err(Error::NodeExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        match self.create(target, data, options).await {
            Ok((created, _)) => Ok(created),
            Err(Error::NodeExists(_)) if !options.mode.is_sequential() => Ok(target.to_owned()),
            Err(e) => Err(e),
        }
    }

    /// Every descendant of a node, parents before children (breadth first), without the
    /// node itself. Each level is read with pipelined requests.
    ///
    /// # Errors
    ///
    /// [`Error::NoNode`] when the node does not exist; nodes deleted during the walk are
    /// skipped. The connection errors.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// for path in client.walk("/app").await? {
    ///     println!("{path}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn walk(&self, root: &str) -> Result<Vec<String>> {
        validate("getChildren", root)?;
        let mut found = Vec::new();
        let (children, _) = self.get_children(root).await?;
        let mut level: Vec<String> = children.iter().map(|c| path::join(root, c)).collect();
        while !level.is_empty() {
            let reads: Vec<_> = level.iter().map(|p| self.get_children(p)).collect();
            let mut next = Vec::new();
            for (parent, read) in level.iter().zip(reads) {
                match read.await {
                    Ok((children, _)) => {
                        next.extend(children.iter().map(|c| path::join(parent, c)))
                    }
                    Err(Error::NoNode(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            found.append(&mut level);
            level = next;
        }
        Ok(found)
    }

    /// Deletes a node and everything below it, children first. Nodes that vanish
    /// meanwhile are fine; children added meanwhile are deleted on a retry (up to 5 times).
    ///
    /// # Errors
    ///
    /// [`Error::NotEmpty`] when children keep appearing, [`Error::NoAuth`],
    /// [`Error::BadArguments`] for `/` or `/zookeeper`, and the connection errors. A
    /// missing node is not an error.
    ///
    /// ```no_run
    /// # async fn _example(client: zk_client::Client) -> zk_client::Result<()> {
    /// client.delete_all("/app/tmp").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_all(&self, root: &str) -> Result<()> {
        validate("delete", root)?;
        let mut last = None;
        for _ in 0..5 {
            let mut nodes = match self.walk(root).await {
                Ok(nodes) => nodes,
                Err(Error::NoNode(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            nodes.push(root.to_owned());
            // Deepest first; pipelined.
            let deletes: Vec<_> = nodes.iter().rev().map(|p| self.delete(p, None)).collect();
            let mut retry = false;
            for deleted in deletes {
                match deleted.await {
                    Ok(()) | Err(Error::NoNode(_)) => {}
                    Err(e @ Error::NotEmpty(_)) => {
                        retry = true;
                        last = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            if !retry {
                return Ok(());
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::NotEmpty(crate::error::ErrorContext::new("delete", Some(root.into())))
        }))
    }
}
