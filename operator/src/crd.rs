//! The `MushGame` custom resource (group `mush.dev`, version `v1alpha1`).
//!
//! Everything a first user need not know has a default, and the defaults live in the schema too, so
//! `kubectl get mushgame -o yaml` shows what the operator will do. What the API server can check
//! (ranges, enums, required fields, and rules spanning fields as CEL `x-kubernetes-validations`) is
//! checked there, so a bad spec is refused at `kubectl apply` with a message that says what to fix.
//! What only the operator can check (for example that a referenced Secret exists) is reported as a
//! `Ready=False` condition with a reason.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "mush.dev";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "mush.dev/v1alpha1";
pub const KIND: &str = "MushGame";

pub const DEFAULT_GATEWAY_IMAGE: &str = "ghcr.io/mush-dev/mush-connection-server:0.1.0";
pub const DEFAULT_GAME_IMAGE: &str = "ghcr.io/mush-dev/mush-game-server:0.1.0";
pub const DEFAULT_OPERATOR_IMAGE: &str = "ghcr.io/mush-dev/mush-operator:0.1.0";
pub const DEFAULT_REDPANDA_IMAGE: &str = "docker.redpanda.com/redpandadata/redpanda:v24.2.4";
pub const DEFAULT_REDIS_IMAGE: &str = "redis:7.2";

/// Annotation on a MushGame: any new value asks for a game-server restart, like
/// `spec.gameServer.restartRequest` (handy with `kubectl annotate --overwrite`).
pub const RESTART_ANNOTATION: &str = "mush.dev/restart-request";

/// One MUSH: gateways, the game-server, and (unless external) the Kafka API and Redis they use.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "mush.dev",
    version = "v1alpha1",
    kind = "MushGame",
    plural = "mushgames",
    shortname = "mg",
    namespaced,
    status = "MushGameStatus",
    derive = "PartialEq",
    doc = "A MUSH game: connection-servers (gateways), the game-server, Kafka and Redis, run by the mush-operator.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Players","type":"integer","jsonPath":".status.players"}"#,
    printcolumn = r#"{"name":"Game","type":"string","jsonPath":".status.gameServer.state"}"#,
    printcolumn = r#"{"name":"Gateways","type":"string","jsonPath":".status.gateways.summary"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.connectionServer.replicas + self.connectionServer.maxSurge <= self.kafka.outputPartitions",
        "message": "kafka.outputPartitions must be at least connectionServer.replicas + connectionServer.maxSurge: every gateway alive during a rollout reads its own output partition"
    }
]))]
pub struct MushGameSpec {
    /// The game's display name (announced over MSSP). Defaults to the resource's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub display_name: Option<String>,
    /// Log filter for every server (`RUST_LOG` syntax), e.g. `info` or `info,mush_game=debug`.
    #[serde(default = "default_log_level")]
    #[schemars(length(min = 1))]
    pub log_level: String,
    /// The gateways that hold the players' telnet and web connections.
    #[serde(default)]
    pub connection_server: ConnectionServerSpec,
    /// The game-server: one active writer, optionally a warm standby.
    #[serde(default)]
    pub game_server: GameServerSpec,
    /// The Kafka API between gateways and game-server: a managed Redpanda broker or an external cluster.
    #[serde(default)]
    pub kafka: KafkaSpec,
    /// Redis, for connection state and the world: managed in the cluster or external.
    #[serde(default)]
    pub redis: RedisSpec,
    /// Metrics, dashboards and traces.
    #[serde(default)]
    pub observability: ObservabilitySpec,
    /// Scheduling and labels added to every pod the operator creates.
    #[serde(default)]
    pub pod_template: PodOverrides,
}

