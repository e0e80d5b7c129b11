//! [`ServiceInstance`] and its JSON: Curator's `ServiceInstance` as its
//! `JsonInstanceSerializer` writes it, read tolerantly.

use std::collections::HashMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::SerializeMap as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zk_client::CreateMode;

use super::UriSpec;

/// How an instance lives on the server (Curator's `ServiceType`).
///
/// | type | node | on a new session | on close |
/// |---|---|---|---|
/// | [`Dynamic`](Self::Dynamic) | ephemeral | made again | deleted |
/// | [`DynamicSequential`](Self::DynamicSequential) | ephemeral sequential | made again | deleted |
/// | [`Static`](Self::Static) | persistent | left as it is | deleted |
/// | [`Permanent`](Self::Permanent) | persistent | left as it is | left (CURATOR-94) |
///
/// ```
/// use zk_recipes::discovery::ServiceType;
/// assert_eq!(ServiceType::DynamicSequential.as_str(), "DYNAMIC_SEQUENTIAL");
/// assert!(ServiceType::Dynamic.is_dynamic() && !ServiceType::Permanent.is_dynamic());
/// ```
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceType {
    /// An ephemeral node: gone with the session, made again on a new one.
    #[default]
    Dynamic,
    /// An ephemeral sequential node: the id gets the server's sequence number appended.
    DynamicSequential,
    /// A persistent node, deleted when the discovery is closed.
    Static,
    /// A persistent node that outlives the discovery.
    Permanent,
}

impl ServiceType {
    /// Curator's name of the type, as written in the JSON.
    ///
    /// ```
    /// assert_eq!(zk_recipes::discovery::ServiceType::Static.as_str(), "STATIC");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "DYNAMIC",
            Self::DynamicSequential => "DYNAMIC_SEQUENTIAL",
            Self::Static => "STATIC",
            Self::Permanent => "PERMANENT",
        }
    }

    /// Whether the node is ephemeral (and so made again on a new session).
    ///
    /// ```
    /// assert!(zk_recipes::discovery::ServiceType::DynamicSequential.is_dynamic());
    /// ```
    pub fn is_dynamic(self) -> bool {
        matches!(self, Self::Dynamic | Self::DynamicSequential)
    }

    /// The create mode of the instance's node.
    pub(crate) fn create_mode(self) -> CreateMode {
        match self {
            Self::Dynamic => CreateMode::Ephemeral,
            Self::DynamicSequential => CreateMode::EphemeralSequential,
            Self::Static | Self::Permanent => CreateMode::Persistent,
        }
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered service instance: Curator's `ServiceInstance`, with a JSON payload.
///
/// Its node is `<base>/<name>/<id>` and its data the JSON Curator writes
/// ([`to_json`](Self::to_json)). The fields are public to read and change; build one
/// with [`new`](Self::new) and the setters.
///
/// ```
/// use zk_recipes::discovery::{ServiceInstance, ServiceType};
/// let instance = ServiceInstance::new("orders")
///     .id("orders-1")
///     .address("10.0.0.5")
///     .port(8080)
///     .payload(serde_json::json!({"zone": "a"}))
///     .service_type(ServiceType::Dynamic);
/// assert_eq!(instance.name, "orders");
/// assert!(instance.enabled);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServiceInstance {
    /// The service's name (the parent node).
    pub name: String,
    /// The instance's id (its node name; for [`ServiceType::DynamicSequential`], the
    /// prefix of it).
    pub id: String,
    /// The address it serves on.
    pub address: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The TLS port.
    pub ssl_port: Option<u16>,
    /// Whatever the service adds: any JSON value. Read without Jackson's `"@class"`.
    pub payload: Option<Value>,
    /// When it was registered, in milliseconds since the Unix epoch.
    pub registration_time_utc: i64,
    /// How its node lives.
    pub service_type: ServiceType,
    /// How to reach it, as a template ([`build_uri_spec`](Self::build_uri_spec)).
    pub uri_spec: Option<UriSpec>,
    /// Whether providers may pick it (a missing `enabled` reads as `true`).
    pub enabled: bool,
}

