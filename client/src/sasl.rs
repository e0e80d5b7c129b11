//! SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's server expects it: service `zookeeper`,
//! realm and host `zk-sasl-md5`, `qop=auth`, no initial response, and the server's
//! `rspauth` verified.
//!
//! GSSAPI (Kerberos) is not supported.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use proto::session::{SaslError, SaslExchange, SaslMechanism};

/// The digest-uri ZooKeeper's server checks.
const DIGEST_URI: &str = "zookeeper/zk-sasl-md5";

/// DIGEST-MD5 credentials for [`ClientBuilder::sasl_digest`](crate::ClientBuilder::sasl_digest).
#[derive(Clone)]
pub(crate) struct DigestMd5 {
    pub(crate) username: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for DigestMd5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SaslMechanism for DigestMd5 {
    fn start(&self) -> Box<dyn SaslExchange> {
        let mut raw = [0u8; 16];
        // A cnonce only needs to be unpredictable; without OS randomness fall back to the clock.
        if getrandom::fill(&mut raw).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            raw = nanos.to_le_bytes();
        }
        Box::new(Exchange {
            credentials: self.clone(),
            cnonce: hex(&raw),
            expected_rspauth: None,
        })
    }
}

#[derive(Debug)]
struct Exchange {
    credentials: DigestMd5,
    cnonce: String,
    expected_rspauth: Option<String>,
}

impl SaslExchange for Exchange {
    fn initial(&mut self) -> Vec<u8> {
        Vec::new()
    }

    fn step(&mut self, token: &[u8]) -> Result<Option<Vec<u8>>, SaslError> {
        let text = std::str::from_utf8(token)
            .map_err(|_| SaslError("server token is not UTF-8".into()))?;
        if let Some(expected) = &self.expected_rspauth {
            // Second step: the server proves it knows the password too.
            let rspauth = directives(text)
                .into_iter()
                .find(|(k, _)| k == "rspauth")
                .map(|(_, v)| v);
            return match rspauth {
                Some(got) if got == *expected => Ok(None),
                _ => Err(SaslError("the server's rspauth does not match".into())),
            };
        }
        let challenge = directives(text);
        let get = |key: &str| {
            challenge
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let nonce = get("nonce").ok_or_else(|| SaslError("challenge without a nonce".into()))?;
        let realm = get("realm").unwrap_or("zk-sasl-md5");
        if let Some(qop) = get("qop") {
            if !qop.split(',').any(|q| q.trim() == "auth") {
                return Err(SaslError(format!("server offers qop {qop}, not auth")));
            }
        }
        let computed = compute(&self.credentials, realm, nonce, &self.cnonce, "00000001");
        self.expected_rspauth = Some(computed.rspauth);
        let response = format!(
            "charset=utf-8,username=\"{}\",realm=\"{realm}\",nonce=\"{nonce}\",nc=00000001,cnonce=\"{}\",\
             digest-uri=\"{DIGEST_URI}\",maxbuf=65536,response={},qop=auth",
            quote(&self.credentials.username),
            self.cnonce,
            computed.response
        );
        Ok(Some(response.into_bytes()))
    }
}

struct Computed {
    response: String,
    rspauth: String,
}

/// The RFC 2831 §2.1.2.1 response value, and the `rspauth` the server must send back.
fn compute(credentials: &DigestMd5, realm: &str, nonce: &str, cnonce: &str, nc: &str) -> Computed {
    compute_for_uri(credentials, realm, nonce, cnonce, nc, DIGEST_URI)
}

fn compute_for_uri(
    credentials: &DigestMd5,
    realm: &str,
    nonce: &str,
    cnonce: &str,
    nc: &str,
    uri: &str,
) -> Computed {
    let secret = Md5::digest(format!(
        "{}:{realm}:{}",
        credentials.username, credentials.password
    ));
    let mut a1 = secret.to_vec();
    a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
    let ha1 = hex(&Md5::digest(&a1));
    let kd = |a2: &str| {
        let ha2 = hex(&Md5::digest(a2.as_bytes()));
        hex(&Md5::digest(format!(
            "{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"
        )))
    };
    Computed {
        response: kd(&format!("AUTHENTICATE:{uri}")),
        rspauth: kd(&format!(":{uri}")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Parses `key=value,key="quoted, value"` directives.
fn directives(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_owned();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            value = chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_owned();
        }
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2831_example() {
        // RFC 2831 §4: chris / secret at elwood.innosoft.com, imap.
        let credentials = DigestMd5 {
            username: "chris".into(),
            password: "secret".into(),
        };
        let computed = compute_for_uri(
            &credentials,
            "elwood.innosoft.com",
            "OA6MG9tEQGm2hh",
            "OA6MHXh6VqTrRk",
            "00000001",
            "imap/elwood.innosoft.com",
        );
        assert_eq!(computed.response, "d388dad90d4bbd760a152321f2143af7");
        assert_eq!(computed.rspauth, "ea40f60335c427b5527b84dbabcdfffd");
    }

    #[test]
    fn parses_challenges() {
        let parsed =
            directives(r#"realm="zk-sasl-md5",nonce="a,b\"c",charset=utf-8,algorithm=md5-sess"#);
        assert_eq!(
            parsed,
            [
                ("realm".into(), "zk-sasl-md5".into()),
                ("nonce".into(), "a,b\"c".into()),
                ("charset".into(), "utf-8".into()),
                ("algorithm".into(), "md5-sess".into())
            ]
        );
    }

    #[test]
    fn full_exchange_checks_rspauth() {
        let mechanism = DigestMd5 {
            username: "bob".into(),
            password: "bobsecret".into(),
        };
        let mut exchange = mechanism.start();
        assert!(exchange.initial().is_empty());
        let challenge = br#"realm="zk-sasl-md5",nonce="n0nce",charset=utf-8,algorithm=md5-sess"#;
        let response = String::from_utf8(exchange.step(challenge).unwrap().unwrap()).unwrap();
        assert!(response.contains(r#"username="bob""#));
        assert!(response.contains(r#"digest-uri="zookeeper/zk-sasl-md5""#));
        assert!(exchange.step(b"rspauth=0000").is_err());
    }
}
