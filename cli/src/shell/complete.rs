//! Tab completion in the shell: command names, and node paths read from the server.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::CommandFactory as _;
use rustyline::Helper;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use zk_client::Client;

use crate::cli::ShellLine;

/// How long Tab completion waits for the server.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(1);

/// Tab completion of command names and node paths.
pub(super) struct ShellHelper {
    pub(super) client: Arc<RwLock<Client>>,
    pub(super) runtime: tokio::runtime::Handle,
}

impl ShellHelper {
    fn commands(prefix: &str) -> Vec<Pair> {
        let mut names: Vec<String> = ShellLine::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .chain(["help".to_owned()])
            .filter(|name| name.starts_with(prefix))
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| Pair {
                display: name.clone(),
                replacement: format!("{name} "),
            })
            .collect()
    }

    fn paths(&self, word: &str) -> Vec<Pair> {
        // Split into the parent to list and the partial name.
        let Some(slash) = word.rfind('/') else {
            return Vec::new();
        };
        let parent = if slash == 0 { "/" } else { &word[..slash] };
        let partial = &word[slash + 1..];
        let client = match self.client.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let listing = self.runtime.block_on(async {
            tokio::time::timeout(COMPLETION_TIMEOUT, client.get_children(parent)).await
        });
        let Ok(Ok((mut children, _))) = listing else {
            return Vec::new();
        };
        children.sort();
        children
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .map(|c| Pair {
                replacement: if parent == "/" {
                    format!("/{c}")
                } else {
                    format!("{parent}/{c}")
                },
                display: c,
            })
            .collect()
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let candidates = if before[..start].trim().is_empty() {
            Self::commands(word)
        } else if word.starts_with('/') {
            self.paths(word)
        } else {
            Vec::new()
        };
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_complete() {
        let shell_only: Vec<_> = ShellHelper::commands("redo")
            .into_iter()
            .map(|p| p.display)
            .collect();
        assert_eq!(shell_only, ["redo"]);
        let names: Vec<_> = ShellHelper::commands("get")
            .into_iter()
            .map(|p| p.display)
            .collect();
        assert_eq!(
            names,
            ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"]
        );
        assert!(
            ShellHelper::commands("")
                .iter()
                .any(|p| p.display == "deleteall")
        );
    }
}
