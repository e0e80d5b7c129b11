//! TLS with rustls: CA and client certificates from PEM files or bytes, hostname
//! verification on by default, certificates re-read on every connection.
//!
//! ZooKeeper 3.8 servers negotiate TLS 1.2 (ECDHE with AES-GCM) by default. For TLS 1.3
//! the server needs `ssl.enabledProtocols=TLSv1.3,TLSv1.2` and an `ssl.ciphersuites` list
//! that includes `TLS_AES_128_GCM_SHA256` or `TLS_AES_256_GCM_SHA384`; this client offers
//! both versions.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use proto::hosts::{Host, Scheme};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::connector::{BoxConnection, ConnectFuture, Connector};

/// Where a PEM document comes from.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Pem {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Pem {
    fn read(&self) -> io::Result<Vec<u8>> {
        match self {
            Self::File(path) => std::fs::read(path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            }),
            Self::Bytes(bytes) => Ok(bytes.clone()),
        }
    }

    fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Bytes(_) => "the PEM given".to_owned(),
        }
    }
}

/// How to connect with TLS: the CA to trust, an optional client certificate (mutual TLS),
/// and hostname verification.
///
/// Files are read again on every connection, so a rotated certificate is picked up at the
/// next reconnect without restarting the client.
///
/// ```no_run
/// use zk_client::{Client, TlsOptions};
///
/// # async fn _example() -> zk_client::Result<()> {
/// let tls = TlsOptions::new()
///     .ca_file("/etc/zookeeper/ca.pem")
///     .client_cert_files("/etc/zookeeper/client.pem", "/etc/zookeeper/client.key");
/// let client = Client::builder().tls(tls).connect("zk1:2281,zk2:2281").await?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[must_use]
pub struct TlsOptions {
    ca: Option<Pem>,
    client_cert: Option<(Pem, Pem)>,
    server_name: Option<String>,
    verify_hostname: bool,
}

impl TlsOptions {
    /// Options that verify the server against a CA still to be given, with hostname
    /// verification on.
    pub fn new() -> Self {
        Self {
            verify_hostname: true,
            ..Self::default()
        }
    }

    /// Trusts the CA certificates in a PEM file.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Pem::File(path.into()));
        self
    }

    /// Trusts the CA certificates in PEM bytes.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(Pem::Bytes(pem.into()));
        self
    }

    /// Presents a client certificate (PEM chain) and its private key (PEM, PKCS#8, PKCS#1
    /// or SEC1), for servers with `ssl.clientAuth=need` or `want`. The session then has
    /// the `x509` identity of the certificate's subject.
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((Pem::File(cert.into()), Pem::File(key.into())));
        self
    }

    /// Presents a client certificate and key given as PEM bytes.
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert = Some((Pem::Bytes(cert.into()), Pem::Bytes(key.into())));
        self
    }

    /// Verifies the server certificate against `name` instead of the host of the connect
    /// string (and sends it as SNI).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Accepts a server certificate whose names do not match the host. The certificate
    /// must still be signed by the trusted CA and valid. For test setups only: it lets any
    /// holder of a certificate from that CA impersonate the server.
    pub fn danger_disable_hostname_verification(mut self) -> Self {
        self.verify_hostname = false;
        self
    }

    /// The rustls configuration, with the files read now.
    fn client_config(&self) -> io::Result<ClientConfig> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let ca = self
            .ca
            .as_ref()
            .ok_or_else(|| invalid("TLS needs a CA: TlsOptions::ca_file or ca_pem".into()))?;
        let mut roots = RootCertStore::empty();
        let ca_bytes = ca.read()?;
        for cert in CertificateDer::pem_slice_iter(&ca_bytes) {
            let cert =
                cert.map_err(|e| invalid(format!("bad CA certificate in {}: {e}", ca.name())))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("bad CA certificate in {}: {e}", ca.name())))?;
        }
        if roots.is_empty() {
            return Err(invalid(format!("no CA certificate in {}", ca.name())));
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(ring_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS setup: {e}")))?;
        let builder = if self.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| invalid(format!("TLS setup: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
        };
        match &self.client_cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => {
                let cert_bytes = cert.read()?;
                let chain = CertificateDer::pem_slice_iter(&cert_bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        invalid(format!("bad client certificate in {}: {e}", cert.name()))
                    })?;
                if chain.is_empty() {
                    return Err(invalid(format!("no client certificate in {}", cert.name())));
                }
                let key_bytes = key.read()?;
                let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
                    .map_err(|e| invalid(format!("bad client key in {}: {e}", key.name())))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| invalid(format!("client certificate and key do not match: {e}")))
            }
        }
    }
}

