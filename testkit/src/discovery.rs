//! Finding a ZooKeeper installation and a Java runtime.
//!
//! Search order:
//!
//! 1. an explicit classpath in `ZOOKEEPER_CLASSPATH` (or `ZK_CLASSPATH`), colon-separated,
//!    `dir/*` wildcards allowed;
//! 2. a release folder in `ZOOKEEPER_HOME` (every `lib/*.jar`, plus `zookeeper-*.jar` at
//!    the top level of older releases);
//! 3. Debian's package layout in `/usr/share/java` (`apt-get install zookeeper`).
//!
//! Java comes from `JAVA_HOME/bin/java`, else from the first `java` on `PATH`.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where Debian's `zookeeper` / `libzookeeper-java` packages put their jars.
pub const DEBIAN_JAVA_DIR: &str = "/usr/share/java";

/// Jars the Debian layout must provide.
const DEBIAN_REQUIRED: &[&str] = &["zookeeper", "zookeeper-jute", "slf4j-api"];

/// Jars added from the Debian layout when present: log4j logging, Netty (needed for TLS),
/// and the small runtime dependencies of ZooKeeper 3.8. Everything in `/usr/share/java/*`
/// would drag in several SLF4J bindings (which then log nothing) and slow start-up.
const DEBIAN_OPTIONAL: &[&str] = &[
    "slf4j-log4j12",
    "log4j-1.2",
    "netty-handler",
    "netty-transport",
    "netty-common",
    "netty-buffer",
    "netty-codec",
    "netty-resolver",
    "netty-transport-native-epoll",
    "netty-transport-native-unix-common",
    "commons-cli",
    "metrics-core",
    "snappy-java",
];

const INSTALL_HINT: &str = "Install it with `apt-get install zookeeper` on Debian or Ubuntu, \
or unpack a release from https://zookeeper.apache.org/releases.html and set ZOOKEEPER_HOME \
to its folder, or set ZOOKEEPER_CLASSPATH to a Java classpath holding zookeeper.jar, \
zookeeper-jute.jar and their dependencies";

const JAVA_HINT: &str = "Install a Java runtime (11 or newer) with \
`apt-get install default-jre-headless` on Debian or Ubuntu, or set JAVA_HOME";

/// Where an [`Installation`] was found.
///
/// # Examples
///
/// ```
/// use zk_testkit::InstallSource;
///
/// assert_eq!(InstallSource::Debian.to_string(), "Debian layout in /usr/share/java");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallSource {
    /// `ZOOKEEPER_CLASSPATH` or `ZK_CLASSPATH`, or [`Installation::from_parts`].
    Classpath,
    /// A release folder (`ZOOKEEPER_HOME`).
    Home(PathBuf),
    /// Debian's package layout in `/usr/share/java`.
    Debian,
}

impl fmt::Display for InstallSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Classpath => f.write_str("explicit classpath"),
            Self::Home(p) => write!(f, "release folder {}", p.display()),
            Self::Debian => write!(f, "Debian layout in {DEBIAN_JAVA_DIR}"),
        }
    }
}

/// A Java runtime plus a ZooKeeper classpath: everything needed to start a server.
///
/// # Examples
///
/// ```no_run
/// use zk_testkit::Installation;
///
/// let install = Installation::discover()?;
/// println!("ZooKeeper {:?} from {}", install.version(), install.source());
/// # Ok::<(), zk_testkit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Installation {
    java: PathBuf,
    classpath: Vec<String>,
    source: InstallSource,
    version: Option<String>,
}

impl Installation {
    /// Finds ZooKeeper and Java as described in the [module docs](self).
    ///
    /// # Errors
    ///
    /// [`Error::NotInstalled`] when no ZooKeeper is found (the message lists what was
    /// searched and how to install it); [`Error::JavaNotFound`] when no `java` is found.
    pub fn discover() -> Result<Self> {
        let mut searched = Vec::new();
        let found = find_classpath(&mut searched)?;
        let Some((classpath, source)) = found else {
            return Err(Error::NotInstalled {
                searched,
                hint: INSTALL_HINT.to_owned(),
            });
        };
        let java = find_java()?;
        Ok(Self::from_parts(java, classpath, source))
    }

