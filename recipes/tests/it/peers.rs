//! The peer programs of the interop tests (`tests/interop/`): Curator 5.4 contenders
//! compiled with `javac` against Debian's jars, and kazoo contenders run by a Python venv
//! with kazoo 2.11.0. Both are built at most once per test binary, under the cargo target
//! dir, and reused by later runs while their inputs are unchanged. A missing toolchain is a
//! test failure that names the install command, never a skip.
//!
//! Every contender, ours included, prints the same lines (tests/interop/README.md):
//! `READY id`, `GRANT id round node from_us to_us`, `VIOLATION id round detail`,
//! `TIMEOUT id round`, `ERROR id what`, `DONE id`, and a final `SUMMARY`. The double
//! barrier members print `ENTERING`, `ENTERED`, `LEAVING` and `LEFT id round us` instead
//! of `GRANT`; the election participants print `LEADER id node us` and the like
//! (`JOINED`, `NOTLEADER`, `RESIGN`, `LEFT`, `PARTICIPANTS`); the counters print `START`,
//! `INCR id round pre post`, `INCREMENTED` and `SEEN id value`; the group members print
//! `MEMBERS` (Curator) or `PARTICIPANTS` (kazoo) as their view changes; the queue peers
//! print `PUT id item` and `TAKEN id item us`.

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsStr;
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command as AsyncCommand};
use tokio::sync::mpsc;

/// The kazoo release the tests run against (Debian's python3-kazoo is 2.8.0: not used).
pub(crate) const KAZOO_VERSION: &str = "2.11.0";

/// What installs the Java side (or `scripts/install-deps.sh`, which runs it when needed).
const CURATOR_INSTALL: &str = "apt-get install libcurator-recipes-java libcurator-framework-java \
     libcurator-client-java libcurator-discovery-java default-jdk-headless";

/// Where Debian puts the jars.
const JAVA_DIR: &str = "/usr/share/java";

/// Jars needed to compile and run the Curator contenders.
const CURATOR_JARS: [&str; 11] = [
    "curator-recipes.jar",
    "curator-x-discovery.jar",
    "jackson-databind.jar",
    "jackson-core.jar",
    "jackson-annotations.jar",
    "curator-framework.jar",
    "curator-client.jar",
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "guava.jar",
    "slf4j-api.jar",
];

/// A peer program.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Program {
    /// `CuratorMutex`: Curator's `InterProcessMutex`.
    CuratorMutex,
    /// `kazoo_lock.py`: kazoo's `Lock`.
    KazooLock,
    /// `CuratorRwLock`: Curator's `InterProcessReadWriteLock` (`--role read|write|mixed`).
    CuratorRwLock,
    /// `CuratorSemaphore`: Curator's `InterProcessSemaphoreV2` (`--leases N`).
    CuratorSemaphore,
    /// `CuratorDoubleBarrier`: Curator's `DistributedDoubleBarrier` (`--members N`).
    CuratorDoubleBarrier,
    /// `kazoo_double_barrier.py`: kazoo's `DoubleBarrier` (`--members N`).
    KazooDoubleBarrier,
    /// `CuratorLeaderLatch`: Curator's `LeaderLatch` (joins at once, leaves when told).
    CuratorLeaderLatch,
    /// `CuratorLeaderSelector`: Curator's `LeaderSelector` without `autoRequeue`.
    CuratorLeaderSelector,
    /// `CuratorSharedCount`: Curator's `SharedCount`, incremented by its CAS loop
    /// (`--seed S`).
    CuratorSharedCount,
    /// `CuratorAtomicLong`: Curator's `DistributedAtomicLong` (`--tries N`,
    /// `--promote LOCK_PATH`).
    CuratorAtomicLong,
    /// `kazoo_counter.py`: kazoo's `Counter` (`--curator` for `support_curator=True`).
    KazooCounter,
    /// `CuratorGroupMember`: Curator's `GroupMember` (joins at once, leaves when told).
    CuratorGroupMember,
    /// `CuratorDiscovery`: Curator's `ServiceDiscovery` and `ServiceProvider` (registers
    /// at once, leaves when told).
    CuratorDiscovery,
    /// `kazoo_party.py`: kazoo's `Party` (`--shallow`: `ShallowParty`).
    KazooParty,
    /// `kazoo_partitioner.py`: kazoo's `SetPartitioner` (`--items A,B,...`,
    /// `--time-boundary S`).
    KazooPartitioner,
    /// `CuratorQueue`: Curator's `DistributedQueue` (`--lock-path P`) or
    /// `SimpleDistributedQueue` (`--simple`), `--put N` or `--take N`.
    CuratorQueue,
    /// `kazoo_queue.py`: kazoo's `Queue` or `LockingQueue` (`--locking`), `--put N`
    /// (`--priority P`) or `--take N`.
    KazooQueue,
}

