//! Running the built `zk` binary with a deadline, and reading what it printed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The longest any single `zk` run may take in these tests.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// A folder for the local server's state file, private to this test binary, so a
/// developer's own `zk server` is never picked up.
pub(crate) fn state_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary folder"))
        .path()
        .to_path_buf()
}

/// `zk` with a clean environment: no `ZK_SERVER`, a private state folder, and
/// `RUST_BACKTRACE=1` so a panic would show.
pub(crate) fn zk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zk"));
    cmd.env_remove("ZK_SERVER")
        .env("XDG_RUNTIME_DIR", state_dir())
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    cmd
}

/// What a run printed and its exit code.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self.stdout
    }

    /// Asserts a failure told in one line on stderr, without a panic or a backtrace, and
    /// returns that line.
    #[track_caller]
    pub(crate) fn error(self) -> String {
        assert_eq!(self.code, 1, "expected exit code 1: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        assert!(!self.stderr.contains("backtrace"), "{self:#?}");
        lines[0].to_owned()
    }
}

/// Waits for `child` with the deadline, killing it when it is exceeded.
pub(crate) fn wait(mut child: Child) -> Run {
    let began = Instant::now();
    loop {
        if child.try_wait().expect("waiting for zk").is_some() {
            return Run::from(child.wait_with_output().expect("zk output"));
        }
        if began.elapsed() > DEADLINE {
            let _ = child.kill();
            let run = Run::from(child.wait_with_output().expect("zk output"));
            panic!("zk ran longer than {DEADLINE:?}: {run:#?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a command to its end (within the deadline), with `stdin` as input.
pub(crate) fn run_cmd(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("zk starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("stdin written");
    }
    wait(child)
}

/// A test's own chroot on the binary's shared server.
pub(crate) struct Zk {
    /// `127.0.0.1:<port>/<chroot>`.
    pub(crate) server: String,
    /// The chroot, `/zkt-...`.
    pub(crate) chroot: String,
    /// `127.0.0.1:<port>`, without the chroot.
    pub(crate) root: String,
}

impl Zk {
    /// A fresh chroot on the shared server.
    pub(crate) async fn new() -> Self {
        let shared = zk_testkit::shared().await.expect("shared server");
        Self {
            server: shared.connect_string(),
            chroot: shared.chroot().to_owned(),
            root: shared.server().connect_string(),
        }
    }

    /// `zk --server <server> --timeout 5s <args>` for any server.
    pub(crate) fn run_at(server: &str, args: &[&str]) -> Run {
        let mut cmd = zk();
        cmd.args(["--server", server, "--timeout", "5s"]).args(args);
        run_cmd(cmd, None)
    }

    /// `zk --server <chroot> --timeout 5s <args>`.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = zk();
        cmd.args(["--server", &self.server, "--timeout", "5s"])
            .args(args);
        cmd
    }

    /// Runs `args`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args), None)
    }

    /// Runs `args` with `input` on stdin.
    pub(crate) fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        run_cmd(self.cmd(args), Some(input))
    }

    /// Runs `args`, asserts success, returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok()
    }

    /// Runs `args` with `--json`, asserts success, and parses stdout.
    #[track_caller]
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all).ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out:?} is not JSON: {e}"))
    }
}
