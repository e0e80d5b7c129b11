//! Starting child processes so that they die with the test process.
//!
//! Every server JVM is started from one long-lived spawner thread, through
//! `setpriv --pdeathsig KILL`. The kernel sends SIGKILL to a child when the *thread* that
//! forked it exits, so forking from a thread that lives as long as the process means the
//! JVMs die when the test binary exits, even on `abort`, SIGKILL or a static that is never
//! dropped ([`shared`](crate::shared)). Ordinary drops kill and reap the child explicitly.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

type Request = (Command, mpsc::Sender<io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<Request>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        let spawned = std::thread::Builder::new()
            .name("zk-testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The channel never closes (the sender lives in a static); park forever so
                // the children keep their parent thread.
                loop {
                    std::thread::park();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the spawner thread: {e}");
        }
        Mutex::new(tx)
    })
}

/// The path of `setpriv` (util-linux), if installed.
pub(crate) fn setpriv() -> Option<&'static str> {
    static SETPRIV: OnceLock<Option<&'static str>> = OnceLock::new();
    *SETPRIV.get_or_init(|| {
        ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
    })
}

/// Spawns `cmd` from the spawner thread.
pub(crate) fn spawn(cmd: Command) -> io::Result<Child> {
    let (tx, rx) = mpsc::channel();
    {
        let sender = spawner()
            .lock()
            .map_err(|_| io::Error::other("spawner lock poisoned"))?;
        sender
            .send((cmd, tx))
            .map_err(|_| io::Error::other("spawner thread is gone"))?;
    }
    rx.recv()
        .map_err(|_| io::Error::other("spawner thread dropped the request"))?
}

/// Sends `sig` to `pid`, ignoring a process that is already gone.
pub(crate) fn signal(pid: u32, sig: Signal) -> io::Result<()> {
    let Ok(raw) = i32::try_from(pid) else {
        return Err(io::Error::other(format!("pid {pid} out of range")));
    };
    match signal::kill(Pid::from_raw(raw), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// SIGKILLs and reaps `child`.
pub(crate) fn kill_and_reap(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    signal(child.id(), Signal::SIGKILL)?;
    child.wait()
}

/// SIGTERMs `child` and waits up to `grace` before SIGKILL.
pub(crate) async fn terminate(child: &mut Child, grace: Duration) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    // A stopped process does not handle SIGTERM until it runs again.
    signal(child.id(), Signal::SIGCONT)?;
    signal(child.id(), Signal::SIGTERM)?;
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill_and_reap(child)
}

/// Resident memory of `pid` in bytes (`VmRSS` in `/proc/<pid>/status`).
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Runs a short command to completion and fails with its stderr when it fails.
pub(crate) fn run(program: &str, args: &[&str]) -> crate::Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| crate::Error::io(format!("running {program}"), e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(crate::Error::Command {
            command: format!("{program} {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