impl ServiceInstance {
    /// An instance of service `name`: a random UUID as id, registered now, DYNAMIC,
    /// enabled, with no address, ports, payload or URI spec.
    ///
    /// ```
    /// let instance = zk_recipes::discovery::ServiceInstance::new("orders");
    /// assert_eq!(instance.id.len(), 36);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            name: name.into(),
            id: uuid::Uuid::new_v4().to_string(),
            address: None,
            port: None,
            ssl_port: None,
            payload: None,
            registration_time_utc: now,
            service_type: ServiceType::Dynamic,
            uri_spec: None,
            enabled: true,
        }
    }

    /// The id. Default a random UUID.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").id("s-1");
    /// assert_eq!(i.id, "s-1");
    /// ```
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The address. Default none.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").address("10.0.0.1");
    /// assert_eq!(i.address.as_deref(), Some("10.0.0.1"));
    /// ```
    #[must_use]
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// The port. Default none.
    ///
    /// ```
    /// assert_eq!(zk_recipes::discovery::ServiceInstance::new("s").port(80).port, Some(80));
    /// ```
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The TLS port. Default none.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").ssl_port(443);
    /// assert_eq!(i.ssl_port, Some(443));
    /// ```
    #[must_use]
    pub fn ssl_port(mut self, port: u16) -> Self {
        self.ssl_port = Some(port);
        self
    }

    /// The payload. Default none.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").payload(serde_json::json!({"k": "v"}));
    /// assert!(i.payload.is_some());
    /// ```
    #[must_use]
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }

    /// The registration time, in milliseconds since the Unix epoch. Default now.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").registration_time_utc(1);
    /// assert_eq!(i.registration_time_utc, 1);
    /// ```
    #[must_use]
    pub fn registration_time_utc(mut self, millis: i64) -> Self {
        self.registration_time_utc = millis;
        self
    }

    /// The type. Default [`ServiceType::Dynamic`].
    ///
    /// ```
    /// use zk_recipes::discovery::{ServiceInstance, ServiceType};
    /// let i = ServiceInstance::new("s").service_type(ServiceType::Permanent);
    /// assert_eq!(i.service_type, ServiceType::Permanent);
    /// ```
    #[must_use]
    pub fn service_type(mut self, service_type: ServiceType) -> Self {
        self.service_type = service_type;
        self
    }

    /// The URI spec. Default none.
    ///
    /// ```
    /// use zk_recipes::discovery::{ServiceInstance, UriSpec};
    /// let i = ServiceInstance::new("s").uri_spec(UriSpec::parse("{address}").unwrap());
    /// assert!(i.uri_spec.is_some());
    /// ```
    #[must_use]
    pub fn uri_spec(mut self, spec: UriSpec) -> Self {
        self.uri_spec = Some(spec);
        self
    }

    /// Whether providers may pick it. Default `true`.
    ///
    /// ```
    /// assert!(!zk_recipes::discovery::ServiceInstance::new("s").enabled(false).enabled);
    /// ```
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The instance's URI spec rendered with its own fields, or `None` without a spec.
    ///
    /// ```
    /// use zk_recipes::discovery::{ServiceInstance, UriSpec};
    /// let i = ServiceInstance::new("s")
    ///     .address("h")
    ///     .port(1)
    ///     .uri_spec(UriSpec::parse("{scheme}://{address}:{port}").unwrap());
    /// assert_eq!(i.build_uri_spec().unwrap(), "http://h:1");
    /// ```
    pub fn build_uri_spec(&self) -> Option<String> {
        self.uri_spec
            .as_ref()
            .map(|spec| spec.build(Some(self), &HashMap::new()))
    }

    /// The instance as Curator's default serializer writes it: no `"enabled"`, and no
    /// `"@class"` in the payload. See [`JsonFormat`] for the other forms.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s").id("1").registration_time_utc(0);
    /// let json = String::from_utf8(i.to_json()).unwrap();
    /// assert!(json.starts_with(r#"{"name":"s","id":"1","address":null"#));
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        JsonFormat::default().write(self)
    }

    /// Reads an instance written by Curator or by us: unknown fields are ignored, a
    /// missing `enabled` reads as `true`, a missing type as DYNAMIC, and a payload's
    /// `"@class"` is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`](crate::Error::Corrupt) for data that is empty, not JSON, or
    /// without a `name` and an `id` (a discovery skips such nodes: CURATOR-574).
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::from_json(
    ///     br#"{"name":"s","id":"1","port":80,"serviceType":"STATIC","extra":true}"#,
    /// )
    /// .unwrap();
    /// assert_eq!(i.port, Some(80));
    /// assert!(i.enabled);
    /// ```
    pub fn from_json(data: &[u8]) -> crate::Result<Self> {
        let corrupt = || crate::Error::Corrupt {
            path: String::new(),
            expected: "a service instance (JSON)",
            data: bytes::Bytes::copy_from_slice(data),
        };
        let wire: WireIn = serde_json::from_slice(data).map_err(|_| corrupt())?;
        let payload = wire.payload.map(|mut p| {
            if let Value::Object(map) = &mut p {
                map.remove("@class");
            }
            p
        });
        Ok(Self {
            name: wire.name,
            id: wire.id,
            address: wire.address,
            port: wire.port,
            ssl_port: wire.ssl_port,
            payload: payload.filter(|p| !p.is_null()),
            registration_time_utc: wire.registration_time_utc.unwrap_or(0),
            service_type: wire.service_type.unwrap_or_default(),
            uri_spec: wire.uri_spec,
            enabled: wire.enabled.unwrap_or(true),
        })
    }
}

