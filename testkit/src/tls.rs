//! Certificates for TLS tests, generated per run: a CA, a server certificate for
//! `localhost` and `127.0.0.1`, a client certificate (CN `zkclient`, O `test`), and the same
//! again from a second, untrusted CA, plus an expired server certificate.
//!
//! Everything is written as PEM, which ZooKeeper 3.6+ reads with `ssl.keyStore.type=PEM`
//! (no keytool, no passwords).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, date_time_ymd,
};

use crate::config::TlsConfig;
use crate::error::{Error, Result};

/// PEM files of a generated PKI, in one folder.
///
/// ```no_run
/// use zk_testkit::{EnsembleConfig, TlsConfig, TlsMaterial};
///
/// # fn _demo() -> zk_testkit::Result<()> {
/// let dir = tempfile::tempdir().expect("a temporary folder");
/// let pki = TlsMaterial::generate(dir.path())?;
/// let cfg = EnsembleConfig::new(1).tls(TlsConfig::pem(&pki).client_auth("want"));
/// // Clients trust `pki.ca` and may present `pki.client_cert` / `pki.client_key`.
/// # let _ = cfg; Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TlsMaterial {
    /// The CA certificate the server and good clients trust.
    pub ca: PathBuf,
    /// The server's private key followed by its certificate (`localhost`, `127.0.0.1`).
    pub server: PathBuf,
    /// The server certificate alone.
    pub server_cert: PathBuf,
    /// A client certificate signed by the CA, subject CN `zkclient`, O `test`.
    pub client_cert: PathBuf,
    /// Its private key (PKCS#8).
    pub client_key: PathBuf,
    /// A second CA that nobody trusts.
    pub other_ca: PathBuf,
    /// A client certificate signed by the untrusted CA.
    pub other_client_cert: PathBuf,
    /// Its private key.
    pub other_client_key: PathBuf,
    /// A server key and certificate for the name `zk.invalid` only (a name mismatch on
    /// `localhost`).
    pub wrong_name_server: PathBuf,
    /// A server key and certificate that expired in 2001.
    pub expired_server: PathBuf,
}

fn pki_error(e: rcgen::Error) -> Error {
    Error::InvalidConfig(format!("cannot generate test certificates: {e}"))
}

struct Issuer {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Result<Issuer> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki_error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().map_err(pki_error)?;
    let cert = params.self_signed(&key).map_err(pki_error)?;
    Ok(Issuer { cert, key })
}

fn leaf(
    issuer: &Issuer,
    names: &[&str],
    subject: &[(DnType, &str)],
    purpose: ExtendedKeyUsagePurpose,
    expired: bool,
) -> Result<(String, String)> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).map_err(pki_error)?;
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.extended_key_usages = vec![purpose];
    if expired {
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2001, 1, 1);
    }
    let key = KeyPair::generate().map_err(pki_error)?;
    let cert = params
        .signed_by(&key, &issuer.cert, &issuer.key)
        .map_err(pki_error)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, contents)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

impl TlsMaterial {
    /// Generates the certificates and writes them into `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be written; [`Error::InvalidConfig`] if key
    /// generation fails.
    pub fn generate(dir: &Path) -> Result<Self> {
        let good = ca("zk-testkit CA")?;
        let bad = ca("zk-testkit untrusted CA")?;
        let server_names = ["localhost", "127.0.0.1"];
        let server_subject = [(DnType::CommonName, "localhost")];
        let client_subject = [
            (DnType::OrganizationName, "test"),
            (DnType::CommonName, "zkclient"),
        ];
        let (server_cert, server_key) = leaf(
            &good,
            &server_names,
            &server_subject,
            ExtendedKeyUsagePurpose::ServerAuth,
            false,
        )?;
        let (client_cert, client_key) = leaf(
            &good,
            &[],
            &client_subject,
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        )?;
        let (other_cert, other_key) = leaf(
            &bad,
            &[],
            &client_subject,
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        )?;
        let (wrong_cert, wrong_key) = leaf(
            &good,
            &["zk.invalid"],
            &[(DnType::CommonName, "zk.invalid")],
            ExtendedKeyUsagePurpose::ServerAuth,
            false,
        )?;
        let (expired_cert, expired_key) = leaf(
            &good,
            &server_names,
            &server_subject,
            ExtendedKeyUsagePurpose::ServerAuth,
            true,
        )?;
        Ok(Self {
            ca: write(dir, "ca.pem", &good.cert.pem())?,
            server: write(dir, "server.pem", &format!("{server_key}{server_cert}"))?,
            server_cert: write(dir, "server-cert.pem", &server_cert)?,
            client_cert: write(dir, "client.pem", &client_cert)?,
            client_key: write(dir, "client.key", &client_key)?,
            other_ca: write(dir, "other-ca.pem", &bad.cert.pem())?,
            other_client_cert: write(dir, "other-client.pem", &other_cert)?,
            other_client_key: write(dir, "other-client.key", &other_key)?,
            wrong_name_server: write(
                dir,
                "wrong-name-server.pem",
                &format!("{wrong_key}{wrong_cert}"),
            )?,
            expired_server: write(
                dir,
                "expired-server.pem",
                &format!("{expired_key}{expired_cert}"),
            )?,
        })
    }
}

impl TlsConfig {
    /// The server side of `material`: its key and certificate, trusting its CA for client
    /// certificates, as PEM files.
    ///
    /// ```no_run
    /// # fn _demo(pki: &zk_testkit::TlsMaterial) {
    /// let tls = zk_testkit::TlsConfig::pem(pki).client_auth("need");
    /// # let _ = tls; }
    /// ```
    pub fn pem(material: &TlsMaterial) -> Self {
        Self::pem_files(&material.server, &material.ca)
    }

    /// A PEM key store (private key and certificate in one file) and a PEM trust store.
    ///
    /// ```
    /// let tls = zk_testkit::TlsConfig::pem_files("server.pem", "ca.pem");
    /// # let _ = tls;
    /// ```
    pub fn pem_files(keystore: impl Into<PathBuf>, truststore: impl Into<PathBuf>) -> Self {
        let mut config = Self::new(keystore, "", truststore, "");
        config.store_type = Some("PEM".into());
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TlsMaterial::generate(dir.path()).unwrap();
        for path in [
            &pki.ca,
            &pki.server,
            &pki.client_cert,
            &pki.client_key,
            &pki.other_ca,
            &pki.expired_server,
        ] {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.contains("-----BEGIN"), "{}", path.display());
        }
        let server = std::fs::read_to_string(&pki.server).unwrap();
        assert!(server.contains("PRIVATE KEY") && server.contains("CERTIFICATE"));
    }
}
