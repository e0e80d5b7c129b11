//! How results are printed: text for people, or one JSON document per line for scripts.
//!
//! Every result type implements [`Render`] (its text form) and `Serialize` (its JSON
//! form), so the two never drift apart.

use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use zk_client::{Stat, WatchedEvent};

/// A result that can be printed as text or as JSON.
pub(crate) trait Render: Serialize {
    /// Writes the text form.
    fn text(&self, w: &mut dyn Write) -> io::Result<()>;
}

/// Where results go, and in which form.
pub(crate) struct Output {
    json: bool,
    w: Box<dyn Write + Send>,
}

impl Output {
    /// Standard output.
    pub(crate) fn stdout(json: bool) -> Self {
        Self {
            json,
            w: Box::new(io::stdout()),
        }
    }

    /// Any writer (used by tests).
    #[cfg(test)]
    pub(crate) fn to_writer(json: bool, w: Box<dyn Write + Send>) -> Self {
        Self { json, w }
    }

    /// Whether results are JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints one result and flushes, so streamed results appear at once. The result is
    /// written in one piece, so lines printed meanwhile by other tasks (watch events in
    /// the shell) never land inside it.
    pub(crate) fn emit<T: Render + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let mut buf = Vec::new();
        if self.json {
            serde_json::to_writer(&mut buf, value).map_err(io::Error::other)?;
            buf.push(b'\n');
        } else {
            value.text(&mut buf)?;
        }
        self.w.write_all(&buf)?;
        self.w.flush()
    }

    /// Writes raw bytes (dump files, data).
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)?;
        self.w.flush()
    }
}

/// The Stat of a node with zkCli's names, in zkCli's order.
#[derive(Debug, Serialize)]
pub(crate) struct StatView {
    #[serde(rename = "cZxid")]
    czxid: i64,
    ctime: i64,
    #[serde(rename = "mZxid")]
    mzxid: i64,
    mtime: i64,
    #[serde(rename = "pZxid")]
    pzxid: i64,
    cversion: i32,
    #[serde(rename = "dataVersion")]
    data_version: i32,
    #[serde(rename = "aclVersion")]
    acl_version: i32,
    #[serde(rename = "ephemeralOwner")]
    ephemeral_owner: i64,
    #[serde(rename = "dataLength")]
    data_length: i32,
    #[serde(rename = "numChildren")]
    num_children: i32,
}

impl From<&Stat> for StatView {
    fn from(s: &Stat) -> Self {
        Self {
            czxid: s.czxid,
            ctime: s.ctime,
            mzxid: s.mzxid,
            mtime: s.mtime,
            pzxid: s.pzxid,
            cversion: s.cversion,
            data_version: s.version,
            acl_version: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
        }
    }
}

impl Render for StatView {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "cZxid = {:#x}", self.czxid)?;
        writeln!(w, "ctime = {}", format_millis(self.ctime))?;
        writeln!(w, "mZxid = {:#x}", self.mzxid)?;
        writeln!(w, "mtime = {}", format_millis(self.mtime))?;
        writeln!(w, "pZxid = {:#x}", self.pzxid)?;
        writeln!(w, "cversion = {}", self.cversion)?;
        writeln!(w, "dataVersion = {}", self.data_version)?;
        writeln!(w, "aclVersion = {}", self.acl_version)?;
        writeln!(w, "ephemeralOwner = {:#x}", self.ephemeral_owner)?;
        writeln!(w, "dataLength = {}", self.data_length)?;
        writeln!(w, "numChildren = {}", self.num_children)
    }
}

/// Node data in JSON: `"data"` when it is UTF-8 text, else `"dataBase64"`.
#[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub(crate) struct DataView {
    /// The data as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<String>,
    /// The data, base64-encoded, when it is not UTF-8.
    #[serde(
        rename = "dataBase64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) data_base64: Option<String>,
}

impl DataView {
    /// The JSON form of `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self {
                data: Some(text.to_owned()),
                data_base64: None,
            },
            Err(_) => Self {
                data: None,
                data_base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
        }
    }

    /// Like [`new`](Self::new), but empty data is left out.
    pub(crate) fn non_empty(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            Self::default()
        } else {
            Self::new(bytes)
        }
    }

    /// The bytes back.
    pub(crate) fn bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.data, &self.data_base64) {
            (Some(_), Some(_)) => Err("both \"data\" and \"dataBase64\" are set".to_owned()),
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("invalid \"dataBase64\": {e}")),
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// A watch event: `NodeDataChanged /a`, or a session event such as `Disconnected`.
#[derive(Debug, Serialize)]
pub(crate) struct EventView {
    /// The event type (`None` for session events).
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    /// The session state.
    pub(crate) state: String,
    /// The node; empty for session events.
    pub(crate) path: String,
}

impl From<&WatchedEvent> for EventView {
    fn from(e: &WatchedEvent) -> Self {
        Self {
            event_type: format!("{:?}", e.event_type),
            state: format!("{:?}", e.state),
            path: e.path.clone(),
        }
    }
}

impl EventView {
    /// Whether this is a session event rather than a node event.
    pub(crate) fn is_session_event(&self) -> bool {
        self.path.is_empty() && self.event_type == "None"
    }
}

impl Render for EventView {
    fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.is_session_event() {
            writeln!(w, "session {}", self.state)
        } else {
            writeln!(w, "{} {}", self.event_type, self.path)
        }
    }
}

/// Milliseconds since the epoch as ISO 8601 UTC: `2024-05-01T12:34:56.789Z`.
pub(crate) fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let day_secs = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A byte count for people: `12 B`, `3.4 KiB`.
pub(crate) fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn times_are_iso_8601_utc() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(format_millis(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn sizes() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(3 << 20), "3.0 MiB");
    }

    #[test]
    fn data_round_trips_as_text_or_base64() {
        let text = DataView::new(b"hello");
        assert_eq!(text.data.as_deref(), Some("hello"));
        assert_eq!(text.bytes().as_deref(), Ok(&b"hello"[..]));
        let binary = DataView::new(&[0xff, 0x00, 0x10]);
        assert!(binary.data.is_none());
        assert_eq!(binary.bytes().as_deref(), Ok(&[0xff, 0x00, 0x10][..]));
        assert_eq!(DataView::non_empty(b""), DataView::default());
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn stat_prints_like_zkcli_and_as_json() {
        let stat = Stat {
            czxid: 2,
            version: 3,
            ..Stat::default()
        };
        let buf = Shared::default();
        let mut out = Output::to_writer(false, Box::new(buf.clone()));
        out.emit(&StatView::from(&stat)).expect("written");
        let text = String::from_utf8(buf.0.lock().expect("not poisoned").clone()).expect("utf-8");
        assert!(text.starts_with("cZxid = 0x2\nctime = 1970-01-01T00:00:00.000Z\n"));
        assert!(text.contains("dataVersion = 3\n"));

        let buf = Shared::default();
        let mut out = Output::to_writer(true, Box::new(buf.clone()));
        out.emit(&StatView::from(&stat)).expect("written");
        let json: serde_json::Value =
            serde_json::from_slice(&buf.0.lock().expect("not poisoned")).expect("json");
        assert_eq!(json["dataVersion"], 3);
        assert_eq!(json["cZxid"], 2);
    }
}