/// How the gateways' Service is exposed.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!self.web || self.webPort != self.telnetPort",
        "message": "connectionServer.webPort and connectionServer.telnetPort must differ: both are ports of the gateways' Service"
    },
    {
        "rule": "!has(self.tls) || (self.tls.telnetPort != self.telnetPort && (!self.web || (self.tls.telnetPort != self.webPort && self.tls.webPort != self.telnetPort && self.tls.webPort != self.webPort && self.tls.webPort != self.tls.telnetPort)))",
        "message": "connectionServer.tls.telnetPort and connectionServer.tls.webPort must differ from each other and from connectionServer.telnetPort and webPort: all are ports of the gateways' Service"
    }
]))]
pub struct ConnectionServerSpec {
    /// Container image of the connection-server.
    #[serde(default = "default_gateway_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Number of gateways.
    #[serde(default = "default_gateway_replicas")]
    #[schemars(range(min = 1, max = 64))]
    pub replicas: i32,
    /// Extra gateways started during a rollout before old ones are drained (at least 1: a new
    /// gateway is always up before an old one leaves).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 16))]
    pub max_surge: i32,
    /// Port players connect to on the Service (the container itself listens on 4201).
    #[serde(default = "default_telnet_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub telnet_port: i32,
    /// Serve the web client (`/`) and its WebSocket (`/ws`) over plain HTTP on `webPort`; false
    /// turns the web client off, over TLS too.
    #[serde(default = "yes")]
    pub web: bool,
    /// Port of the web client and WebSocket on the Service (the container listens on 4280).
    #[serde(default = "default_web_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub web_port: i32,
    /// Pages whose scripts may open the WebSocket, by origin (e.g. `https://play.example.org`).
    /// Empty: any page may. Set it when the game has a public web address, so that other sites'
    /// pages cannot open sessions in their visitors' browsers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub web_allowed_origins: Vec<String>,
    /// Telnet over TLS and the web client over HTTPS (`wss://`), with the certificate of a Secret
    /// (e.g. one cert-manager writes). None: plain telnet and HTTP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<GatewayTls>,
    /// Service type for the players' endpoint.
    #[serde(default)]
    pub service_type: ServiceType,
    /// Annotations for the players' Service (e.g. a cloud load balancer's settings).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    /// CPU and memory for each gateway.
    #[serde(default = "default_gateway_resources")]
    pub resources: ResourceRequirements,
    /// How long a gateway being replaced waits for its players to leave before it closes the rest.
    #[serde(default = "default_drain_seconds")]
    #[schemars(range(min = 0, max = 3600))]
    pub drain_seconds: i32,
    /// Connections that have not logged in are closed after this many idle seconds.
    #[serde(default = "default_login_idle_timeout")]
    #[schemars(range(min = 0, max = 86400))]
    pub login_idle_timeout_seconds: i32,
    /// Logged-in connections are closed after this many idle seconds; 0 turns it off.
    #[serde(default)]
    #[schemars(range(min = 0, max = 604800))]
    pub idle_timeout_seconds: i32,
    /// Per-connection limits.
    #[serde(default)]
    pub limits: GatewayLimits,
}

/// The players' TLS endpoints of the gateways.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTls {
    /// Secret of type `kubernetes.io/tls` in the game's namespace, with keys `tls.crt` (the
    /// certificate chain, PEM) and `tls.key` (its private key, PEM), as cert-manager writes it.
    /// The gateways read it again when it changes: a renewed certificate needs no restart.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Port of telnet over TLS on the Service (the container listens on 4202).
    #[serde(default = "default_telnet_tls_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub telnet_port: i32,
    /// Port of the web client over HTTPS and its WebSocket (`wss://`) on the Service (the
    /// container listens on 4243); unused when `web` is false.
    #[serde(default = "default_web_tls_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub web_port: i32,
}

impl GatewayTls {
    /// TLS from `secret_name` on the default ports.
    pub fn from_secret(secret_name: impl Into<String>) -> Self {
        Self {
            secret_name: secret_name.into(),
            telnet_port: default_telnet_tls_port(),
            web_port: default_web_tls_port(),
        }
    }
}

