//! Pure rendering: one `MushGame` in, every child object the operator wants to exist out.
//!
//! Nothing here talks to a cluster, so the same code backs the controller, the `render`
//! subcommand and the golden tests. One file per child kind; this file holds the names, labels,
//! owner reference and pod hardening they all share.

mod config;
mod game;
mod gateway;
mod kafka;
mod observability;
mod policy;
mod redis;
mod secrets;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile,
    SecretKeySelector, SecurityContext, Service, ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::DynamicObject;
use serde::Serialize;

use crate::crd::{MushGame, MushGameSpec, SecretKeyRef};

pub use game::{RESTART_TOKEN_ANNOTATION, restart_token};
pub use kafka::{redpanda_memory_flag, redpanda_smp};
pub use observability::service_monitor_resource;
pub use secrets::{
    GeneratedSecret, INPUT_KEY_KEY, INPUT_KEY_PREVIOUS_KEY, RANDOM_BYTES, REDIS_PASSWORD_KEY, hex,
};

/// Field manager for every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "mush-operator";
/// Label carrying the owning MushGame's name, on every child and pod.
pub const GAME_LABEL: &str = "mush.dev/game";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Hash of a pod template (before this annotation is added), on the workload and its template.
pub const REVISION_ANNOTATION: &str = "mush.dev/revision";
/// Marks the pods whose port 9100 the metrics Service selects.
pub const METRICS_LABEL: &str = "mush.dev/metrics";

pub const HEALTH_PORT: i32 = 9100;
pub const TELNET_PORT: i32 = 4201;
/// The web client (`/`) and its WebSocket (`/ws`), plain HTTP, in the gateway pod.
pub const WEB_PORT: i32 = 4280;
/// Telnet over TLS, in the gateway pod.
pub const TELNET_TLS_PORT: i32 = 4202;
/// The web client over HTTPS and `wss://`, in the gateway pod.
pub const WEB_TLS_PORT: i32 = 4243;
pub const REDIS_PORT: i32 = 6379;
pub const KAFKA_PORT: i32 = 9092;

/// The parts of a MushGame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Gateway,
    Game,
    Redis,
    Kafka,
    Topics,
    Metrics,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Gateway => "gateway",
            Component::Game => "game",
            Component::Redis => "redis",
            Component::Kafka => "kafka",
            Component::Topics => "topics",
            Component::Metrics => "metrics",
        }
    }
}

/// Names of the children, derived from the MushGame's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub game: String,
}

impl Names {
    pub fn new(game: &str) -> Self {
        Self {
            game: game.to_owned(),
        }
    }
    pub fn of(&self, c: Component) -> String {
        format!("{}-{}", self.game, c.as_str())
    }
    pub fn gateway(&self) -> String {
        self.of(Component::Gateway)
    }
    pub fn game_server(&self) -> String {
        self.of(Component::Game)
    }
    pub fn redis(&self) -> String {
        self.of(Component::Redis)
    }
    pub fn kafka(&self) -> String {
        self.of(Component::Kafka)
    }
    pub fn metrics(&self) -> String {
        self.of(Component::Metrics)
    }
    pub fn settings(&self) -> String {
        format!("{}-settings", self.game)
    }
    pub fn welcome(&self) -> String {
        format!("{}-welcome", self.game)
    }
    pub fn dashboards(&self) -> String {
        format!("{}-dashboards", self.game)
    }
    /// The managed Redis's password (key [`REDIS_PASSWORD_KEY`]), generated once by the operator.
    pub fn redis_auth(&self) -> String {
        format!("{}-redis-auth", self.game)
    }
    /// The key sealing input lines between gateways and game-server (key [`INPUT_KEY_KEY`]).
    pub fn input_key(&self) -> String {
        format!("{}-input-key", self.game)
    }
    pub fn service_account(&self) -> String {
        self.game.clone()
    }
}

/// One object the operator applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Child {
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Service(Service),
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    Job(Job),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    /// `monitoring.coreos.com/v1` ServiceMonitor (a CRD of the Prometheus Operator).
    ServiceMonitor(DynamicObject),
}

