//! Where `zk` keeps its few files: the local server's state and the shell history.

use std::path::PathBuf;

/// The folder of the local server's state file and log: `$XDG_RUNTIME_DIR/zk-cli`, else
/// `~/.cache/zk-cli`, else `$TMPDIR/zk-cli-<uid>`.
pub(crate) fn runtime_dir() -> PathBuf {
    if let Some(dir) = env_dir("XDG_RUNTIME_DIR") {
        return dir.join("zk-cli");
    }
    if let Some(dir) = env_dir("XDG_CACHE_HOME") {
        return dir.join("zk-cli");
    }
    if let Some(home) = env_dir("HOME") {
        return home.join(".cache").join("zk-cli");
    }
    std::env::temp_dir().join(format!("zk-cli-{}", nix::unistd::getuid()))
}

/// The shell history: `$XDG_STATE_HOME/zk-cli/history`, else
/// `~/.local/state/zk-cli/history`; none without a home.
pub(crate) fn history_file() -> Option<PathBuf> {
    if let Some(dir) = env_dir("XDG_STATE_HOME") {
        return Some(dir.join("zk-cli").join("history"));
    }
    env_dir("HOME").map(|home| home.join(".local/state/zk-cli/history"))
}

/// An absolute folder named by an environment variable.
fn env_dir(name: &str) -> Option<PathBuf> {
    let value = std::env::var_os(name)?;
    let path = PathBuf::from(value);
    path.is_absolute().then_some(path)
}