/// Accepts certificates valid for any name (everything else is still verified).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(e)) if is_name_mismatch(&e) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn is_name_mismatch(error: &CertificateError) -> bool {
    matches!(
        error,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    )
}

/// rustls with *ring*, which builds with a C compiler alone (no cmake) and keeps the crate
/// small.
///
/// rustls 0.23.48 deprecates this constructor because *ring* has no post-quantum key
/// exchange; ZooKeeper's servers (Java's TLS, 1.2 by default on 3.8) do not offer one
/// either, so nothing is lost on this link. rustls 0.24 moves the provider to its own
/// crate (`rustls-ring`), the replacement then.
#[allow(
    deprecated,
    reason = "see above: no ZooKeeper server negotiates post-quantum key exchange"
)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Turns a handshake failure into an error that says what failed.
fn explain(host: &Host, error: io::Error) -> io::Error {
    let detail = match error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(e)) => match e {
            CertificateError::UnknownIssuer => "the server certificate is signed by an unknown CA".to_owned(),
            e if is_name_mismatch(e) => format!("the server certificate is not valid for {}", host.host),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server certificate has expired".to_owned()
            }
            other => format!("the server certificate is invalid: {other:?}"),
        },
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server refused the handshake ({alert:?}): does it require a client certificate this client does not have?")
        }
        Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateMessage { .. }) => {
            "the server does not speak TLS on this port".to_owned()
        }
        Some(other) => other.to_string(),
        None if error.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake (not a TLS port, or it refused the client certificate)"
                .to_owned()
        }
        None => error.to_string(),
    };
    io::Error::new(
        error.kind(),
        format!(
            "TLS handshake with {}:{} failed: {detail}",
            host.host, host.port
        ),
    )
}

/// Opens plain or TLS connections per host: `tls://` and `tcp://` prefixes choose, and
/// hosts without one use the default.
#[derive(Debug)]
pub(crate) struct SchemeConnector {
    pub(crate) inner: Arc<dyn Connector>,
    pub(crate) tls: Option<TlsOptions>,
    /// Whether hosts without a scheme use TLS.
    pub(crate) tls_by_default: bool,
}

impl Connector for SchemeConnector {
    fn connect(&self, host: &Host) -> ConnectFuture {
        let use_tls = match host.scheme {
            Scheme::Tls => true,
            Scheme::Tcp => false,
            _ => self.tls_by_default,
        };
        let plain = self.inner.connect(host);
        if !use_tls {
            return plain;
        }
        let options = self.tls.clone();
        let host = host.clone();
        Box::pin(async move {
            let options = options.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{host} asks for TLS but no TlsOptions were given"),
                )
            })?;
            let config = options.client_config()?;
            let name = options
                .server_name
                .clone()
                .unwrap_or_else(|| host.host.clone());
            let name = ServerName::try_from(name.clone()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid TLS server name {name}"),
                )
            })?;
            let stream = plain.await?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let tls = connector
                .connect(name, stream)
                .await
                .map_err(|e| explain(&host, e))?;
            Ok(Box::new(tls) as BoxConnection)
        })
    }
}