impl Child {
    pub fn kind(&self) -> &'static str {
        match self {
            Child::ServiceAccount(_) => "ServiceAccount",
            Child::ConfigMap(_) => "ConfigMap",
            Child::Service(_) => "Service",
            Child::Deployment(_) => "Deployment",
            Child::StatefulSet(_) => "StatefulSet",
            Child::Job(_) => "Job",
            Child::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Child::NetworkPolicy(_) => "NetworkPolicy",
            Child::ServiceMonitor(_) => "ServiceMonitor",
        }
    }

    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Child::ServiceAccount(o) => &o.metadata,
            Child::ConfigMap(o) => &o.metadata,
            Child::Service(o) => &o.metadata,
            Child::Deployment(o) => &o.metadata,
            Child::StatefulSet(o) => &o.metadata,
            Child::Job(o) => &o.metadata,
            Child::PodDisruptionBudget(o) => &o.metadata,
            Child::NetworkPolicy(o) => &o.metadata,
            Child::ServiceMonitor(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// The object as JSON, with `apiVersion` and `kind`.
    pub fn to_json(&self) -> serde_json::Value {
        fn j<T: Serialize>(t: &T) -> serde_json::Value {
            serde_json::to_value(t).expect("Kubernetes objects serialize")
        }
        match self {
            Child::ServiceAccount(o) => j(o),
            Child::ConfigMap(o) => j(o),
            Child::Service(o) => j(o),
            Child::Deployment(o) => j(o),
            Child::StatefulSet(o) => j(o),
            Child::Job(o) => j(o),
            Child::PodDisruptionBudget(o) => j(o),
            Child::NetworkPolicy(o) => j(o),
            Child::ServiceMonitor(o) => j(o),
        }
    }

    /// The object as one YAML document (`apiVersion` and `kind` first, as people write them).
    pub fn to_yaml(&self) -> String {
        fn y<T: Serialize>(t: &T) -> String {
            serde_yaml::to_string(t).expect("Kubernetes objects serialize")
        }
        match self {
            Child::ServiceAccount(o) => y(o),
            Child::ConfigMap(o) => y(o),
            Child::Service(o) => y(o),
            Child::Deployment(o) => y(o),
            Child::StatefulSet(o) => y(o),
            Child::Job(o) => y(o),
            Child::PodDisruptionBudget(o) => y(o),
            Child::NetworkPolicy(o) => y(o),
            Child::ServiceMonitor(o) => y(o),
        }
    }
}

/// Everything rendered for one MushGame, plus the figures the controller compares with the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub children: Vec<Child>,
    /// Secrets the operator generates once and never applies again (their values are random, so
    /// they are not children: see [`secrets`]).
    pub secrets: Vec<GeneratedSecret>,
    /// Revision (pod template hash) of the gateways.
    pub gateway_revision: String,
    /// Revision (pod template hash) of the game-server.
    pub game_revision: String,
    /// Name of the topic-creation Job, when Kafka is managed.
    pub topics_job: Option<String>,
}

impl Rendered {
    pub fn find(&self, kind: &str, name: &str) -> Option<&Child> {
        self.children
            .iter()
            .find(|c| c.kind() == kind && c.name() == name)
    }

    /// All children as one multi-document YAML stream, with a comment naming the generated Secrets
    /// (random values: created in the cluster, never rendered).
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for s in &self.secrets {
            out.push_str(&format!(
                "# Secret {} (key {}): generated by the operator when missing, never rendered or rotated\n",
                s.name(),
                s.key
            ));
        }
        for child in &self.children {
            out.push_str("---\n");
            out.push_str(&child.to_yaml());
        }
        out
    }
}

