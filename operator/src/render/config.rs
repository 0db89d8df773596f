//! ConfigMaps (settings shared by both servers, the welcome text) and the environment both
//! servers get from them and from the Secrets the spec names.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, EnvFromSource, EnvVar, KeyToPath, SecretVolumeSource, Volume, VolumeMount,
};

use super::{
    Component, Ctx, HEALTH_PORT, INPUT_KEY_KEY, KAFKA_PORT, REDIS_PASSWORD_KEY, REDIS_PORT, env, env_secret,
    env_secret_key, mount,
};
use crate::crd::duration_ms;

/// Where the welcome text is mounted in the game-server.
pub const WELCOME_DIR: &str = "/etc/mush/welcome";
pub const WELCOME_KEY: &str = "welcome.txt";
const KAFKA_CA_DIR: &str = "/etc/mush/kafka-ca";
const KAFKA_CLIENT_DIR: &str = "/etc/mush/kafka-client";

/// `host:port` of the managed broker, as it advertises itself.
pub fn managed_brokers(ctx: &Ctx) -> String {
    let svc = ctx.names.kafka();
    format!("{svc}-0.{svc}.{}.svc:{KAFKA_PORT}", ctx.namespace)
}

/// Settings both servers read (through `envFrom`), none of them secret.
pub fn settings(ctx: &Ctx) -> ConfigMap {
    let spec = ctx.spec;
    let mut data = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        data.insert(k.to_owned(), v);
    };
    put("MUSH_GAME_NAME", ctx.display_name());
    put("MUSH_LOG_FORMAT", "json".into());
    put("RUST_LOG", spec.log_level.clone());
    put("MUSH_HEALTH_ADDR", format!("0.0.0.0:{HEALTH_PORT}"));
    // The Redis URL carries a password either way, so it is never here (see `shared_env`).
    put("MUSH_REDIS_NAMESPACE", spec.redis.key_namespace.clone());
    put("MUSH_TOPIC_PREFIX", spec.kafka.topic_prefix.clone());
    put("MUSH_INPUT_PARTITIONS", spec.kafka.input_partitions.to_string());
    put("MUSH_OUTPUT_PARTITIONS", spec.kafka.output_partitions.to_string());
    match (&spec.kafka.managed, &spec.kafka.external) {
        (_, Some(ext)) => {
            put("MUSH_KAFKA_BROKERS", ext.bootstrap_servers.clone());
            put("MUSH_CREATE_TOPICS", ext.create_topics.to_string());
            if ext.create_topics {
                // What the servers give a topic they create.
                let topics = &spec.kafka.topics;
                put("MUSH_TOPIC_REPLICATION", topics.replication_factor.to_string());
                for (key, value) in [
                    ("MUSH_INPUT_RETENTION_MS", &topics.input_retention),
                    ("MUSH_OUTPUT_RETENTION_MS", &topics.output_retention),
                ] {
                    if let Some(ms) = duration_ms(value) {
                        put(key, ms.to_string());
                    }
                }
            }
        }
        _ => {
            put("MUSH_KAFKA_BROKERS", managed_brokers(ctx));
            // The operator's Job creates the topics at the spec's partition counts.
            put("MUSH_CREATE_TOPICS", "false".into());
        }
    }
    if let Some(endpoint) = &spec.observability.otlp_endpoint {
        put("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.clone());
    }
    ConfigMap {
        metadata: ctx.meta(ctx.names.settings(), Component::Game),
        data: Some(data),
        ..Default::default()
    }
}

pub fn welcome(ctx: &Ctx) -> ConfigMap {
    ConfigMap {
        metadata: ctx.meta(ctx.names.welcome(), Component::Game),
        data: Some(BTreeMap::from([(
            WELCOME_KEY.to_owned(),
            ctx.spec.game_server.welcome.clone(),
        )])),
        ..Default::default()
    }
}

/// The managed Redis's URL, with the password from `MUSH_REDIS_PASSWORD` (defined before it:
/// Kubernetes expands `$(VAR)` only from variables listed earlier).
pub fn managed_redis_url(ctx: &Ctx) -> String {
    format!(
        "redis://:$(MUSH_REDIS_PASSWORD)@{}:{REDIS_PORT}",
        ctx.names.redis()
    )
}