impl ConnectionServerSpec {
    /// The ports of the gateways' Service, as (name, Service port): telnet, then the web client
    /// when on, then the TLS ports when TLS is on.
    pub fn service_ports(&self) -> Vec<(&'static str, i32)> {
        let mut ports = vec![("telnet", self.telnet_port)];
        if self.web {
            ports.push(("web", self.web_port));
        }
        if let Some(tls) = &self.tls {
            ports.push(("telnet-tls", tls.telnet_port));
            if self.web {
                ports.push(("web-tls", tls.web_port));
            }
        }
        ports
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayLimits {
    /// Longest input line accepted, in bytes.
    #[serde(default = "default_max_line_bytes")]
    #[schemars(range(min = 256, max = 1048576))]
    pub max_line_bytes: i32,
    /// Commands per second a connection may send (token bucket rate).
    #[serde(default = "default_commands_per_second")]
    #[schemars(range(min = 1, max = 10000))]
    pub commands_per_second: i32,
    /// Burst of commands above the rate.
    #[serde(default = "default_command_burst")]
    #[schemars(range(min = 1, max = 100000))]
    pub command_burst: i32,
    /// Connections allowed from one IP address.
    #[serde(default = "default_max_connections_per_ip")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_connections_per_ip: i32,
    /// Bytes per second a logged-in connection may send (reading pauses beyond it).
    #[serde(default = "default_input_bytes_per_second")]
    #[schemars(range(min = 256, max = 104857600))]
    pub input_bytes_per_second: i32,
    /// Commands per second before login (stricter: nobody has vouched for the client yet).
    #[serde(default = "default_login_commands_per_second")]
    #[schemars(range(min = 1, max = 10000))]
    pub login_commands_per_second: i32,
    /// Seconds a connection has to log in, typing or not; 0 turns it off.
    #[serde(default = "default_login_deadline_seconds")]
    #[schemars(range(min = 0, max = 86400))]
    pub login_deadline_seconds: i32,
    /// Bytes of output queued for one connection before it counts as not reading and is closed.
    #[serde(default = "default_output_queue_bytes")]
    #[schemars(range(min = 16384, max = 1073741824))]
    pub output_queue_bytes: i32,
    /// Bytes a gateway holds for all its connections (queued output, unacknowledged input,
    /// partial lines) before it stops reading sockets and output waits in Kafka.
    #[serde(default = "default_memory_budget_bytes")]
    #[schemars(range(min = 1048576, max = 2147483647))]
    pub memory_budget_bytes: i32,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameServerSpec {
    /// Container image of the game-server. Changing it upgrades the game-server through the
    /// restart operation (dependencies checked first, old one stops before the new one acts).
    #[serde(default = "default_game_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// CPU and memory for the game-server.
    #[serde(default = "default_game_resources")]
    pub resources: ResourceRequirements,
    /// Run a second game-server as a warm standby (live but not ready) that takes over the
    /// leadership lease when the active one dies.
    #[serde(default)]
    pub standby: bool,
    /// Any new value asks for a game-server restart (e.g. a timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub restart_request: Option<String>,
    /// Leadership lease time-to-live in Redis, in milliseconds.
    #[serde(default = "default_lease_ttl_ms")]
    #[schemars(range(min = 1000, max = 60000))]
    pub lease_ttl_ms: i32,
    /// Text shown to a new connection before login (mounted from a ConfigMap).
    #[serde(default = "default_welcome")]
    pub welcome: String,
    /// The master room, e.g. `#2`: the `$`-commands of the things in it work everywhere (global
    /// commands). None: no master room. Changing it restarts the game-server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^#?[0-9]{1,18}$"))]
    pub master_room: Option<String>,
    /// What one input line, one player and one input may cost the game (see docs/budgets.md).
    #[serde(default)]
    pub budgets: GameBudgets,
}

/// The game-server's budgets: every line runs on a tank of fuel (commands, function calls,
/// output), filled from its player's fuel over time.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameBudgets {
    /// Fuel one line may burn: 1 per command and function call, 1 per KiB of text a function
    /// returns, 1 per 16 bytes of output.
    #[serde(default = "default_fuel_per_line")]
    #[schemars(range(min = 100, max = 10000000))]
    pub fuel_per_line: i32,
    /// Fuel a player regains per second, across lines.
    #[serde(default = "default_fuel_per_second")]
    #[schemars(range(min = 1, max = 10000000))]
    pub fuel_per_second: i32,
    /// Bytes of output one line may send.
    #[serde(default = "default_output_bytes_per_line")]
    #[schemars(range(min = 4096, max = 16777216))]
    pub output_bytes_per_line: i32,
    /// Objects one player may own (0: no quota).
    #[serde(default = "default_object_quota")]
    #[schemars(range(min = 0, max = 10000000))]
    pub object_quota: i32,
    /// Wall-clock milliseconds one line may take.
    #[serde(default = "default_line_time_ms")]
    #[schemars(range(min = 10, max = 10000))]
    pub line_time_ms: i32,
    /// Times an input may crash or hang the game-server before it is skipped.
    #[serde(default = "default_poison_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub poison_attempts: i32,
}

/// Managed unless `external` is given: `managed` may be left out (e.g. `kafka: {inputPartitions:
/// 16}`) and then means a managed broker with its defaults. Never both.
#[derive(Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(has(self.managed) && has(self.external))",
        "message": "kafka.managed and kafka.external exclude each other: Kafka is managed (a Redpanda broker run by the operator) unless kafka.external (your own Kafka cluster) is given"
    },
    {
        "rule": "self.inputPartitions >= oldSelf.inputPartitions && self.outputPartitions >= oldSelf.outputPartitions",
        "message": "kafka partition counts can grow but never shrink (Kafka cannot remove partitions)"
    },
    {
        "rule": "has(self.external) || !has(self.topics) || self.topics.replicationFactor == 1",
        "message": "kafka.topics.replicationFactor must be 1 with the managed broker (one Redpanda broker holds one replica); a higher factor needs kafka.external"
    }
]))]
pub struct KafkaSpec {
    /// Topic names are `<topicPrefix>.input` and `<topicPrefix>.output`.
    #[serde(default = "default_prefix")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[a-zA-Z0-9._-]+$"))]
    pub topic_prefix: String,
    /// Partitions of the input topic (parallelism of the game's consumers).
    #[serde(default = "default_input_partitions")]
    #[schemars(range(min = 1, max = 1024))]
    pub input_partitions: i32,
    /// Partitions of the output topic: one per gateway slot, so at least the most gateways alive at once.
    #[serde(default = "default_output_partitions")]
    #[schemars(range(min = 1, max = 1024))]
    pub output_partitions: i32,
    /// Replication and retention of the two topics.
    #[serde(default)]
    pub topics: TopicSettings,
    /// A single Redpanda broker run by the operator: the default unless `external` is given
    /// (left out, it means a broker with these defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedKafka>,
    /// An existing Kafka cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalKafka>,
}

/// [`KafkaSpec`] as a user writes it, before "managed unless external" fills in `managed`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KafkaSpecAsWritten {
    #[serde(default = "default_prefix")]
    topic_prefix: String,
    #[serde(default = "default_input_partitions")]
    input_partitions: i32,
    #[serde(default = "default_output_partitions")]
    output_partitions: i32,
    #[serde(default)]
    topics: TopicSettings,
    #[serde(default)]
    managed: Option<ManagedKafka>,
    #[serde(default)]
    external: Option<ExternalKafka>,
}