/// Spec problems the API server would have refused (the CRD's CEL rules), checked again here for
/// offline rendering and as a guard in the controller.
/// Whether `text` is a web origin as browsers send it: `http://` or `https://`, a host, perhaps a
/// port, and nothing more.
fn is_web_origin(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

pub fn spec_errors(spec: &MushGameSpec) -> Vec<String> {
    let mut errors = Vec::new();
    // Deserializing fills in `managed` unless `external` is given; neither is only possible for a
    // spec built in code.
    match (spec.kafka.managed.is_some(), spec.kafka.external.is_some()) {
        (true, true) => errors.push(
            "kafka.managed and kafka.external exclude each other: Kafka is managed (a Redpanda broker run \
             by the operator) unless kafka.external (your own Kafka cluster) is given"
                .to_owned(),
        ),
        (false, false) => errors.push("kafka has neither managed nor external".to_owned()),
        _ => {}
    }
    match (spec.redis.managed.is_some(), spec.redis.external.is_some()) {
        (true, true) => errors.push(
            "redis.managed and redis.external exclude each other: Redis is managed (run by the operator) \
             unless redis.external (your own Redis, URL from a Secret) is given"
                .to_owned(),
        ),
        (false, false) => errors.push("redis has neither managed nor external".to_owned()),
        _ => {}
    }
    for origin in &spec.connection_server.web_allowed_origins {
        if !is_web_origin(origin) {
            errors.push(format!(
                "connectionServer.webAllowedOrigins: {origin:?} is not an origin such as https://play.example.org \
                 (a scheme, a host and perhaps a port; no path)"
            ));
        }
    }
    let topics = &spec.kafka.topics;
    if spec.kafka.external.is_none() && topics.replication_factor != 1 {
        errors.push(
            "kafka.topics.replicationFactor must be 1 with the managed broker (one Redpanda broker holds one \
             replica); a higher factor needs kafka.external"
                .to_owned(),
        );
    }
    for (field, value) in [
        ("inputRetention", &topics.input_retention),
        ("outputRetention", &topics.output_retention),
    ] {
        if crate::crd::duration_ms(value).is_none() {
            errors.push(format!(
                "kafka.topics.{field} ({value:?}) is not a duration such as 90m, 12h or 7d"
            ));
        }
    }
    if let Some(k) = &spec.kafka.managed
        && let Some(mib) = kafka::redpanda_memory_mib(k)
        && mib < kafka::REDPANDA_MIN_MIB_PER_CORE
    {
        errors.push(format!(
            "kafka.managed.resources.limits.memory is too small: Redpanda gets 80% of it ({mib}Mi) and in \
             production mode refuses to start with less than {}Mi per core; give it at least 1280Mi",
            kafka::REDPANDA_MIN_MIB_PER_CORE
        ));
    }
    let cs = &spec.connection_server;
    let ports = cs.service_ports();
    for (i, (name, port)) in ports.iter().enumerate() {
        if let Some((other, _)) = ports[..i].iter().find(|(_, p)| p == port) {
            errors.push(format!(
                "connectionServer's Service ports must differ: {} and {} are both {port}",
                port_field(other),
                port_field(name)
            ));
        }
    }
    if cs.replicas + cs.max_surge > spec.kafka.output_partitions {
        errors.push(format!(
            "kafka.outputPartitions ({}) must be at least connectionServer.replicas + connectionServer.maxSurge \
             ({}): every gateway alive during a rollout reads its own output partition",
            spec.kafka.output_partitions,
            cs.replicas + cs.max_surge
        ));
    }
    errors
}

/// The spec field of a gateway Service port named as in [`crate::crd::ConnectionServerSpec::service_ports`].
fn port_field(name: &str) -> &'static str {
    match name {
        "telnet" => "connectionServer.telnetPort",
        "web" => "connectionServer.webPort",
        "telnet-tls" => "connectionServer.tls.telnetPort",
        _ => "connectionServer.tls.webPort",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("invalid MushGame spec: {}", .0.join("; "))]
    InvalidSpec(Vec<String>),
}

/// What rendering needs besides the MushGame: facts about the operator's installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// The operator's own namespace: its pods may reach the game pods' metrics port.
    pub operator_namespace: String,
}

/// Where `manifests/install.yaml` and the chart's defaults put the operator.
pub const DEFAULT_OPERATOR_NAMESPACE: &str = "mush-system";

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            operator_namespace: DEFAULT_OPERATOR_NAMESPACE.to_owned(),
        }
    }
}

/// [`render_with`] for an operator in [`DEFAULT_OPERATOR_NAMESPACE`].
pub fn render(game: &MushGame) -> Result<Rendered, RenderError> {
    render_with(game, &RenderOptions::default())
}

