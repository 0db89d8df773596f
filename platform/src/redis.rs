//! Connecting to Redis (fred), with the settings every process shares.

use std::time::Duration;

use fred::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::retry::{RetryPolicy, retry_notify};

/// Redis flags shared by every binary.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisArgs {
    /// Redis URL (redis://[:password@]host:port[/db]). Put the password in the environment, not on the command line.
    #[arg(
        long = "redis-url",
        env = "MUSH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub url: String,
    /// Key namespace, so several games can share one Redis.
    #[arg(long = "redis-namespace", env = "MUSH_REDIS_NAMESPACE", default_value = mush_protocol::keys::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// How long one Redis command may take before it counts as failed (ms).
    #[arg(
        long = "redis-timeout-ms",
        env = "MUSH_REDIS_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub timeout_ms: u64,
    /// With a `rediss://` URL: a PEM file of the certificate authorities to trust (e.g. the CA of
    /// a private Redis). Empty: the system's trust store.
    #[arg(long = "redis-ca-file", env = "MUSH_REDIS_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

impl RedisArgs {
    pub fn for_url(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            namespace: mush_protocol::keys::DEFAULT_NAMESPACE.to_owned(),
            timeout_ms: 2000,
            ca_file: None,
        }
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// Replaces the password of a `scheme://user:password@host` URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Connects once. Fails fast when Redis does not answer within the timeout; once connected, the
/// client reconnects by itself (exponential backoff up to 2 s) and commands fail after the
/// command timeout instead of hanging.
pub async fn connect(args: &RedisArgs) -> Result<Client, fred::error::Error> {
    let mut config = Config::from_url(&args.url)?;
    if config.tls.is_some()
        && let Some(ca) = &args.ca_file
    {
        config.tls = Some(tls_trusting(ca)?.into());
    }
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
            c.max_command_attempts = 2;
            c.tcp = TcpConfig {
                nodelay: Some(true),
                ..Default::default()
            };
        })
        .with_performance_config(|p| {
            p.default_command_timeout = timeout;
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 50, 2000, 2));
    let client = builder.build()?;
    match tokio::time::timeout(timeout, client.init()).await {
        Ok(Ok(_task)) => Ok(client),
        Ok(Err(e)) => {
            let _ = client.quit().await;
            Err(e)
        }
        Err(_) => {
            let _ = client.quit().await;
            Err(fred::error::Error::new(
                fred::error::ErrorKind::Timeout,
                format!("no answer from Redis within {timeout:?}"),
            ))
        }
    }
}

/// A TLS connector that trusts only the certificate authorities of a PEM file.
fn tls_trusting(ca_file: &std::path::Path) -> Result<fred::types::config::TlsConnector, fred::error::Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let tls_error = |what: String| fred::error::Error::new(fred::error::ErrorKind::Tls, what);
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| tls_error(format!("reading --redis-ca-file {}: {e}", ca_file.display())))?;
    for certificate in certificates {
        let certificate =
            certificate.map_err(|e| tls_error(format!("--redis-ca-file {}: {e}", ca_file.display())))?;
        roots
            .add(certificate)
            .map_err(|e| tls_error(format!("--redis-ca-file {}: {e}", ca_file.display())))?;
    }
    if roots.is_empty() {
        return Err(tls_error(format!(
            "--redis-ca-file {} holds no certificate",
            ca_file.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(config.into())
}

/// How [`connect_with_retry`] waits between attempts.
const CONNECT_RETRY: RetryPolicy = RetryPolicy::backoff(Duration::from_millis(100), Duration::from_secs(5));

/// Connects, retrying with backoff (100 ms doubling to 5 s) until it works or `stop` fires (`None`).
pub async fn connect_with_retry(args: &RedisArgs, stop: &CancellationToken) -> Option<Client> {
    retry_notify(
        &CONNECT_RETRY,
        stop,
        |_| connect(args),
        |_, e, delay| {
            tracing::warn!(url = %args.redacted_url(), error = %e, retry_in = ?delay, "Redis unreachable");
        },
    )
    .await
    .ok()
}

/// A readiness check body: PING answered.
pub async fn ping(client: &Client) -> Result<(), String> {
    client
        .ping::<String>(None)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("redis://:s3cret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://user:s3cret@host"), "redis://user:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
