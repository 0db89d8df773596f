//! TLS to Redis and Kafka, with real servers on loopback.
//!
//! * Redis: a real `redis-server` listening only on a TLS port, with a certificate of a private
//!   authority. `rediss://` with `--redis-ca-file` connects and works; without the authority the
//!   connection is refused (the certificate is checked, not merely encrypted).
//! * Kafka: librdkafka is built with OpenSSL, so `security.protocol=SSL`/`SASL_SSL` with SCRAM is
//!   accepted, and a client configured so completes a TLS handshake (checked on our own TLS
//!   listener: the development broker speaks no TLS) and refuses a server of another authority.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fred::prelude::*;
use mush_devstack::free_port;
use mush_platform::bus::KafkaArgs;
use mush_platform::redis::{self as mredis, RedisArgs};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::AsyncReadExt as _;

/// A private certificate authority and a server certificate for 127.0.0.1 it signed, as PEM
/// files in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
    key_pem: String,
}

fn pki(dir: &Path, name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test authority"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server = server_params
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    let write = |file: &str, text: &str| {
        let path = dir.join(format!("{name}-{file}"));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", &ca.pem()),
        cert: write("server.pem", &server.pem()),
        key: write("server.key", &server_key.serialize_pem()),
        cert_pem: server.pem(),
        key_pem: server_key.serialize_pem(),
    }
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Option<String> {
    ["redis-server", "/usr/bin/redis-server"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned)
}

async fn ping(args: &RedisArgs) -> Result<String, fred::error::Error> {
    let client = mredis::connect(args).await?;
    client
        .set::<(), _, _>("tls-check", "over tls", None, None, false)
        .await?;
    let value: String = client.get("tls-check").await?;
    let _ = client.quit().await;
    Ok(value)
}

#[tokio::test]
async fn rediss_connects_to_a_tls_redis_and_checks_its_certificate() {
    let Some(bin) = redis_server() else {
        println!("SKIPPED rediss test: no redis-server (apt-get install redis-server)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = pki(dir.path(), "redis");
    let port = free_port();
    let server = Redis(
        Command::new(&bin)
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(&ours.cert)
            .arg("--tls-key-file")
            .arg(&ours.key)
            .arg("--tls-ca-cert-file")
            .arg(&ours.ca)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait for the TLS port.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut args = RedisArgs::for_url(&format!("rediss://127.0.0.1:{port}"));
    args.ca_file = Some(ours.ca.clone());
    assert_eq!(
        ping(&args).await.expect("rediss:// with our authority"),
        "over tls"
    );

    // Another authority: the server's certificate is refused.
    let theirs = pki(dir.path(), "other");
    args.ca_file = Some(theirs.ca.clone());
    args.timeout_ms = 1000;
    assert!(
        ping(&args).await.is_err(),
        "a certificate of another authority is refused"
    );

    // A file without certificates is a clear error, not a silent fallback.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    args.ca_file = Some(empty);
    let err = ping(&args).await.unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
    drop(server);
}

/// A TLS listener that counts completed handshakes (and then closes: it is not a broker).
async fn tls_listener(pki: &Pki) -> (u16, Arc<AtomicUsize>) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(pki.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pki.key_pem.as_bytes()).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 64];
                    let _ = tokio::time::timeout(Duration::from_secs(1), tls.read(&mut buf)).await;
                }
            });
        }
    });
    (port, handshakes)
}

fn kafka_args(port: u16, options: &[(&str, String)]) -> KafkaArgs {
    let mut args = KafkaArgs::for_brokers(&format!("127.0.0.1:{port}"));
    args.options = options
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    args
}

#[tokio::test]
async fn kafka_clients_speak_tls_and_sasl_scram_and_check_the_broker_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ours = pki(dir.path(), "kafka");
    let (port, handshakes) = tls_listener(&ours).await;

    // SASL_SSL with SCRAM-SHA-512: accepted by the client build (it was refused before librdkafka
    // had OpenSSL), and the connection starts with a TLS handshake our listener completes.
    let scram = kafka_args(
        port,
        &[
            ("security.protocol", "SASL_SSL".into()),
            ("ssl.ca.location", ours.ca.display().to_string()),
            ("sasl.mechanism", "SCRAM-SHA-512".into()),
            ("sasl.username", "game".into()),
            ("sasl.password", "not-logged".into()),
        ],
    );
    let producer: rdkafka::producer::FutureProducer = scram
        .producer_config("tls-test")
        .create()
        .expect("a SASL_SSL/SCRAM producer");
    for _ in 0..100 {
        if handshakes.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        handshakes.load(Ordering::SeqCst) > 0,
        "the client completed a TLS handshake"
    );
    drop(producer);

    // Trusting another authority, the client never completes a handshake with this server.
    let theirs = pki(dir.path(), "elsewhere");
    let (port, refused) = tls_listener(&ours).await;
    let other = kafka_args(
        port,
        &[
            ("security.protocol", "SSL".into()),
            ("ssl.ca.location", theirs.ca.display().to_string()),
        ],
    );
    let consumer: rdkafka::consumer::BaseConsumer = other
        .consumer_config("tls-test", "tls-test")
        .create()
        .expect("an SSL consumer");
    let _ = rdkafka::consumer::Consumer::fetch_metadata(&consumer, None, Duration::from_secs(2));
    assert_eq!(
        refused.load(Ordering::SeqCst),
        0,
        "a broker of another authority is refused"
    );
}