/// Read through [`KafkaSpecAsWritten`] (the field attributes on `KafkaSpec` still give the schema
/// its defaults).
impl<'de> Deserialize<'de> for KafkaSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        KafkaSpecAsWritten::deserialize(d).map(Self::from)
    }
}

impl From<KafkaSpecAsWritten> for KafkaSpec {
    fn from(w: KafkaSpecAsWritten) -> Self {
        Self {
            topic_prefix: w.topic_prefix,
            input_partitions: w.input_partitions,
            output_partitions: w.output_partitions,
            topics: w.topics,
            managed: managed_unless_external(w.managed, &w.external),
            external: w.external,
        }
    }
}

/// Replication and retention of `<prefix>.input` and `<prefix>.output`. With the managed broker the
/// topic Job applies them (retention also to existing topics); with an external cluster the servers
/// use them when they create a missing topic (`createTopics`), and leave existing topics alone.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicSettings {
    /// Replicas of each partition: 1 with the managed broker (it is one broker); on an external
    /// cluster of three brokers or more, 3.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 7))]
    pub replication_factor: i32,
    /// How long the input topic keeps player input (`retention.ms`), as a duration: `ms`, `s`, `m`,
    /// `h` or `d`, e.g. `7d`. Input waits there while no game-server runs, so keep it well above
    /// the longest outage you want to survive.
    #[serde(default = "default_input_retention")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,9}(ms|s|m|h|d)$"))]
    pub input_retention: String,
    /// How long the output topic keeps what the game sends to players, e.g. `1d`.
    #[serde(default = "default_output_retention")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,9}(ms|s|m|h|d)$"))]
    pub output_retention: String,
}

/// Milliseconds in a retention duration of [`TopicSettings`] (`90m`, `7d`), or `None` if it is not one.
pub fn duration_ms(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let factor: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// `managed` as written, or its defaults when neither `managed` nor `external` is written.
fn managed_unless_external<M: Default, E>(managed: Option<M>, external: &Option<E>) -> Option<M> {
    managed.or_else(|| external.is_none().then(M::default))
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedKafka {
    /// Redpanda image.
    #[serde(default = "default_redpanda_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Persistent volume for the broker's data.
    #[serde(default = "default_kafka_storage")]
    pub storage: Storage,
    /// CPU and memory for the broker. Redpanda is told to use 80% of the memory limit, which must
    /// leave it at least 1 GiB per core (so a limit of at least 1280Mi), and one core per whole core
    /// of the CPU limit (or request); below one core it shares its core (`--overprovisioned`).
    #[serde(default = "default_redpanda_resources")]
    pub resources: ResourceRequirements,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalKafka {
    /// Comma-separated `host:port` list of bootstrap brokers.
    #[schemars(length(min = 1))]
    pub bootstrap_servers: String,
    /// Let the servers create missing topics at start (needs the right ACLs on the cluster).
    #[serde(default = "yes")]
    pub create_topics: bool,
    /// Connect over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTls>,
    /// Authenticate with SASL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSasl>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTls {
    /// Secret key holding the CA certificate (PEM); none uses the system's trusted CAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<SecretKeyRef>,
    /// Secret of type `kubernetes.io/tls` (`tls.crt`, `tls.key`) for client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_secret_name: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[default]
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSasl {
    #[serde(default)]
    pub mechanism: SaslMechanism,
    /// Secret key holding the user name.
    pub username_secret: SecretKeyRef,
    /// Secret key holding the password.
    pub password_secret: SecretKeyRef,
}

/// A key in a Secret of the MushGame's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Managed unless `external` is given, like [`KafkaSpec`]. Never both.
#[derive(Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(has(self.managed) && has(self.external))",
        "message": "redis.managed and redis.external exclude each other: Redis is managed (run by the operator) unless redis.external (your own Redis, URL from a Secret) is given"
    }
]))]
pub struct RedisSpec {
    /// Prefix of every Redis key the servers write.
    #[serde(default = "default_prefix")]
    #[schemars(length(min = 1, max = 100))]
    pub key_namespace: String,
    /// A Redis server run by the operator (one replica, append-only file on a persistent volume):
    /// the default unless `external` is given (left out, it means a Redis with these defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedRedis>,
    /// An existing Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRedis>,
}

/// [`RedisSpec`] as a user writes it, before "managed unless external" fills in `managed`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedisSpecAsWritten {
    #[serde(default = "default_prefix")]
    key_namespace: String,
    #[serde(default)]
    managed: Option<ManagedRedis>,
    #[serde(default)]
    external: Option<ExternalRedis>,
}

/// Read through [`RedisSpecAsWritten`] (the field attributes on `RedisSpec` still give the schema
/// its defaults).
impl<'de> Deserialize<'de> for RedisSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RedisSpecAsWritten::deserialize(d).map(Self::from)
    }
}