/// How instances are written (they are always read tolerantly).
///
/// The default matches Curator's default `JsonInstanceSerializer` (compatible mode): no
/// `"enabled"` key. [`with_enabled`](Self::with_enabled) writes it, as
/// `new JsonInstanceSerializer(cls, false)` does; [`payload_class`](Self::payload_class)
/// writes Jackson's `"@class"` first in an object payload, which a Curator reader with a
/// typed payload class needs.
///
/// ```
/// use zk_recipes::discovery::{JsonFormat, ServiceInstance};
/// let format = JsonFormat::default().payload_class("java.util.LinkedHashMap").with_enabled();
/// let i = ServiceInstance::new("s").payload(serde_json::json!({"k": "v"}));
/// let json = String::from_utf8(format.write(&i)).unwrap();
/// assert!(json.contains(r#""payload":{"@class":"java.util.LinkedHashMap","k":"v"}"#));
/// assert!(json.ends_with(r#","enabled":true}"#));
/// ```
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct JsonFormat {
    /// The `"@class"` written into object payloads, if any.
    pub payload_class: Option<String>,
    /// Whether `"enabled"` is written.
    pub enabled: bool,
}

impl JsonFormat {
    /// Write `"@class": class` first in an object payload. Default: no `"@class"`.
    ///
    /// ```
    /// let f = zk_recipes::discovery::JsonFormat::default().payload_class("java.util.HashMap");
    /// assert_eq!(f.payload_class.as_deref(), Some("java.util.HashMap"));
    /// ```
    #[must_use]
    pub fn payload_class(mut self, class: impl Into<String>) -> Self {
        self.payload_class = Some(class.into());
        self
    }

    /// Write the `"enabled"` key (Curator's non-compatible mode). Default: omitted.
    ///
    /// ```
    /// assert!(zk_recipes::discovery::JsonFormat::default().with_enabled().enabled);
    /// ```
    #[must_use]
    pub fn with_enabled(mut self) -> Self {
        self.enabled = true;
        self
    }

