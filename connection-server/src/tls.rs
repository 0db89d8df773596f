//! TLS for players (telnet over TLS, and `https://` / `wss://`), with rustls on ring.
//!
//! The certificate chain and key come from PEM files (in Kubernetes, a `kubernetes.io/tls`
//! Secret mounted as a volume, which cert-manager renews in place). The files are read again
//! every `--tls-reload-seconds`; a changed pair that parses and matches is used for every new
//! handshake from then on, while a broken one is refused with a warning and the current
//! certificate stays (a half-written renewal never takes the gateway's TLS down).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mush_platform::Shutdown;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Why a certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: {what}")]
    Pem { path: PathBuf, what: String },
    #[error("the key does not fit the certificate: {0}")]
    Key(rustls::Error),
}

/// The certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    fn read(&self) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_owned(),
                source,
            })
        };
        Ok((read(&self.cert)?, read(&self.key)?))
    }
}

/// A certificate chain and key from PEM text, checked to belong together.
pub fn certified_key(files: &TlsFiles, cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: files.cert.clone(),
            what: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        path: files.key.clone(),
        what: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider()).map_err(TlsError::Key)
}

/// The certificate every new handshake gets; replaced when the files change.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The file contents `current` was made from.
    loaded: RwLock<(Vec<u8>, Vec<u8>)>,
}

impl Certificates {
    /// Loads the files; an error here stops the gateway (it was asked for TLS).
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let (cert, key) = files.read()?;
        let current = certified_key(&files, &cert, &key)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Arc::new(current)),
            loaded: RwLock::new((cert, key)),
        }))
    }

    /// Reads the files again; `Ok(true)` if a new certificate is in use. On an error the
    /// current certificate stays.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let (cert, key) = self.files.read()?;
        if *self.loaded.read().expect("tls lock") == (cert.clone(), key.clone()) {
            return Ok(false);
        }
        let fresh = certified_key(&self.files, &cert, &key)?;
        *self.current.write().expect("tls lock") = Arc::new(fresh);
        *self.loaded.write().expect("tls lock") = (cert, key);
        Ok(true)
    }

    /// The acceptor for a listener; `alpn` names the protocols it speaks (`http/1.1` for the
    /// web port, none for telnet).
    pub fn acceptor(self: &Arc<Self>, alpn: &[&[u8]]) -> TlsAcceptor {
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_no_client_auth()
                .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::from(Arc::new(config))
    }

    /// Looks at the files every `every` until `stop`.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: Shutdown) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.triggered() => return,
            }
            match self.reload() {
                Ok(true) => tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "TLS files changed but cannot be used: keeping the current certificate")
                }
            }
        }
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("tls lock").clone())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed certificate for `localhost` and its key, as PEM.
    pub fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn files(dir: &Path) -> TlsFiles {
        TlsFiles {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        }
    }

    #[test]
    fn a_renewed_certificate_replaces_the_old_and_a_broken_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let (cert, key) = self_signed();
        std::fs::write(&f.cert, &cert).unwrap();
        std::fs::write(&f.key, &key).unwrap();
        let certs = Certificates::load(f.clone()).unwrap();
        let first = certs.current.read().unwrap().cert[0].clone();
        assert!(!certs.reload().unwrap(), "unchanged files: nothing to do");

        let (cert2, key2) = self_signed();
        std::fs::write(&f.cert, &cert2).unwrap();
        std::fs::write(&f.key, &key2).unwrap();
        assert!(certs.reload().unwrap());
        let second = certs.current.read().unwrap().cert[0].clone();
        assert_ne!(first, second, "new handshakes get the renewed certificate");

        // Half a renewal: the new certificate with the old key. Refused; the current one stays.
        let (cert3, _) = self_signed();
        std::fs::write(&f.cert, &cert3).unwrap();
        assert!(matches!(certs.reload(), Err(TlsError::Key(_))));
        assert_eq!(certs.current.read().unwrap().cert[0], second);
        std::fs::write(&f.cert, "garbage").unwrap();
        assert!(matches!(certs.reload(), Err(TlsError::NoCertificate { .. })));
        assert_eq!(certs.current.read().unwrap().cert[0], second);
    }

    #[test]
    fn missing_or_wrong_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let e = Certificates::load(f.clone()).unwrap_err();
        assert!(e.to_string().contains("tls.crt"), "{e}");
        let (cert, _) = self_signed();
        std::fs::write(&f.cert, &cert).unwrap();
        std::fs::write(&f.key, &cert).unwrap();
        let e = Certificates::load(f).unwrap_err();
        assert!(e.to_string().contains("tls.key"), "{e}");
    }
}