impl From<RedisSpecAsWritten> for RedisSpec {
    fn from(w: RedisSpecAsWritten) -> Self {
        Self {
            key_namespace: w.key_namespace,
            managed: managed_unless_external(w.managed, &w.external),
            external: w.external,
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedRedis {
    /// Redis image (the official `redis` image or one with the same layout).
    #[serde(default = "default_redis_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Persistent volume for the append-only file.
    #[serde(default = "default_redis_storage")]
    pub storage: Storage,
    /// CPU and memory for Redis. Redis keeps its data under 80% of the memory limit (`maxmemory`)
    /// and then refuses writes rather than evicting game state.
    #[serde(default = "default_redis_resources")]
    pub resources: ResourceRequirements,
    /// Keep an append-only file (fsync every second): a restarted Redis loses at most a second.
    #[serde(default = "yes")]
    pub append_only: bool,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRedis {
    /// Secret key holding the URL, e.g. `rediss://user:password@redis.example:6380/0`.
    pub url_secret: SecretKeyRef,
}

/// A persistent volume. Fixed once created: a StatefulSet's volume claim template cannot change
/// (grow the PersistentVolumeClaim itself if its storage class allows it).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self == oldSelf",
        "message": "storage cannot change after creation: the StatefulSet's volume claim template is immutable (resize the PersistentVolumeClaim itself)"
    }
]))]
pub struct Storage {
    /// Size of the persistent volume claim.
    pub size: Quantity,
    /// Storage class; none uses the cluster's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilitySpec {
    /// Create a Prometheus Operator ServiceMonitor (needs the monitoring.coreos.com API).
    #[serde(default)]
    pub service_monitor: bool,
    /// Create Grafana dashboard ConfigMaps (label `grafana_dashboard: "1"`, found by Grafana's sidecar).
    #[serde(default)]
    pub dashboards: bool,
    /// OTLP/HTTP endpoint for traces, e.g. `http://otel-collector:4318/v1/traces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub otlp_endpoint: Option<String>,
    /// Who else may reach the health and metrics port (9100) of the gateways and the
    /// game-server, as NetworkPolicy peers, e.g. the namespace of your Prometheus:
    /// `[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]`. The
    /// operator's own namespace always may; everything else is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics_from: Vec<NetworkPolicyPeer>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodOverrides {
    /// Node selector for every pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for every pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Extra labels on every pod (the operator's own `app.kubernetes.io/*` and `mush.dev/*` labels win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on every pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Priority class for every pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// What the operator last saw, and the record of the rolling operations.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MushGameStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `RedisReady`, `KafkaReady`, `GatewaysReady`, `GameReady`, `Progressing`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Players logged in, from the game-server's metrics (absent when they cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<i64>,
    /// Input events waiting in Kafka for the game-server: `mush_game_input_lag` of the ready
    /// game-server summed over the input partitions (absent when it cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_lag: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<GatewaysStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_server: Option<GameServerStatus>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewaysStatus {
    /// `ready/desired`, for `kubectl get`.
    pub summary: String,
    pub desired: i32,
    pub ready: i32,
    /// Gateways running the current pod template.
    pub updated: i32,
    /// Old gateways still draining their players.
    pub draining: i32,
    /// Names of the draining gateways.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draining_pods: Vec<String>,
    /// Connections held by all gateways, from their metrics (absent when they cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<i64>,
    /// Hash of the current gateway pod template.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// The running or last rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<GatewayRollout>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRollout {
    /// `InProgress`, `Complete`.
    pub phase: RolloutPhase,
    /// Revision being rolled out.
    pub revision: String,
    pub started_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Time>,
    /// e.g. `1/2 updated, 1 draining`.
    pub progress: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameServerStatus {
    /// `Running`, `Starting`, `Restarting`, `Failed`, `Waiting` (for dependencies or pods).
    pub state: GameServerState,
    /// Game-server pods ready (the active one is ready; a standby is live but not ready).
    pub ready_replicas: i32,
    /// Hash of the game-server pod template running (or being rolled out).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// Logins restored from Redis by the last start, from the game-server's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_connections: Option<i64>,
    /// Seconds the last reconciliation (rebuilding the connection view) took, from the metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation_seconds: Option<f64>,
    /// The restart handled last (or in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart: Option<RestartRecord>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestartRecord {
    /// `InProgress`, `Succeeded`, `Failed`.
    pub phase: RestartPhase,
    /// What asked for it: `image`, `restartRequest`, `annotation`, `config`.
    pub reason: RestartReason,
    pub from_revision: String,
    pub to_revision: String,
    pub started_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Time>,
    /// Wall time from start to the new game-server ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// Seconds no game-server was ready, so player input waited in Kafka (as observed by the
    /// operator: an upper bound within its polling interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_wait_seconds: Option<i64>,
    /// When the operator first saw no game-server ready during this restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_paused_at: Option<Time>,
    /// Connections the new game-server restored from Redis (from its metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_connections: Option<i64>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a gateway rollout stands: `InProgress`, then `Complete`. `Unknown` stands for a phase
/// this operator does not know (one another version of it wrote).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RolloutPhase {
    InProgress,
    Complete,
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for RolloutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RolloutPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutPhase::InProgress => "InProgress",
            RolloutPhase::Complete => "Complete",
            RolloutPhase::Unknown => "Unknown",
        }
    }
}