    /// Builds an installation from an explicit `java` binary and classpath entries.
    ///
    /// # Examples
    ///
    /// ```
    /// use zk_testkit::{InstallSource, Installation};
    ///
    /// let install = Installation::from_parts(
    ///     "/usr/bin/java".into(),
    ///     vec!["/opt/zk/lib/zookeeper-3.8.4.jar".into(), "/opt/zk/lib/*".into()],
    ///     InstallSource::Classpath,
    /// );
    /// assert_eq!(install.version(), Some("3.8.4"));
    /// ```
    pub fn from_parts(java: PathBuf, classpath: Vec<String>, source: InstallSource) -> Self {
        let version = classpath.iter().find_map(|e| version_from_entry(e));
        Self {
            java,
            classpath,
            source,
            version,
        }
    }

    /// The `java` binary.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let install = zk_testkit::Installation::discover()?;
    /// assert!(install.java().ends_with("java"));
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn java(&self) -> &Path {
        &self.java
    }

    /// The classpath entries, in order.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let install = zk_testkit::Installation::discover()?;
    /// assert!(install.classpath().iter().any(|e| e.contains("zookeeper")));
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn classpath(&self) -> &[String] {
        &self.classpath
    }

    /// The classpath joined with `:`, with `first` (usually a folder holding logging
    /// configuration) in front when given.
    ///
    /// # Examples
    ///
    /// ```
    /// use zk_testkit::{InstallSource, Installation};
    ///
    /// let install = Installation::from_parts("java".into(), vec!["a.jar".into()], InstallSource::Classpath);
    /// assert_eq!(install.classpath_string(Some("/run/conf".as_ref())), "/run/conf:a.jar");
    /// ```
    pub fn classpath_string(&self, first: Option<&Path>) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(self.classpath.len() + 1);
        if let Some(p) = first {
            parts.push(p.display().to_string());
        }
        parts.extend(self.classpath.iter().cloned());
        parts.join(":")
    }

    /// Where the installation was found.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let install = zk_testkit::Installation::discover()?;
    /// println!("{}", install.source());
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn source(&self) -> &InstallSource {
        &self.source
    }

    /// The ZooKeeper version, as read from the jar's file name (`zookeeper-3.8.0.jar`),
    /// when it can be told. A running server reports its exact build through
    /// [`Ensemble::server_version`](crate::Ensemble::server_version).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let install = zk_testkit::Installation::discover()?;
    /// assert!(install.version().is_some_and(|v| v.starts_with('3')));
    /// # Ok::<(), zk_testkit::Error>(())
    /// ```
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

fn find_classpath(searched: &mut Vec<String>) -> Result<Option<(Vec<String>, InstallSource)>> {
    for var in ["ZOOKEEPER_CLASSPATH", "ZK_CLASSPATH"] {
        match env::var(var) {
            Ok(cp) if !cp.trim().is_empty() => {
                let mut entries: Vec<String> = cp
                    .split(':')
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect();
                expand_version_hint(&mut entries);
                return Ok(Some((entries, InstallSource::Classpath)));
            }
            _ => searched.push(format!("${var} (unset)")),
        }
    }

    match env::var_os("ZOOKEEPER_HOME") {
        Some(home) if !home.is_empty() => {
            let home = PathBuf::from(home);
            let jars = home_jars(&home)?;
            if jars.iter().any(|j| is_zookeeper_jar(j)) {
                return Ok(Some((jars, InstallSource::Home(home))));
            }
            searched.push(format!(
                "$ZOOKEEPER_HOME={} (no zookeeper-*.jar in it or in its lib/)",
                home.display()
            ));
        }
        _ => searched.push("$ZOOKEEPER_HOME (unset)".to_owned()),
    }

    let dir = Path::new(DEBIAN_JAVA_DIR);
    let required: Vec<PathBuf> = DEBIAN_REQUIRED
        .iter()
        .map(|n| dir.join(format!("{n}.jar")))
        .collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        let mut entries: Vec<String> = required.iter().map(|p| p.display().to_string()).collect();
        entries.extend(
            DEBIAN_OPTIONAL
                .iter()
                .map(|n| dir.join(format!("{n}.jar")))
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string()),
        );
        expand_version_hint(&mut entries);
        return Ok(Some((entries, InstallSource::Debian)));
    }
    searched.push(format!(
        "Debian layout in {DEBIAN_JAVA_DIR} (missing {})",
        missing.join(", ")
    ));
    Ok(None)
}