/// The compiled Curator contenders.
#[derive(Debug)]
pub(crate) struct Curator {
    java: PathBuf,
    classpath: String,
}

/// The venv with kazoo.
#[derive(Debug)]
pub(crate) struct Kazoo {
    python: PathBuf,
}

/// The Curator contenders, compiled on first use; fails the test when Java or the jars are
/// missing.
pub(crate) async fn curator() -> &'static Curator {
    static CURATOR: OnceLock<Result<Curator, String>> = OnceLock::new();
    let built = tokio::task::spawn_blocking(|| CURATOR.get_or_init(build_curator))
        .await
        .expect("the build task");
    match built {
        Ok(curator) => curator,
        Err(why) => panic!("Curator interop peers unavailable: {why}"),
    }
}

/// The kazoo venv, made on first use; fails the test when no Python can make it.
pub(crate) async fn kazoo() -> &'static Kazoo {
    static KAZOO: OnceLock<Result<Kazoo, String>> = OnceLock::new();
    let built = tokio::task::spawn_blocking(|| KAZOO.get_or_init(build_kazoo))
        .await
        .expect("the build task");
    match built {
        Ok(kazoo) => kazoo,
        Err(why) => panic!("kazoo interop peers unavailable: {why}"),
    }
}

/// The folder of the peers' build output, under the cargo target dir.
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("zk-recipes-interop")
}

/// The peer sources.
fn source_dir(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(lang)
}

/// A JDK tool: `$JAVA_HOME/bin/<tool>`, else `<tool>` on `PATH`, if it runs.
fn jdk_tool(tool: &str) -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        candidates.push(Path::new(&home).join("bin").join(tool));
    }
    candidates.push(PathBuf::from(tool));
    for candidate in &candidates {
        let runs = Command::new(candidate)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if runs {
            return Ok(candidate.clone());
        }
    }
    Err(format!(
        "no working `{tool}` ($JAVA_HOME/bin or PATH); install a JDK: {CURATOR_INSTALL}"
    ))
}