    /// The instance's JSON in this format. Null fields are written as `null`, as
    /// Jackson does.
    ///
    /// ```
    /// let i = zk_recipes::discovery::ServiceInstance::new("s");
    /// let json = zk_recipes::discovery::JsonFormat::default().write(&i);
    /// assert!(!String::from_utf8(json).unwrap().contains("enabled"));
    /// ```
    pub fn write(&self, instance: &ServiceInstance) -> Vec<u8> {
        let wire = WireOut {
            name: &instance.name,
            id: &instance.id,
            address: instance.address.as_deref(),
            port: instance.port,
            ssl_port: instance.ssl_port,
            payload: instance.payload.as_ref().map(|value| Classed {
                class: self.payload_class.as_deref(),
                value,
            }),
            registration_time_utc: instance.registration_time_utc,
            service_type: instance.service_type,
            uri_spec: instance.uri_spec.as_ref(),
            enabled: self.enabled.then_some(instance.enabled),
        };
        // Serializing plain strings, numbers and JSON values into a Vec cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

/// The fields as read.
#[derive(Deserialize)]
struct WireIn {
    name: String,
    id: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default, rename = "sslPort")]
    ssl_port: Option<u16>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default, rename = "registrationTimeUTC")]
    registration_time_utc: Option<i64>,
    #[serde(default, rename = "serviceType")]
    service_type: Option<ServiceType>,
    #[serde(default, rename = "uriSpec")]
    uri_spec: Option<UriSpec>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// The fields as written, in Curator's order.
#[derive(Serialize)]
struct WireOut<'a> {
    name: &'a str,
    id: &'a str,
    address: Option<&'a str>,
    port: Option<u16>,
    #[serde(rename = "sslPort")]
    ssl_port: Option<u16>,
    payload: Option<Classed<'a>>,
    #[serde(rename = "registrationTimeUTC")]
    registration_time_utc: i64,
    #[serde(rename = "serviceType")]
    service_type: ServiceType,
    #[serde(rename = "uriSpec")]
    uri_spec: Option<&'a UriSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

/// A payload with Jackson's `"@class"` first, when it is an object and a class is set.
struct Classed<'a> {
    class: Option<&'a str>,
    value: &'a Value,
}