/// Renders every child of `game`. Owner references are set when the game has a uid (it came
/// from a cluster); offline renders have none.
pub fn render_with(game: &MushGame, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let errors = spec_errors(&game.spec);
    if !errors.is_empty() {
        return Err(RenderError::InvalidSpec(errors));
    }
    let ctx = Ctx::new(game, options);
    let mut children = Vec::new();
    children.push(Child::ServiceAccount(policy::service_account(&ctx)));
    let settings = config::settings(&ctx);
    let settings_hash = hash_json(&settings.data);
    children.push(Child::ConfigMap(settings));
    children.push(Child::ConfigMap(config::welcome(&ctx)));

    let mut topics_job = None;
    if let Some(redis) = &game.spec.redis.managed {
        children.push(Child::Service(redis::service(&ctx)));
        children.push(Child::StatefulSet(redis::stateful_set(&ctx, redis)));
    }
    if let Some(kafka) = &game.spec.kafka.managed {
        children.push(Child::Service(kafka::service(&ctx)));
        children.push(Child::StatefulSet(kafka::stateful_set(&ctx, kafka)));
        let job = kafka::topics_job(&ctx, kafka);
        topics_job = job.metadata.name.clone();
        children.push(Child::Job(job));
    }

    let gateway = gateway::deployment(&ctx, &settings_hash);
    let gateway_revision = revision_of(&gateway);
    children.push(Child::Deployment(gateway));
    children.push(Child::Service(gateway::service(&ctx)));
    let game_deploy = game::deployment(&ctx, &settings_hash);
    let game_revision = revision_of(&game_deploy);
    children.push(Child::Deployment(game_deploy));
    children.push(Child::Service(observability::metrics_service(&ctx)));

    children.push(Child::PodDisruptionBudget(policy::pdb(&ctx, Component::Gateway)));
    children.push(Child::PodDisruptionBudget(policy::pdb(&ctx, Component::Game)));
    if game.spec.redis.managed.is_some() {
        children.push(Child::PodDisruptionBudget(policy::pdb(&ctx, Component::Redis)));
    }
    if game.spec.kafka.managed.is_some() {
        children.push(Child::PodDisruptionBudget(policy::pdb(&ctx, Component::Kafka)));
    }
    children.extend(
        policy::network_policies(&ctx)
            .into_iter()
            .map(Child::NetworkPolicy),
    );
    if game.spec.observability.service_monitor {
        children.push(Child::ServiceMonitor(observability::service_monitor(&ctx)));
    }
    if game.spec.observability.dashboards {
        children.push(Child::ConfigMap(observability::dashboards(&ctx)));
    }
    Ok(Rendered {
        children,
        secrets: secrets::generated(&ctx),
        gateway_revision,
        game_revision,
        topics_job,
    })
}

fn revision_of(d: &Deployment) -> String {
    d.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .cloned()
        .unwrap_or_default()
}

/// What every renderer needs: the spec, names, namespace and owner reference.
pub(crate) struct Ctx<'a> {
    pub game: &'a MushGame,
    pub spec: &'a MushGameSpec,
    pub names: Names,
    pub namespace: String,
    pub operator_namespace: String,
    owner: Option<OwnerReference>,
}

impl<'a> Ctx<'a> {
    fn new(game: &'a MushGame, options: &RenderOptions) -> Self {
        let owner = game.metadata.uid.as_ref().map(|uid| OwnerReference {
            api_version: crate::crd::API_VERSION.to_owned(),
            kind: crate::crd::KIND.to_owned(),
            name: game.name_any(),
            uid: uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        });
        Self {
            game,
            spec: &game.spec,
            names: Names::new(&game.name_any()),
            namespace: game.namespace().unwrap_or_else(|| "default".to_owned()),
            operator_namespace: options.operator_namespace.clone(),
            owner,
        }
    }

    pub fn display_name(&self) -> String {
        self.spec
            .display_name
            .clone()
            .unwrap_or_else(|| self.names.game.clone())
    }