/// What the game-server is doing (the `Game` column of `kubectl get mushgame`): `Running`,
/// `Starting`, `Restarting`, `Failed`, `Waiting` (for dependencies or pods). `Unknown` stands for
/// a state this operator does not know (one another version of it wrote), and is the default.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum GameServerState {
    Running,
    Starting,
    Restarting,
    Failed,
    Waiting,
    #[default]
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for GameServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl GameServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            GameServerState::Running => "Running",
            GameServerState::Starting => "Starting",
            GameServerState::Restarting => "Restarting",
            GameServerState::Failed => "Failed",
            GameServerState::Waiting => "Waiting",
            GameServerState::Unknown => "Unknown",
        }
    }
}

/// Where a game-server restart stands: `InProgress`, then `Succeeded` or `Failed`. `Unknown`
/// stands for a phase this operator does not know (one another version of it wrote).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RestartPhase {
    InProgress,
    Succeeded,
    Failed,
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for RestartPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RestartPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPhase::InProgress => "InProgress",
            RestartPhase::Succeeded => "Succeeded",
            RestartPhase::Failed => "Failed",
            RestartPhase::Unknown => "Unknown",
        }
    }
}

/// What asked for a game-server restart: `image` (a new image), `restartRequest`
/// (`spec.gameServer.restartRequest` or the `mush.dev/restart-request` annotation), `annotation`
/// (accepted in a stored status; this operator reports the annotation as `restartRequest`),
/// `config` (any other change of the game-server's pod template). `unknown` stands for a reason
/// this operator does not know (one another version of it wrote).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RestartReason {
    Image,
    RestartRequest,
    Annotation,
    Config,
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for RestartReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RestartReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartReason::Image => "image",
            RestartReason::RestartRequest => "restartRequest",
            RestartReason::Annotation => "annotation",
            RestartReason::Config => "config",
            RestartReason::Unknown => "unknown",
        }
    }
}

fn default_log_level() -> String {
    "info".into()
}
fn default_gateway_image() -> String {
    DEFAULT_GATEWAY_IMAGE.into()
}
fn default_game_image() -> String {
    DEFAULT_GAME_IMAGE.into()
}
fn default_redpanda_image() -> String {
    DEFAULT_REDPANDA_IMAGE.into()
}
fn default_redis_image() -> String {
    DEFAULT_REDIS_IMAGE.into()
}
fn default_gateway_replicas() -> i32 {
    2
}
fn one() -> i32 {
    1
}
fn yes() -> bool {
    true
}
fn default_telnet_port() -> i32 {
    4201
}
fn default_web_port() -> i32 {
    4280
}
fn default_telnet_tls_port() -> i32 {
    4202
}
fn default_web_tls_port() -> i32 {
    4243
}
fn default_drain_seconds() -> i32 {
    30
}
fn default_login_idle_timeout() -> i32 {
    300
}
fn default_max_line_bytes() -> i32 {
    8192
}
fn default_commands_per_second() -> i32 {
    20
}
fn default_command_burst() -> i32 {
    60
}
fn default_max_connections_per_ip() -> i32 {
    20
}
fn default_lease_ttl_ms() -> i32 {
    5000
}
fn default_welcome() -> String {
    "Welcome to a MUSH running on Kubernetes.\r\n\
     Type 'connect <name> <password>' to log in, or 'create <name> <password>' to make a character.\r\n"
        .into()
}
fn default_prefix() -> String {
    "mush".into()
}
fn default_input_partitions() -> i32 {
    8
}
fn default_output_partitions() -> i32 {
    16
}
fn default_input_retention() -> String {
    "7d".into()
}
fn default_output_retention() -> String {
    "1d".into()
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            replication_factor: 1,
            input_retention: default_input_retention(),
            output_retention: default_output_retention(),
        }
    }
}

/// Requests (and limits where a limit protects the node) for one container.
pub fn resources(cpu: &str, memory: &str, memory_limit: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.into())),
            ("memory".to_owned(), Quantity(memory.into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(memory_limit.into()),
        )])),
        ..Default::default()
    }
}

fn default_gateway_resources() -> ResourceRequirements {
    resources("100m", "64Mi", "256Mi")
}
fn default_game_resources() -> ResourceRequirements {
    resources("250m", "128Mi", "512Mi")
}
fn default_redpanda_resources() -> ResourceRequirements {
    resources("250m", "1Gi", "1536Mi")
}
fn default_redis_resources() -> ResourceRequirements {
    resources("100m", "128Mi", "512Mi")
}
fn default_kafka_storage() -> Storage {
    Storage {
        size: Quantity("5Gi".into()),
        storage_class_name: None,
    }
}
fn default_redis_storage() -> Storage {
    Storage {
        size: Quantity("1Gi".into()),
        storage_class_name: None,
    }
}