fn build_curator() -> Result<Curator, String> {
    let javac = jdk_tool("javac")?;
    let java = jdk_tool("java")?;
    let missing: Vec<&str> = CURATOR_JARS
        .iter()
        .copied()
        .filter(|jar| !Path::new(JAVA_DIR).join(jar).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {} in {JAVA_DIR}; install them: {CURATOR_INSTALL} (or run scripts/install-deps.sh)",
            missing.join(", ")
        ));
    }
    let compile_cp = CURATOR_JARS
        .iter()
        .map(|jar| format!("{JAVA_DIR}/{jar}"))
        .collect::<Vec<_>>()
        .join(":");
    let sources = source_files(&source_dir("java"), "java")?;
    let out = build_dir().join("java");
    let stamp = fingerprint(&sources, &[&compile_cp, &javac.to_string_lossy()])?;
    let stamp_file = out.join(".stamp");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() != Some(stamp.as_str()) {
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let output = Command::new(&javac)
            .args(["-Xlint:all,-path", "-encoding", "UTF-8", "-d"])
            .arg(&out)
            .args(["-cp", &compile_cp])
            .args(&sources)
            .output()
            .map_err(|e| format!("{}: {e}", javac.display()))?;
        if !output.status.success() {
            return Err(format!(
                "javac failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        std::fs::write(&stamp_file, &stamp)
            .map_err(|e| format!("{}: {e}", stamp_file.display()))?;
    }
    // Logging goes nowhere when slf4j-nop is there (slf4j's own fallback warns once).
    let mut classpath = format!("{}:{compile_cp}", out.display());
    let nop = Path::new(JAVA_DIR).join("slf4j-nop.jar");
    if nop.is_file() {
        classpath.push_str(&format!(":{}", nop.display()));
    }
    Ok(Curator { java, classpath })
}

/// The interpreters to make the venv with: `ZK_INTEROP_PYTHON` alone when set, else
/// `python3` on `PATH` and Debian's `/usr/bin/python3`.
fn python_candidates() -> Vec<PathBuf> {
    if let Some(python) = std::env::var_os("ZK_INTEROP_PYTHON") {
        return vec![PathBuf::from(python)];
    }
    vec![PathBuf::from("python3"), PathBuf::from("/usr/bin/python3")]
}

fn build_kazoo() -> Result<Kazoo, String> {
    let venv = build_dir().join(format!("venv-kazoo-{KAZOO_VERSION}"));
    let python = venv.join("bin").join("python");
    if kazoo_version(&python).as_deref() == Some(KAZOO_VERSION) {
        return Ok(Kazoo { python });
    }
    let requirement = format!("kazoo=={KAZOO_VERSION}");
    let mut tried = Vec::new();
    for candidate in python_candidates() {
        let _ = std::fs::remove_dir_all(&venv);
        let made = run_step(
            &candidate,
            &["-m".as_ref(), "venv".as_ref(), venv.as_os_str()],
        )
        .and_then(|()| {
            run_step(
                &python,
                &[
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    &requirement,
                ]
                .map(AsRef::as_ref),
            )
        });
        match made {
            Ok(()) if kazoo_version(&python).as_deref() == Some(KAZOO_VERSION) => {
                return Ok(Kazoo { python });
            }
            Ok(()) => tried.push(format!(
                "{}: the venv has kazoo {:?}",
                candidate.display(),
                kazoo_version(&python)
            )),
            Err(why) => tried.push(why),
        }
    }
    let _ = std::fs::remove_dir_all(&venv);
    Err(format!(
        "could not make a venv with kazoo {KAZOO_VERSION} ({}). Install Python's venv and pip \
         (apt-get install python3-venv python3-pip, or run scripts/install-deps.sh), or set \
         ZK_INTEROP_PYTHON to a Python 3 whose `-m venv` and pip work; pip needs PyPI",
        tried.join("; ")
    ))
}

/// Runs `program args`, describing how it failed.
fn run_step(program: &Path, args: &[&OsStr]) -> Result<(), String> {
    let shown = || {
        let args: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        format!("{} {}", program.display(), args.join(" "))
    };
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{}` failed ({}): {}",
            shown(),
            out.status,
            last_lines(&String::from_utf8_lossy(&out.stderr), 3)
        )),
        Err(e) => Err(format!("`{}`: {e}", shown())),
    }
}

/// The kazoo version `python` imports, if it runs.
fn kazoo_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args([
            "-I",
            "-c",
            "import kazoo.version; print(kazoo.version.__version__)",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The files of `dir` ending in `.ext`, sorted.
fn source_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

/// A digest of the files' names and contents and of `extra`: the build is redone when it
/// changes.
fn fingerprint(files: &[PathBuf], extra: &[&str]) -> Result<String, String> {
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .hash(&mut hasher);
    }
    extra.hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// One run of a peer program.
#[derive(Clone, Debug)]
pub(crate) struct Spawn {
    /// Which program.
    pub(crate) program: Program,
    /// Its `--id` (sessions add `-k`).
    pub(crate) id: String,
    /// Its `--sessions`.
    pub(crate) sessions: usize,
    /// Options after the common ones.
    pub(crate) extra: Vec<String>,
}

/// A running peer: its output lines arrive as it prints them.
#[derive(Debug)]
pub(crate) struct Running {
    id: String,
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: tokio::task::JoinHandle<String>,
}

/// A finished peer.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its `--id`.
    pub(crate) id: String,
    /// Every line it printed to stdout.
    pub(crate) lines: Vec<String>,
    /// How it ended.
    pub(crate) status: ExitStatus,
    /// The end of its stderr.
    pub(crate) stderr: String,
}

/// Starts `spawn` against `connect` (with the test's chroot) on `path`: `rounds` rounds,
/// holding for `hold` each.
pub(crate) async fn start(
    spawn: &Spawn,
    connect: &str,
    path: &str,
    rounds: usize,
    hold: Duration,
    list: bool,
) -> Running {
    let mut args: Vec<String> = vec![
        connect.to_owned(),
        path.to_owned(),
        rounds.to_string(),
        hold.as_millis().to_string(),
        "--sessions".to_owned(),
        spawn.sessions.to_string(),
        "--id".to_owned(),
        spawn.id.clone(),
    ];
    if list {
        args.push("--list".to_owned());
    }
    args.extend(spawn.extra.iter().cloned());
    let mut command = match spawn.program {
        Program::CuratorMutex
        | Program::CuratorRwLock
        | Program::CuratorSemaphore
        | Program::CuratorDoubleBarrier
        | Program::CuratorLeaderLatch
        | Program::CuratorLeaderSelector
        | Program::CuratorSharedCount
        | Program::CuratorAtomicLong
        | Program::CuratorGroupMember
        | Program::CuratorQueue
        | Program::CuratorDiscovery => {
            let curator = curator().await;
            let mut c = AsyncCommand::new(&curator.java);
            // Quick start and little JIT work: the machine may be small and busy.
            c.args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"])
                .arg(&curator.classpath)
                .arg(match spawn.program {
                    Program::CuratorRwLock => "CuratorRwLock",
                    Program::CuratorSemaphore => "CuratorSemaphore",
                    Program::CuratorDoubleBarrier => "CuratorDoubleBarrier",
                    Program::CuratorLeaderLatch => "CuratorLeaderLatch",
                    Program::CuratorLeaderSelector => "CuratorLeaderSelector",
                    Program::CuratorSharedCount => "CuratorSharedCount",
                    Program::CuratorAtomicLong => "CuratorAtomicLong",
                    Program::CuratorGroupMember => "CuratorGroupMember",
                    Program::CuratorQueue => "CuratorQueue",
                    Program::CuratorDiscovery => "CuratorDiscovery",
                    _ => "CuratorMutex",
                });
            c
        }
        Program::KazooLock
        | Program::KazooDoubleBarrier
        | Program::KazooCounter
        | Program::KazooParty
        | Program::KazooPartitioner
        | Program::KazooQueue => {
            let kazoo = kazoo().await;
            let mut c = AsyncCommand::new(&kazoo.python);
            let script = match spawn.program {
                Program::KazooDoubleBarrier => "kazoo_double_barrier.py",
                Program::KazooCounter => "kazoo_counter.py",
                Program::KazooParty => "kazoo_party.py",
                Program::KazooPartitioner => "kazoo_partitioner.py",
                Program::KazooQueue => "kazoo_queue.py",
                _ => "kazoo_lock.py",
            };
            c.arg("-I").arg(source_dir("python").join(script));
            c
        }
    };
    let mut child = command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", spawn.program));
    let (tx, lines) = mpsc::unbounded_channel();
    let stdout = child.stdout.take().expect("piped stdout");
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text).await;
        last_lines(&text, 20)
    });
    Running {
        id: spawn.id.clone(),
        child,
        lines,
        seen: Vec::new(),
        stderr,
    }
}

impl Running {
    /// Waits until `sessions` sessions have printed `READY` (connected; all programs but
    /// `CuratorLeaderLatch` then wait for `go`).
    pub(crate) async fn ready(&mut self, sessions: usize) {
        let wait = async {
            while self.seen.iter().filter(|l| l.starts_with("READY ")).count() < sessions {
                match self.lines.recv().await {
                    Some(line) => self.seen.push(line),
                    None => return false,
                }
            }
            true
        };
        let ready = tokio::time::timeout(Duration::from_secs(60), wait).await;
        if ready != Ok(true) {
            let _ = self.child.start_kill();
            let stderr = (&mut self.stderr).await.unwrap_or_default();
            panic!(
                "peer {} not ready: stdout {:?}, stderr: {stderr}",
                self.id, self.seen
            );
        }
    }

    /// The lines printed so far, without waiting.
    pub(crate) fn printed(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Waits (at most `limit`) until the program has printed a line starting with
    /// `prefix`, and returns the first such line; `None` at the limit or when the program
    /// has ended without one.
    pub(crate) async fn line(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        let wait = async {
            loop {
                if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                    return Some(line.clone());
                }
                self.seen.push(self.lines.recv().await?);
            }
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }

    /// Waits for the program to end (at most `limit`) and collects its output.
    pub(crate) async fn finish(mut self, limit: Duration) -> Finished {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("waiting for a peer"),
            Err(_) => {
                let _ = self.child.kill().await;
                self.child.wait().await.expect("waiting for a peer")
            }
        };
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        Finished {
            id: self.id,
            lines: self.seen,
            status,
            stderr: self.stderr.await.unwrap_or_default(),
        }
    }
}

impl Finished {
    /// Panics unless the program exited 0 and printed its summary.
    pub(crate) fn assert_clean(&self) {
        assert!(
            self.status.success() && self.lines.iter().any(|l| l.starts_with("SUMMARY ")),
            "peer {} ended with {}: stdout {:#?}\nstderr: {}",
            self.id,
            self.status,
            self.lines,
            self.stderr
        );
    }

    /// The `VERSION` line, if printed.
    pub(crate) fn version(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| l.strip_prefix("VERSION "))
    }
}