impl Serialize for Classed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.class, self.value) {
            (Some(class), Value::Object(map)) => {
                let rest = map.iter().filter(|(k, _)| *k != "@class");
                let mut out = serializer.serialize_map(None)?;
                out.serialize_entry("@class", class)?;
                for (k, v) in rest {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
            (_, value) => value.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::discovery::UriSpecPart;

    /// The instance of the verified Curator dump (RECIPES.md §2.10).
    fn golden() -> ServiceInstance {
        ServiceInstance::new("my-service")
            .id("instance-1")
            .address("10.0.0.5")
            .port(8080)
            .ssl_port(8443)
            .payload(json!({"k": "v"}))
            .registration_time_utc(1_700_000_000_000)
            .uri_spec(UriSpec::parse("{scheme}://{address}:{port}").unwrap())
    }

    const GOLDEN: &str = concat!(
        r#"{"name":"my-service","id":"instance-1","address":"10.0.0.5","port":8080,"sslPort":8443,"#,
        r#""payload":{"@class":"java.util.Collections$SingletonMap","k":"v"},"#,
        r#""registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","#,
        r#""uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},"#,
        r#"{"value":"address","variable":true},{"value":":","variable":false},"#,
        r#"{"value":"port","variable":true}]}}"#
    );

    #[test]
    fn the_curator_dump_is_written_byte_for_byte() {
        let format = JsonFormat::default().payload_class("java.util.Collections$SingletonMap");
        assert_eq!(String::from_utf8(format.write(&golden())).unwrap(), GOLDEN);
    }

    #[test]
    fn the_curator_dump_reads_back() {
        let read = ServiceInstance::from_json(GOLDEN.as_bytes()).unwrap();
        assert_eq!(read, golden());
        assert_eq!(read.build_uri_spec().unwrap(), "https://10.0.0.5:8080");
    }

    #[test]
    fn the_default_format_omits_enabled_and_class() {
        let json = String::from_utf8(golden().enabled(false).to_json()).unwrap();
        assert!(json.contains(r#""payload":{"k":"v"}"#), "{json}");
        assert!(!json.contains("enabled"), "{json}");
        let json = JsonFormat::default()
            .with_enabled()
            .write(&golden().enabled(false));
        assert!(
            String::from_utf8(json)
                .unwrap()
                .ends_with(r#"]},"enabled":false}"#)
        );
    }

    #[test]
    fn nulls_are_written_as_jackson_does() {
        let i = ServiceInstance::new("s").id("1").registration_time_utc(5);
        assert_eq!(
            String::from_utf8(i.to_json()).unwrap(),
            r#"{"name":"s","id":"1","address":null,"port":null,"sslPort":null,"payload":null,"registrationTimeUTC":5,"serviceType":"DYNAMIC","uriSpec":null}"#
        );
    }

    #[test]
    fn what_curator_accepts_we_read() {
        let minimal = br#"{"name":"s","id":"1","address":"a","port":1,"registrationTimeUTC":2,"serviceType":"PERMANENT"}"#;
        let i = ServiceInstance::from_json(minimal).unwrap();
        assert_eq!(i.service_type, ServiceType::Permanent);
        assert!(i.enabled && i.payload.is_none() && i.uri_spec.is_none());
        let nulls = br#"{"name":"s","id":"1","address":null,"port":null,"sslPort":null,"payload":null,"registrationTimeUTC":2,"serviceType":"DYNAMIC_SEQUENTIAL","uriSpec":null,"enabled":false}"#;
        let i = ServiceInstance::from_json(nulls).unwrap();
        assert_eq!(i.service_type, ServiceType::DynamicSequential);
        assert!(!i.enabled && i.address.is_none());
        let unknown = br#"{"name":"s","id":"1","whatever":{"x":[1]},"payload":"text"}"#;
        let i = ServiceInstance::from_json(unknown).unwrap();
        assert_eq!(i.payload, Some(json!("text")));
    }

    #[test]
    fn empty_or_malformed_data_is_an_error_not_a_panic() {
        for data in [
            &b""[..],
            b"{",
            b"null",
            b"[]",
            br#"{"name":"s"}"#,
            br#"{"id":1}"#,
        ] {
            assert!(
                matches!(
                    ServiceInstance::from_json(data),
                    Err(crate::Error::Corrupt { .. })
                ),
                "{data:?}"
            );
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9 ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn instance() -> impl Strategy<Value = ServiceInstance> {
        let types = prop_oneof![
            Just(ServiceType::Dynamic),
            Just(ServiceType::DynamicSequential),
            Just(ServiceType::Static),
            Just(ServiceType::Permanent),
        ];
        let parts = prop::collection::vec(("[a-z:/.-]{0,6}", any::<bool>()), 0..5);
        (
            (
                "\\PC{0,12}",
                "[a-zA-Z0-9-]{1,36}",
                proptest::option::of("[0-9.]{1,15}"),
            ),
            (any::<Option<u16>>(), any::<Option<u16>>()),
            proptest::option::of(json_value()),
            (
                any::<i64>(),
                types,
                proptest::option::of(parts),
                any::<bool>(),
            ),
        )
            .prop_map(|((name, id, address), (port, ssl_port), payload, rest)| {
                let (time, service_type, parts, enabled) = rest;
                ServiceInstance {
                    name,
                    id,
                    address,
                    port,
                    ssl_port,
                    // A JSON null payload reads as no payload.
                    payload: payload.filter(|p| !p.is_null()),
                    registration_time_utc: time,
                    service_type,
                    uri_spec: parts.map(|parts| UriSpec {
                        parts: parts
                            .into_iter()
                            .map(|(value, variable)| UriSpecPart { value, variable })
                            .collect(),
                    }),
                    enabled,
                }
            })
    }

    proptest! {
        #[test]
        fn every_instance_reads_back_in_every_format(
            i in instance(),
            class in proptest::option::of("[a-z.$]{1,20}"),
        ) {
            let full = JsonFormat { payload_class: class.clone(), enabled: true };
            let read = ServiceInstance::from_json(&full.write(&i)).unwrap();
            prop_assert_eq!(&read, &i);
            // Without "enabled", it reads as true.
            let compatible = JsonFormat { payload_class: class, enabled: false };
            let read = ServiceInstance::from_json(&compatible.write(&i)).unwrap();
            prop_assert_eq!(read, i.enabled(true));
        }
    }
}