impl Default for ConnectionServerSpec {
    fn default() -> Self {
        Self {
            image: default_gateway_image(),
            replicas: default_gateway_replicas(),
            max_surge: 1,
            telnet_port: default_telnet_port(),
            web: true,
            web_port: default_web_port(),
            web_allowed_origins: Vec::new(),
            tls: None,
            service_type: ServiceType::default(),
            service_annotations: BTreeMap::new(),
            resources: default_gateway_resources(),
            drain_seconds: default_drain_seconds(),
            login_idle_timeout_seconds: default_login_idle_timeout(),
            idle_timeout_seconds: 0,
            limits: GatewayLimits::default(),
        }
    }
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: default_max_line_bytes(),
            commands_per_second: default_commands_per_second(),
            command_burst: default_command_burst(),
            max_connections_per_ip: default_max_connections_per_ip(),
            input_bytes_per_second: default_input_bytes_per_second(),
            login_commands_per_second: default_login_commands_per_second(),
            login_deadline_seconds: default_login_deadline_seconds(),
            output_queue_bytes: default_output_queue_bytes(),
            memory_budget_bytes: default_memory_budget_bytes(),
        }
    }
}

fn default_input_bytes_per_second() -> i32 {
    16_384
}
fn default_login_commands_per_second() -> i32 {
    4
}
fn default_login_deadline_seconds() -> i32 {
    180
}
fn default_output_queue_bytes() -> i32 {
    262_144
}
fn default_memory_budget_bytes() -> i32 {
    67_108_864
}
fn default_fuel_per_line() -> i32 {
    10_000
}
fn default_fuel_per_second() -> i32 {
    10_000
}
fn default_output_bytes_per_line() -> i32 {
    65_536
}
fn default_object_quota() -> i32 {
    1_000
}
fn default_line_time_ms() -> i32 {
    250
}
fn default_poison_attempts() -> i32 {
    3
}

impl Default for GameBudgets {
    fn default() -> Self {
        Self {
            fuel_per_line: default_fuel_per_line(),
            fuel_per_second: default_fuel_per_second(),
            output_bytes_per_line: default_output_bytes_per_line(),
            object_quota: default_object_quota(),
            line_time_ms: default_line_time_ms(),
            poison_attempts: default_poison_attempts(),
        }
    }
}

impl Default for GameServerSpec {
    fn default() -> Self {
        Self {
            image: default_game_image(),
            resources: default_game_resources(),
            standby: false,
            restart_request: None,
            lease_ttl_ms: default_lease_ttl_ms(),
            welcome: default_welcome(),
            master_room: None,
            budgets: GameBudgets::default(),
        }
    }
}

impl Default for KafkaSpec {
    fn default() -> Self {
        Self {
            topic_prefix: default_prefix(),
            input_partitions: default_input_partitions(),
            output_partitions: default_output_partitions(),
            topics: TopicSettings::default(),
            managed: Some(ManagedKafka::default()),
            external: None,
        }
    }
}

impl Default for ManagedKafka {
    fn default() -> Self {
        Self {
            image: default_redpanda_image(),
            storage: default_kafka_storage(),
            resources: default_redpanda_resources(),
        }
    }
}

impl Default for RedisSpec {
    fn default() -> Self {
        Self {
            key_namespace: default_prefix(),
            managed: Some(ManagedRedis::default()),
            external: None,
        }
    }
}

impl Default for ManagedRedis {
    fn default() -> Self {
        Self {
            image: default_redis_image(),
            storage: default_redis_storage(),
            resources: default_redis_resources(),
            append_only: true,
        }
    }
}

impl Default for MushGameSpec {
    fn default() -> Self {
        Self {
            display_name: None,
            log_level: default_log_level(),
            connection_server: ConnectionServerSpec::default(),
            game_server: GameServerSpec::default(),
            kafka: KafkaSpec::default(),
            redis: RedisSpec::default(),
            observability: ObservabilitySpec::default(),
            pod_template: PodOverrides::default(),
        }
    }
}

/// The CRD, with the long upstream description of every resource quantity shortened (it is
/// repeated for each CPU, memory and storage field and would be a third of the file).
pub fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use kube::CustomResourceExt;
    fn shorten(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let is_quantity = map.get("x-kubernetes-int-or-string")
                    == Some(&serde_json::Value::Bool(true))
                    && map
                        .get("description")
                        .and_then(|d| d.as_str())
                        .is_some_and(|d| d.starts_with("Quantity is a fixed-point"));
                if is_quantity {
                    map.insert(
                        "description".into(),
                        "A Kubernetes quantity, e.g. `500m` or `1` (CPU), `512Mi` or `2Gi` (memory, storage).".into(),
                    );
                }
                map.values_mut().for_each(shorten);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(shorten),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(MushGame::crd()).expect("the CRD serializes");
    shorten(&mut value);
    serde_json::from_value(value).expect("still a CRD")
}

