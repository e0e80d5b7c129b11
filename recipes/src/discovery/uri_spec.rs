//! [`UriSpec`]: Curator's template of how to reach an instance, and its renderer.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ServiceInstance;

/// One token of a [`UriSpec`]: literal text, or the name of a variable.
///
/// ```
/// use zk_recipes::discovery::UriSpecPart;
/// let part = UriSpecPart::variable("port");
/// assert!(part.variable && part.value == "port");
/// ```
#[derive(Clone, Debug, Default, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UriSpecPart {
    /// The text, or the variable's name.
    #[serde(default)]
    pub value: String,
    /// Whether `value` names a variable.
    #[serde(default)]
    pub variable: bool,
}

impl UriSpecPart {
    /// Literal text.
    ///
    /// ```
    /// assert!(!zk_recipes::discovery::UriSpecPart::literal("://").variable);
    /// ```
    pub fn literal(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            variable: false,
        }
    }

    /// A variable, replaced when the spec is built.
    ///
    /// ```
    /// assert!(zk_recipes::discovery::UriSpecPart::variable("scheme").variable);
    /// ```
    pub fn variable(name: impl Into<String>) -> Self {
        Self {
            value: name.into(),
            variable: true,
        }
    }
}

/// Curator's `UriSpec`: a template such as `{scheme}://{address}:{port}`, kept as parts.
///
/// Variables an instance fills in: `scheme` (`https` when the instance has an SSL port,
/// else `http`), `name`, `id`, `address`, `port`, `ssl-port`, `registration-time-utc`,
/// `service-type` (lower case); `[` and `]` give a literal `{` and `}`.
///
/// ```
/// use zk_recipes::discovery::{ServiceInstance, UriSpec};
/// let spec = UriSpec::parse("{scheme}://{address}:{port}/api").unwrap();
/// let instance = ServiceInstance::new("api").address("10.0.0.5").port(8080).uri_spec(spec);
/// assert_eq!(instance.build_uri_spec().as_deref(), Some("http://10.0.0.5:8080/api"));
/// ```
#[derive(Clone, Debug, Default, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UriSpec {
    /// The tokens, in order.
    #[serde(default)]
    pub parts: Vec<UriSpecPart>,
}

impl UriSpec {
    /// A spec of these parts.
    ///
    /// ```
    /// use zk_recipes::discovery::{UriSpec, UriSpecPart};
    /// let spec = UriSpec::from_parts(vec![UriSpecPart::variable("address")]);
    /// assert_eq!(spec.parts.len(), 1);
    /// ```
    pub fn from_parts(parts: Vec<UriSpecPart>) -> Self {
        Self { parts }
    }

    /// Parses a template: text in braces names a variable (trimmed), the rest is literal.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a `{` inside a
    /// variable, a `}` without its `{`, or a variable left open.
    ///
    /// ```
    /// let spec = zk_recipes::discovery::UriSpec::parse("{scheme}://x").unwrap();
    /// assert_eq!(spec.parts.len(), 2);
    /// assert!(zk_recipes::discovery::UriSpec::parse("{open").is_err());
    /// ```
    pub fn parse(template: &str) -> crate::Result<Self> {
        let bad =
            |why: &str| crate::Error::InvalidArgument(format!("uri spec {template:?}: {why}"));
        let mut parts = Vec::new();
        let mut inside = false;
        let mut token = String::new();
        for c in template.chars() {
            match c {
                '{' if inside => return Err(bad("{ inside a variable")),
                '}' if !inside => return Err(bad("} without {")),
                '{' | '}' => {
                    if !token.is_empty() {
                        let text = std::mem::take(&mut token);
                        parts.push(if inside {
                            UriSpecPart::variable(text.trim())
                        } else {
                            UriSpecPart::literal(text)
                        });
                    }
                    inside = c == '{';
                }
                c => token.push(c),
            }
        }
        if inside {
            return Err(bad("a variable is not closed"));
        }
        if !token.is_empty() {
            parts.push(UriSpecPart::literal(token));
        }
        Ok(Self { parts })
    }

    /// Renders the spec with `instance`'s fields, then `variables` (which win). A variable
    /// with no value renders as nothing.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use zk_recipes::discovery::{ServiceInstance, UriSpec};
    /// let spec = UriSpec::parse("{scheme}://{host}:{ssl-port}").unwrap();
    /// let instance = ServiceInstance::new("api").ssl_port(8443);
    /// let vars = HashMap::from([("host".to_owned(), "example.org".to_owned())]);
    /// assert_eq!(spec.build(Some(&instance), &vars), "https://example.org:8443");
    /// ```
    pub fn build(
        &self,
        instance: Option<&ServiceInstance>,
        variables: &HashMap<String, String>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if !part.variable {
                out.push_str(&part.value);
                continue;
            }
            if let Some(value) = variables.get(&part.value) {
                out.push_str(value);
            } else if let Some(value) = builtin(&part.value, instance) {
                out.push_str(&value);
            }
        }
        out
    }
}

/// The value of one of Curator's predefined variables.
fn builtin(name: &str, instance: Option<&ServiceInstance>) -> Option<String> {
    let or_empty = |v: Option<String>| v.unwrap_or_default();
    match (name, instance) {
        ("[", _) => Some("{".into()),
        ("]", _) => Some("}".into()),
        ("scheme", Some(i)) if i.ssl_port.is_some() => Some("https".into()),
        ("scheme", _) => Some("http".into()),
        ("name", Some(i)) => Some(i.name.clone()),
        ("id", Some(i)) => Some(i.id.clone()),
        ("address", Some(i)) => Some(or_empty(i.address.clone())),
        ("port", Some(i)) => Some(or_empty(i.port.map(|p| p.to_string()))),
        ("ssl-port", Some(i)) => Some(or_empty(i.ssl_port.map(|p| p.to_string()))),
        ("registration-time-utc", Some(i)) => Some(i.registration_time_utc.to_string()),
        ("service-type", Some(i)) => Some(i.service_type.as_str().to_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ServiceType;

    #[test]
    fn uri_specs_parse_as_curator_does() {
        let spec = UriSpec::parse("{scheme}://{ address }:{port}[x]{[}y{]}").unwrap();
        let i = ServiceInstance::new("s").address("h").port(2);
        assert_eq!(spec.build(Some(&i), &HashMap::new()), "http://h:2[x]{y}");
        assert_eq!(spec.build(None, &HashMap::new()), "http://:[x]{y}");
        assert!(UriSpec::parse("{a{b}}").is_err());
        assert!(UriSpec::parse("a}").is_err());
        let i = ServiceInstance::new("s")
            .id("7")
            .registration_time_utc(9)
            .service_type(ServiceType::Static)
            .uri_spec(
                UriSpec::parse("{name}/{id}/{registration-time-utc}/{service-type}").unwrap(),
            );
        assert_eq!(i.build_uri_spec().unwrap(), "s/7/9/static");
    }
}