    /// Labels that select one component's pods (kept small: selectors are immutable).
    pub fn selector(&self, c: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            (GAME_LABEL.to_owned(), self.names.game.clone()),
            (COMPONENT_LABEL.to_owned(), c.as_str().to_owned()),
        ])
    }

    /// Labels on every child object of one component.
    pub fn labels(&self, c: Component) -> BTreeMap<String, String> {
        let mut l = self.selector(c);
        l.insert("app.kubernetes.io/name".into(), "mush".into());
        l.insert("app.kubernetes.io/instance".into(), self.names.game.clone());
        l.insert("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into());
        l.insert("app.kubernetes.io/part-of".into(), "mush".into());
        l
    }

    /// Labels on pods: the user's extra labels, then ours (ours win).
    pub fn pod_labels(&self, c: Component) -> BTreeMap<String, String> {
        let mut l = self.spec.pod_template.labels.clone();
        l.extend(self.labels(c));
        l
    }

    pub fn pod_annotations(&self) -> Option<BTreeMap<String, String>> {
        let a = &self.spec.pod_template.annotations;
        (!a.is_empty()).then(|| a.clone())
    }

    pub fn meta(&self, name: String, c: Component) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(c)),
            owner_references: self.owner.clone().map(|o| vec![o]),
            ..Default::default()
        }
    }

    /// A server Deployment's pod template (scraped for metrics, carrying `settings_hash` and any
    /// `extra` annotations) and the Deployment's metadata, both stamped with the template's
    /// revision hash: the hash is what tells a restart from drift repair.
    pub fn revisioned_template(
        &self,
        c: Component,
        name: String,
        pod: PodSpec,
        settings_hash: &str,
        extra: &[(&str, String)],
    ) -> (PodTemplateSpec, ObjectMeta) {
        let mut labels = self.pod_labels(c);
        labels.insert(METRICS_LABEL.into(), "true".into());
        let mut annotations = self.pod_annotations().unwrap_or_default();
        annotations.insert("mush.dev/settings-hash".into(), settings_hash.to_owned());
        for (k, v) in extra {
            annotations.insert((*k).to_owned(), v.clone());
        }
        let mut template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                annotations: Some(annotations),
                ..Default::default()
            }),
            spec: Some(pod),
        };
        let revision = hash_json(&template);
        if let Some(a) = template.metadata.as_mut().and_then(|m| m.annotations.as_mut()) {
            a.insert(REVISION_ANNOTATION.into(), revision.clone());
        }
        let mut metadata = self.meta(name, c);
        metadata.annotations = Some([(REVISION_ANNOTATION.to_owned(), revision)].into());
        (template, metadata)
    }

    /// The pod spec fields every pod shares: service account, scheduling and hardening.
    pub fn pod_spec(&self, uid: i64, containers: Vec<Container>, mut volumes: Vec<Volume>) -> PodSpec {
        let o = &self.spec.pod_template;
        volumes.push(empty_dir("tmp"));
        PodSpec {
            service_account_name: Some(self.names.service_account()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            node_selector: (!o.node_selector.is_empty()).then(|| o.node_selector.clone()),
            tolerations: (!o.tolerations.is_empty()).then(|| o.tolerations.clone()),
            priority_class_name: o.priority_class_name.clone(),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(uid),
                run_as_group: Some(uid),
                fs_group: Some(uid),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            containers,
            volumes: Some(volumes),
            ..Default::default()
        }
    }
}

/// Non-root user of the project's own images (distroless `nonroot`).
pub const MUSH_UID: i64 = 65532;

/// Hardening for every container: no privilege escalation, read-only root, no capabilities.
pub fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

pub fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    }
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

pub fn env_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn env_secret(name: &str, r: &SecretKeyRef) -> EnvVar {
    env_secret_key(name, &r.name, &r.key, false)
}

/// A variable from one key of a Secret (`optional`: absent key or Secret leaves it unset).
pub fn env_secret_key(name: &str, secret: &str, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(optional),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("health".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

/// FNV-1a over the JSON form: stable across builds and platforms (unlike std's hasher).
pub fn hash_json<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("serializable");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", h & 0xff_ffff_ffff)
}

#[cfg(test)]
mod tests;