/// Debian ships `zookeeper.jar` plus a versioned symlink `zookeeper-3.8.0.jar`; when the
/// plain name is used, look for the versioned sibling so the version can be recorded.
fn expand_version_hint(entries: &mut [String]) {
    for entry in entries.iter_mut() {
        let path = Path::new(entry.as_str());
        if path.file_name().and_then(|n| n.to_str()) != Some("zookeeper.jar") {
            continue;
        }
        let Some(dir) = path.parent() else { continue };
        let Ok(read) = std::fs::read_dir(dir) else {
            continue;
        };
        for item in read.flatten() {
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if version_from_entry(name).is_some() && is_zookeeper_jar(name) {
                *entry = dir.join(name).display().to_string();
                return;
            }
        }
    }
}

fn home_jars(home: &Path) -> Result<Vec<String>> {
    let mut jars = Vec::new();
    for dir in [home.to_path_buf(), home.join("lib")] {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = read
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jar"))
            .collect();
        names.sort();
        // Tests and sources jars are not needed at run time.
        jars.extend(
            names
                .into_iter()
                .map(|p| p.display().to_string())
                .filter(|p| !p.ends_with("-tests.jar") && !p.ends_with("-sources.jar")),
        );
    }
    Ok(jars)
}

fn is_zookeeper_jar(entry: &str) -> bool {
    let name = Path::new(entry)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(entry);
    name == "zookeeper.jar"
        || (name.starts_with("zookeeper-")
            && name.ends_with(".jar")
            && name[10..].starts_with(|c: char| c.is_ascii_digit()))
}

/// `.../zookeeper-3.8.0.jar` gives `3.8.0`.
fn version_from_entry(entry: &str) -> Option<String> {
    let name = Path::new(entry).file_name()?.to_str()?;
    let rest = name.strip_prefix("zookeeper-")?.strip_suffix(".jar")?;
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then(|| rest.to_owned())
}

fn find_java() -> Result<PathBuf> {
    let mut searched = Vec::new();
    match env::var_os("JAVA_HOME") {
        Some(home) if !home.is_empty() => {
            let java = PathBuf::from(&home).join("bin").join("java");
            if java.is_file() {
                return Ok(java);
            }
            searched.push(format!("$JAVA_HOME/bin/java ({})", java.display()));
        }
        _ => searched.push("$JAVA_HOME (unset)".to_owned()),
    }
    let path = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path) {
        let java = dir.join("java");
        if java.is_file() {
            return Ok(java);
        }
    }
    searched.push(format!("java on $PATH ({})", path.to_string_lossy()));
    Err(Error::JavaNotFound {
        searched,
        hint: JAVA_HINT.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_jar_names() {
        assert_eq!(
            version_from_entry("/usr/share/java/zookeeper-3.8.0.jar").as_deref(),
            Some("3.8.0")
        );
        assert_eq!(
            version_from_entry("/usr/share/java/zookeeper-jute-3.8.0.jar"),
            None
        );
        assert_eq!(version_from_entry("/usr/share/java/zookeeper.jar"), None);
        assert!(is_zookeeper_jar("/x/zookeeper-3.9.2.jar"));
        assert!(!is_zookeeper_jar("/x/zookeeper-jute-3.9.2.jar"));
    }

    #[test]
    fn not_installed_message_names_the_searched_places_and_the_fix() {
        let err = Error::NotInstalled {
            searched: vec!["$ZOOKEEPER_HOME (unset)".into()],
            hint: INSTALL_HINT.into(),
        };
        let msg = err.to_string();
        assert!(msg.contains("ZOOKEEPER_HOME"), "{msg}");
        assert!(msg.contains("apt-get install zookeeper"), "{msg}");
    }
}