/// The CRD as YAML, as `mush-operator crd` prints it and `crds/mushgames.mush.dev.yaml` holds it.
pub fn crd_yaml() -> String {
    let yaml = serde_yaml::to_string(&crd()).expect("the CRD serializes");
    format!("# Generated by `mush-operator crd`; do not edit by hand.\n---\n{yaml}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each value serializes to its `as_str()` and reads back as itself.
    fn round_trips<T>(values: &[T], as_str: fn(T) -> &'static str)
    where
        T: Serialize + for<'de> Deserialize<'de> + Copy + PartialEq + std::fmt::Debug,
    {
        for &v in values {
            let text = serde_json::to_value(v).unwrap();
            assert_eq!(text, json!(as_str(v)), "{v:?}");
            assert_eq!(serde_json::from_value::<T>(text).unwrap(), v);
        }
    }

    #[test]
    fn phases_states_and_reasons_are_the_strings_the_status_always_carried() {
        use GameServerState as S;
        use RestartPhase as P;
        use RestartReason as R;
        use RolloutPhase as G;
        round_trips(&[G::InProgress, G::Complete, G::Unknown], G::as_str);
        round_trips(
            &[
                S::Running,
                S::Starting,
                S::Restarting,
                S::Failed,
                S::Waiting,
                S::Unknown,
            ],
            S::as_str,
        );
        round_trips(&[P::InProgress, P::Succeeded, P::Failed, P::Unknown], P::as_str);
        round_trips(
            &[R::Image, R::RestartRequest, R::Annotation, R::Config, R::Unknown],
            R::as_str,
        );
        let strings: Vec<&str> = [G::InProgress, G::Complete].map(G::as_str).to_vec();
        assert_eq!(strings, ["InProgress", "Complete"]);
        let strings: Vec<&str> = [S::Running, S::Starting, S::Restarting, S::Failed, S::Waiting]
            .map(S::as_str)
            .to_vec();
        assert_eq!(
            strings,
            ["Running", "Starting", "Restarting", "Failed", "Waiting"]
        );
        let strings: Vec<&str> = [P::InProgress, P::Succeeded, P::Failed].map(P::as_str).to_vec();
        assert_eq!(strings, ["InProgress", "Succeeded", "Failed"]);
        let strings: Vec<&str> = [R::Image, R::RestartRequest, R::Annotation, R::Config]
            .map(R::as_str)
            .to_vec();
        assert_eq!(strings, ["image", "restartRequest", "annotation", "config"]);
        assert_eq!(R::RestartRequest.to_string(), "restartRequest");
    }

    #[test]
    fn a_status_written_before_reads_back_the_same_and_unknown_values_do_not_break_it() {
        let written = json!({
            "gateways": {
                "summary": "2/2", "desired": 2, "ready": 2, "updated": 2, "draining": 0,
                "revision": "b",
                "rollout": {"phase": "Complete", "revision": "b", "startedAt": "2026-11-24T10:00:00Z",
                            "endedAt": "2026-11-24T10:01:00Z", "progress": "2/2 new gateways ready"}
            },
            "gameServer": {
                "state": "Running", "readyReplicas": 1, "revision": "r2",
                "lastRestart": {"phase": "Succeeded", "reason": "restartRequest", "fromRevision": "r1",
                                "toRevision": "r2", "startedAt": "2026-11-24T10:00:00Z",
                                "endedAt": "2026-11-24T10:00:12Z", "durationSeconds": 12}
            }
        });
        let status: MushGameStatus = serde_json::from_value(written.clone()).unwrap();
        let game = status.game_server.as_ref().unwrap();
        assert_eq!(game.state, GameServerState::Running);
        let restart = game.last_restart.as_ref().unwrap();
        assert_eq!(
            (restart.phase, restart.reason),
            (RestartPhase::Succeeded, RestartReason::RestartRequest)
        );
        let rollout = status.gateways.as_ref().unwrap().rollout.as_ref().unwrap();
        assert_eq!(rollout.phase, RolloutPhase::Complete);
        assert_eq!(serde_json::to_value(&status).unwrap(), written);

        // Values another version of the operator may write read as `Unknown`.
        let mut newer = written;
        newer["gateways"]["rollout"]["phase"] = json!("Paused");
        newer["gameServer"]["state"] = json!("Hibernating");
        newer["gameServer"]["lastRestart"]["phase"] = json!("Cancelled");
        newer["gameServer"]["lastRestart"]["reason"] = json!("schedule");
        let status: MushGameStatus = serde_json::from_value(newer).unwrap();
        let game = status.game_server.unwrap();
        assert_eq!(game.state, GameServerState::Unknown);
        let restart = game.last_restart.unwrap();
        assert_eq!(
            (restart.phase, restart.reason),
            (RestartPhase::Unknown, RestartReason::Unknown)
        );
        assert_eq!(
            status.gateways.unwrap().rollout.unwrap().phase,
            RolloutPhase::Unknown
        );
    }
}