/// Environment, volumes and mounts both servers share: the settings ConfigMap, and the values
/// that come from Secrets (Redis URL and password, the input key, Kafka SASL credentials and TLS
/// files).
pub struct SharedEnv {
    pub env_from: Vec<EnvFromSource>,
    pub env: Vec<EnvVar>,
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
}

pub fn shared_env(ctx: &Ctx) -> SharedEnv {
    let spec = ctx.spec;
    let mut out = SharedEnv {
        env_from: vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: ctx.names.settings(),
                optional: Some(false),
            }),
            ..Default::default()
        }],
        env: Vec::new(),
        volumes: Vec::new(),
        mounts: Vec::new(),
    };
    if let Some(ext) = &spec.redis.external {
        out.env.push(env_secret("MUSH_REDIS_URL", &ext.url_secret));
    } else {
        out.env.push(env_secret_key(
            "MUSH_REDIS_PASSWORD",
            &ctx.names.redis_auth(),
            REDIS_PASSWORD_KEY,
            false,
        ));
        out.env.push(env("MUSH_REDIS_URL", managed_redis_url(ctx)));
    }
    // Seals input lines between gateway and game-server (the same key for both).
    out.env.push(env_secret_key(
        "MUSH_INPUT_KEY",
        &ctx.names.input_key(),
        INPUT_KEY_KEY,
        false,
    ));
    if let Some(ext) = &spec.kafka.external {
        let mut options: Vec<String> = Vec::new();
        let protocol = match (ext.tls.is_some(), ext.sasl.is_some()) {
            (true, true) => Some("SASL_SSL"),
            (true, false) => Some("SSL"),
            (false, true) => Some("SASL_PLAINTEXT"),
            (false, false) => None,
        };
        if let Some(p) = protocol {
            options.push(format!("security.protocol={p}"));
        }
        if let Some(tls) = &ext.tls {
            if let Some(ca) = &tls.ca_secret {
                out.volumes
                    .push(secret_volume("kafka-ca", &ca.name, Some(&ca.key)));
                out.mounts.push(read_only(mount("kafka-ca", KAFKA_CA_DIR)));
                options.push(format!("ssl.ca.location={KAFKA_CA_DIR}/{}", ca.key));
            }
            if let Some(client) = &tls.client_cert_secret_name {
                out.volumes.push(secret_volume("kafka-client", client, None));
                out.mounts
                    .push(read_only(mount("kafka-client", KAFKA_CLIENT_DIR)));
                options.push(format!("ssl.certificate.location={KAFKA_CLIENT_DIR}/tls.crt"));
                options.push(format!("ssl.key.location={KAFKA_CLIENT_DIR}/tls.key"));
            }
        }
        if let Some(sasl) = &ext.sasl {
            // Kubernetes expands `$(VAR)` from variables defined earlier in the same list, so the
            // credentials never appear in the pod spec or the ConfigMap.
            out.env
                .push(env_secret("MUSH_KAFKA_SASL_USERNAME", &sasl.username_secret));
            out.env
                .push(env_secret("MUSH_KAFKA_SASL_PASSWORD", &sasl.password_secret));
            options.push(format!("sasl.mechanism={}", sasl.mechanism.as_str()));
            options.push("sasl.username=$(MUSH_KAFKA_SASL_USERNAME)".into());
            options.push("sasl.password=$(MUSH_KAFKA_SASL_PASSWORD)".into());
        }
        if !options.is_empty() {
            out.env.push(env("MUSH_KAFKA_OPTIONS", options.join(",")));
        }
    }
    out
}

pub(super) fn secret_volume(name: &str, secret: &str, only_key: Option<&str>) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            items: only_key.map(|k| {
                vec![KeyToPath {
                    key: k.into(),
                    path: k.into(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn read_only(mut m: VolumeMount) -> VolumeMount {
    m.read_only = Some(true);
    m
}
