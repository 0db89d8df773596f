//! The reconciler: observe → create the generated Secrets that are missing → apply the rendered
//! children (pure, `render`) with one
//! server-side-apply field manager, the game-server last and only as decided (pure, `rollout`)
//! → delete the children no longer wanted (pure, `prune`) → write status (pure, `status`) →
//! publish Events.
//!
//! No finalizer: everything the operator creates carries an owner reference to the MushGame, so
//! Kubernetes' garbage collector removes it when the MushGame goes (the data volumes of Redis and
//! Redpanda are deliberately kept, see `render::kafka::claim_template`). Nothing lives outside
//! the cluster's ownership graph that would need cleaning up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use mush_protocol::figures;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, info, warn};

use crate::crd::{API_VERSION, KIND, MushGame, MushGameStatus, RESTART_ANNOTATION, RolloutPhase};
use crate::metrics::OperatorMetrics;
use crate::prune;
use crate::render::{
    COMPONENT_LABEL, Child, Component, FIELD_MANAGER, GAME_LABEL, GeneratedSecret, HEALTH_PORT, Names,
    RANDOM_BYTES, REVISION_ANNOTATION, RenderOptions, Rendered, hex, render_with, spec_errors,
};
use crate::rollout::{self, GameInputs, Note};
use crate::status::{
    self, PROGRESSING, Problem, READY, Reason, StatusInputs, metric_sum, pod_name, pod_ready, pod_revision,
    pod_terminating,
};

/// Where time comes from (tests drive it by hand).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }
    pub fn from_fn(f: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

/// What every reconciliation shares.
#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: OperatorMetrics,
    pub clock: Clock,
    /// Read players and connections from the pods' `/metrics` through the API server's pod proxy.
    pub scrape_pod_metrics: bool,
    /// How long one pod's `/metrics` may take. A pod that does not answer (a wedged process, a
    /// node gone) must not hold up the reconciliation: its figures are reported unknown.
    pub scrape_timeout: Duration,
    /// Facts about the installation the rendering needs (the operator's namespace).
    pub render_options: RenderOptions,
}

impl Context {
    pub fn new(client: Client, metrics: OperatorMetrics, instance: Option<String>, scrape: bool) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance,
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            clock: Clock::system(),
            scrape_pod_metrics: scrape,
            scrape_timeout: SCRAPE_TIMEOUT,
            render_options: RenderOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the MushGame has no namespace")]
    MissingNamespace,
    #[error("reading {kind} {name}: {source}")]
    Read {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting {kind} {name}, which the spec no longer asks for: {source}")]
    Delete {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("creating the generated Secret {name}: {source}")]
    CreateSecret {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing the status of MushGame {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// The `reason` label of `mush_operator_reconcile_failures_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::MissingNamespace => "missing_namespace",
            Error::Read { .. } => "read",
            Error::Apply { .. } | Error::CreateSecret { .. } => "apply",
            Error::Delete { .. } => "delete",
            Error::Status { .. } => "status",
        }
    }
}

/// Default of [`Context::scrape_timeout`].
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// How soon to look again while something moves, and when all is quiet.
pub const REQUEUE_BUSY: Duration = Duration::from_secs(10);
pub const REQUEUE_IDLE: Duration = Duration::from_secs(300);
pub const REQUEUE_ERROR: Duration = Duration::from_secs(30);

/// The cluster state the decisions are made from.
#[derive(Debug, Default)]
struct Observed {
    gateway: Option<Deployment>,
    game: Option<Deployment>,
    redis: Option<StatefulSet>,
    kafka: Option<StatefulSet>,
    topics: Option<Job>,
    pods: Vec<Pod>,
    missing_secrets: Vec<String>,
}

fn secrets_named(game: &MushGame) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(tls) = &game.spec.connection_server.tls {
        names.insert(tls.secret_name.clone());
    }
    if let Some(ext) = &game.spec.redis.external {
        names.insert(ext.url_secret.name.clone());
    }
    if let Some(ext) = &game.spec.kafka.external {
        if let Some(sasl) = &ext.sasl {
            names.insert(sasl.username_secret.name.clone());
            names.insert(sasl.password_secret.name.clone());
        }
        if let Some(tls) = &ext.tls {
            names.extend(tls.ca_secret.as_ref().map(|s| s.name.clone()));
            names.extend(tls.client_cert_secret_name.clone());
        }
    }
    names
}

async fn get_opt<K>(client: &Client, ns: &str, name: &str) -> Result<Option<K>, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    Api::<K>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|source| Error::Read {
            kind: K::kind(&()).to_string(),
            name: name.to_owned(),
            source,
        })
}

async fn observe(
    client: &Client,
    game: &MushGame,
    ns: &str,
    names: &Names,
    topics_job: Option<&str>,
) -> Result<Observed, Error> {
    let mut o = Observed {
        gateway: get_opt(client, ns, &names.gateway()).await?,
        game: get_opt(client, ns, &names.game_server()).await?,
        ..Default::default()
    };
    if game.spec.redis.managed.is_some() {
        o.redis = get_opt(client, ns, &names.redis()).await?;
    }
    if game.spec.kafka.managed.is_some() {
        o.kafka = get_opt(client, ns, &names.kafka()).await?;
        if let Some(job) = topics_job {
            o.topics = get_opt(client, ns, job).await?;
        }
    }
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("{GAME_LABEL}={}", names.game)))
        .await
        .map_err(|source| Error::Read {
            kind: "Pod".into(),
            name: format!("{GAME_LABEL}={}", names.game),
            source,
        })?;
    o.pods = pods.items;
    // Only metadata: the operator checks that a Secret exists, never reads its values.
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    for name in secrets_named(game) {
        let found = secrets
            .get_metadata_opt(&name)
            .await
            .map_err(|source| Error::Read {
                kind: "Secret".into(),
                name: name.clone(),
                source,
            })?;
        if found.is_none() {
            o.missing_secrets.push(name);
        }
    }
    Ok(o)
}

async fn apply<K>(client: &Client, ns: &str, obj: &K) -> Result<K, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    Api::<K>::namespaced(client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await
        .map_err(|source| Error::Apply {
            kind: K::kind(&()).to_string(),
            name,
            source,
        })
}

/// `n` random bytes from the kernel (the operator runs on Linux).
fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A fresh value for a generated Secret: [`RANDOM_BYTES`] random bytes in hexadecimal.
fn random_value() -> Result<String, kube::Error> {
    random_bytes(RANDOM_BYTES)
        .map(|b| hex(&b))
        .map_err(|e| kube::Error::Service(Box::new(e)))
}

/// Creates each generated Secret that does not exist yet, with a new random value. One that
/// exists is left exactly as it is (never read, never rewritten: see `render::secrets`); a
/// creation that loses a race with another writer (409 AlreadyExists) is fine too. Returns
/// the names created.
async fn create_missing_secrets(
    client: &Client,
    ns: &str,
    wanted: &[GeneratedSecret],
) -> Result<Vec<String>, Error> {
    let api = Api::<Secret>::namespaced(client.clone(), ns);
    let mut created = Vec::new();
    for g in wanted {
        let name = g.name().to_owned();
        let failed = |source| Error::CreateSecret {
            name: name.clone(),
            source,
        };
        if api.get_metadata_opt(&name).await.map_err(failed)?.is_some() {
            continue;
        }
        let secret = g.with_value(&random_value().map_err(failed)?);
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => created.push(name),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(source) => return Err(failed(source)),
        }
    }
    Ok(created)
}

/// What the API server answered to an apply, where the status computation can use it.
enum Applied {
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    Job(Job),
    Other,
}

/// Applies one child. A ServiceMonitor whose API is not installed is skipped with a note.
async fn apply_child(
    client: &Client,
    ns: &str,
    child: &Child,
    notes: &mut Vec<Note>,
) -> Result<Applied, Error> {
    match child {
        Child::ServiceAccount(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::ConfigMap(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::Service(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::Deployment(o) => apply(client, ns, o).await.map(Applied::Deployment),
        Child::StatefulSet(o) => apply(client, ns, o).await.map(Applied::StatefulSet),
        Child::Job(o) => apply(client, ns, o).await.map(Applied::Job),
        Child::PodDisruptionBudget(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::NetworkPolicy(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::ServiceMonitor(o) => {
            let ar = crate::render::service_monitor_resource();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            let name = child.name().to_owned();
            match api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(o),
                )
                .await
            {
                Ok(_) => Ok(Applied::Other),
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    notes.push(Note::warning(
                        "ServiceMonitorUnavailable",
                        "ApplyServiceMonitor",
                        "observability.serviceMonitor is on but the monitoring.coreos.com/v1 API is not \
                         installed; the metrics Service is there for any other scraper"
                            .into(),
                    ));
                    Ok(Applied::Other)
                }
                Err(source) => Err(Error::Apply {
                    kind: "ServiceMonitor".into(),
                    name,
                    source,
                }),
            }
        }
    }
}

/// What applying children produced besides the objects: Events to publish, and the children the
/// API server refused.
#[derive(Default)]
struct Applying {
    notes: Vec<Note>,
    refused: Vec<Error>,
}

/// Applies `children` in order, keeping the API server's answers for the workloads in `observed`
/// (they are the freshest view: the status and the restart gate are computed from them). A
/// refused child is recorded and the others still go.
async fn apply_children<'a>(
    client: &Client,
    ns: &str,
    names: &Names,
    children: impl Iterator<Item = &'a Child>,
    observed: &mut Observed,
    applying: &mut Applying,
) {
    for child in children {
        match apply_child(client, ns, child, &mut applying.notes).await {
            Ok(Applied::Deployment(d)) if child.name() == names.gateway() => observed.gateway = Some(d),
            Ok(Applied::Deployment(d)) => observed.game = Some(d),
            Ok(Applied::StatefulSet(s)) if child.name() == names.redis() => observed.redis = Some(s),
            Ok(Applied::StatefulSet(s)) => observed.kafka = Some(s),
            Ok(Applied::Job(j)) => observed.topics = Some(j),
            Ok(Applied::Other) => {}
            Err(e) => {
                applying
                    .notes
                    .push(Note::warning("ApplyFailed", "Reconcile", e.to_string()));
                applying.refused.push(e);
            }
        }
    }
}

/// Names of the objects of kind `K` in `ns` matching `selector` whose controller is the MushGame
/// with `uid` (metadata only).
async fn controlled_names<K>(
    client: &Client,
    ns: &str,
    selector: &str,
    uid: &str,
) -> Result<Vec<String>, kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    let list = Api::<K>::namespaced(client.clone(), ns)
        .list_metadata(&ListParams::default().labels(selector))
        .await?;
    Ok(controlled(list.items.into_iter().map(|o| o.metadata), uid))
}

fn controlled(metas: impl Iterator<Item = ObjectMeta>, uid: &str) -> Vec<String> {
    metas
        .filter(|m| prune::controlled_by(m, uid))
        .filter_map(|m| m.name)
        .collect()
}

/// What the game controls of one kind (one of [`prune::KINDS`]). `Ok(None)` when the kind's API
/// is not installed (ServiceMonitor without the Prometheus Operator): nothing of it can exist.
async fn owned_of_kind(
    client: &Client,
    ns: &str,
    kind: &str,
    selector: &str,
    uid: &str,
) -> Result<Option<Vec<String>>, kube::Error> {
    let names = match kind {
        "ServiceAccount" => controlled_names::<ServiceAccount>(client, ns, selector, uid).await,
        "ConfigMap" => controlled_names::<ConfigMap>(client, ns, selector, uid).await,
        "Service" => controlled_names::<Service>(client, ns, selector, uid).await,
        "Deployment" => controlled_names::<Deployment>(client, ns, selector, uid).await,
        "StatefulSet" => controlled_names::<StatefulSet>(client, ns, selector, uid).await,
        "Job" => controlled_names::<Job>(client, ns, selector, uid).await,
        "PodDisruptionBudget" => controlled_names::<PodDisruptionBudget>(client, ns, selector, uid).await,
        "NetworkPolicy" => controlled_names::<NetworkPolicy>(client, ns, selector, uid).await,
        "ServiceMonitor" => {
            let ar = crate::render::service_monitor_resource();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            match api.list_metadata(&ListParams::default().labels(selector)).await {
                Ok(list) => Ok(controlled(list.items.into_iter().map(|o| o.metadata), uid)),
                Err(kube::Error::Api(e)) if e.code == 404 => return Ok(None),
                Err(e) => Err(e),
            }
        }
        other => unreachable!("{other} is not among prune::KINDS"),
    };
    names.map(Some)
}

async fn delete_named<K>(client: &Client, ns: &str, name: &str) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    Api::<K>::namespaced(client.clone(), ns)
        .delete(name, &DeleteParams::background())
        .await
        .map(|_| ())
}

/// Deletes one owned object; its own dependents (a Job's pods, a StatefulSet's pods) follow in
/// the background. Already gone is fine.
async fn delete_owned(client: &Client, ns: &str, o: &prune::Owned) -> Result<(), kube::Error> {
    let name = o.name.as_str();
    let result = match o.kind {
        "ServiceAccount" => delete_named::<ServiceAccount>(client, ns, name).await,
        "ConfigMap" => delete_named::<ConfigMap>(client, ns, name).await,
        "Service" => delete_named::<Service>(client, ns, name).await,
        "Deployment" => delete_named::<Deployment>(client, ns, name).await,
        "StatefulSet" => delete_named::<StatefulSet>(client, ns, name).await,
        "Job" => delete_named::<Job>(client, ns, name).await,
        "PodDisruptionBudget" => delete_named::<PodDisruptionBudget>(client, ns, name).await,
        "NetworkPolicy" => delete_named::<NetworkPolicy>(client, ns, name).await,
        "ServiceMonitor" => {
            let ar = crate::render::service_monitor_resource();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            api.delete(name, &DeleteParams::background()).await.map(|_| ())
        }
        other => unreachable!("{other} is not among prune::KINDS"),
    };
    match result {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other,
    }
}

/// Deletes what the game owns and `rendered` no longer contains (see [`prune`]). Nothing is
/// pruned for a game without a uid (it owns nothing).
async fn prune_unwanted(
    client: &Client,
    ns: &str,
    game: &MushGame,
    rendered: &Rendered,
    applying: &mut Applying,
) {
    let Some(uid) = game.metadata.uid.as_deref() else {
        return;
    };
    let selector = format!(
        "{GAME_LABEL}={},app.kubernetes.io/managed-by={FIELD_MANAGER}",
        game.name_any()
    );
    let mut owned = Vec::new();
    for kind in prune::KINDS {
        match owned_of_kind(client, ns, kind, &selector, uid).await {
            Ok(names) => owned.extend(names.into_iter().flatten().map(|n| prune::Owned::new(kind, n))),
            Err(source) => applying.refused.push(Error::Read {
                kind: kind.to_owned(),
                name: selector.clone(),
                source,
            }),
        }
    }
    let mut deleted = Vec::new();
    for o in prune::unwanted(rendered, &owned) {
        match delete_owned(client, ns, &o).await {
            Ok(()) => deleted.push(format!("{} {}", o.kind, o.name)),
            Err(source) => {
                let e = Error::Delete {
                    kind: o.kind.to_owned(),
                    name: o.name.clone(),
                    source,
                };
                applying
                    .notes
                    .push(Note::warning("PruneFailed", "Prune", e.to_string()));
                applying.refused.push(e);
            }
        }
    }
    // One Event per pass: the recorder folds Events of one reason into a count.
    if !deleted.is_empty() {
        applying.notes.push(Note::normal(
            "Pruned",
            "Prune",
            format!("deleted what the spec no longer asks for: {}", deleted.join(", ")),
        ));
    }
}

/// GET a pod's `/metrics` through the API server's pod proxy, giving up after `timeout`.
async fn scrape(client: &Client, ns: &str, pod: &str, timeout: Duration) -> Option<String> {
    let url = format!("/api/v1/namespaces/{ns}/pods/{pod}:{HEALTH_PORT}/proxy/metrics");
    let request = http::Request::get(url).body(Vec::new()).ok()?;
    match tokio::time::timeout(timeout, client.request_text(request)).await {
        Ok(Ok(text)) => Some(text),
        Ok(Err(e)) => {
            debug!(pod, error = %e, "could not read the pod's metrics");
            None
        }
        Err(_) => {
            debug!(pod, ?timeout, "the pod's metrics did not answer in time");
            None
        }
    }
}

fn component_of(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()?
        .get(COMPONENT_LABEL)
        .map(String::as_str)
}

/// Figures read from the pods' metrics.
#[derive(Debug, Default, Clone, PartialEq)]
struct Figures {
    players: Option<i64>,
    input_lag: Option<i64>,
    restored: Option<i64>,
    reconciliation_seconds: Option<f64>,
    gateway_connections: Option<i64>,
    /// Open connections of each ready gateway that answered, by pod name.
    connections_by_gateway: BTreeMap<String, i64>,
}

/// Reads the figures from the pods' metrics: the ready game-server (preferring the wanted
/// revision) and every ready gateway, all at once, so the slowest pod costs one timeout.
async fn read_figures(
    client: &Client,
    ns: &str,
    timeout: Duration,
    game_pods: &[&Pod],
    gateway_pods: &[&Pod],
    game_revision: &str,
) -> Figures {
    let mut f = Figures::default();
    let ready_game = game_pods
        .iter()
        .filter(|p| pod_ready(p) && !pod_terminating(p))
        .max_by_key(|p| pod_revision(p) == Some(game_revision))
        .map(|p| pod_name(p));
    let ready_gateways: Vec<String> = gateway_pods
        .iter()
        .filter(|p| pod_ready(p))
        .map(|p| pod_name(p))
        .collect();
    let game_text = async {
        match &ready_game {
            Some(pod) => scrape(client, ns, pod, timeout).await,
            None => None,
        }
    };
    let gateway_texts = futures::future::join_all(
        ready_gateways
            .iter()
            .map(|pod| async move { (pod.clone(), scrape(client, ns, pod, timeout).await) }),
    );
    let (game_text, gateway_texts) = futures::join!(game_text, gateway_texts);
    if let Some(text) = game_text {
        f.players = metric_sum(&text, &figures::GAME_LOGGED_IN_PLAYERS.full_name()).map(|v| v as i64);
        f.input_lag = status::input_lag(&text);
        f.restored = metric_sum(&text, &figures::GAME_RESTORED_CONNECTIONS.full_name()).map(|v| v as i64);
        f.reconciliation_seconds = metric_sum(&text, &figures::GAME_RECONCILIATION_SECONDS.full_name());
    }
    for (pod, text) in gateway_texts {
        if let Some(n) = text.and_then(|t| metric_sum(&t, &figures::GATEWAY_CONNECTIONS.full_name())) {
            f.connections_by_gateway.insert(pod, n as i64);
        }
    }
    // The total only when every ready gateway answered: a partial sum would read as a drop.
    if !ready_gateways.is_empty() && f.connections_by_gateway.len() == ready_gateways.len() {
        f.gateway_connections = Some(f.connections_by_gateway.values().sum());
    }
    f
}

/// Marks each gateway with its pod-deletion cost (see [`rollout::gateway_deletion_cost`]), so a
/// scale-down removes the emptiest gateway first. Best effort: a pod that cannot be patched keeps
/// its old cost, and the next reconciliation tries again.
async fn mark_deletion_costs(
    client: &Client,
    ns: &str,
    gateways: &[&Pod],
    connections: &BTreeMap<String, i64>,
) {
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    for (name, cost) in rollout::deletion_cost_updates(gateways, connections) {
        let patch = serde_json::json!({
            "metadata": { "annotations": { rollout::POD_DELETION_COST: cost.to_string() } }
        });
        if let Err(e) = pods
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            warn!(pod = name, error = %e, "could not set the gateway's pod-deletion cost");
        }
    }
}

/// One reconciliation of one MushGame.
pub async fn reconcile(game: Arc<MushGame>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start();
    let ns = game.namespace().ok_or(Error::MissingNamespace)?;
    let name = game.name_any();
    if game.metadata.deletion_timestamp.is_some() {
        // Owner references let the garbage collector remove the children.
        return Ok(Action::await_change());
    }
    let now = ctx.clock.now();
    let names = Names::new(&name);
    let previous = game.status.as_ref();
    let client = &ctx.client;

    let mut problems: Vec<Problem> = spec_errors(&game.spec)
        .into_iter()
        .map(|m| Problem::new(Reason::InvalidSpec, m))
        .collect();
    let rendered: Option<Rendered> = if problems.is_empty() {
        Some(render_with(&game, &ctx.render_options).expect("spec checked above"))
    } else {
        None
    };
    let mut observed = observe(
        client,
        &game,
        &ns,
        &names,
        rendered.as_ref().and_then(|r| r.topics_job.as_deref()),
    )
    .await?;
    for missing in &observed.missing_secrets {
        problems.push(Problem::new(
            Reason::SecretMissing,
            format!("Secret {missing} named in the spec does not exist in namespace {ns}"),
        ));
    }

    let pods = std::mem::take(&mut observed.pods);
    let of = |c: Component| -> Vec<&Pod> {
        pods.iter()
            .filter(|p| component_of(p) == Some(c.as_str()))
            .collect()
    };
    let game_pods = of(Component::Game);
    let gateway_pods = of(Component::Gateway);
    // With an invalid spec nothing is applied: keep describing the game-server that runs.
    let live_game_revision = observed
        .game
        .as_ref()
        .and_then(|d| d.spec.as_ref()?.template.metadata.as_ref()?.annotations.as_ref())
        .and_then(|a| a.get(REVISION_ANNOTATION).cloned());
    let game_revision = match &rendered {
        Some(r) => r.game_revision.clone(),
        None => live_game_revision.unwrap_or_default(),
    };
    let gateway_revision = rendered
        .as_ref()
        .map(|r| r.gateway_revision.clone())
        .unwrap_or_default();

    let figures = if ctx.scrape_pod_metrics {
        read_figures(
            client,
            &ns,
            ctx.scrape_timeout,
            &game_pods,
            &gateway_pods,
            &game_revision,
        )
        .await
    } else {
        Figures::default()
    };
    mark_deletion_costs(client, &ns, &gateway_pods, &figures.connections_by_gateway).await;

    // Everything but the game-server first. The restart gate below judges Redis and Kafka from
    // the API server's answers to these applies: a spec change that rolls them in this pass shows
    // there as a generation their controller has not acted on, so the restart waits until they
    // have settled instead of starting on top of their own restart.
    let mut applying = Applying::default();
    let game_deployment = names.game_server();
    let is_game_deployment = |c: &&Child| c.kind() == "Deployment" && c.name() == game_deployment;
    if let Some(rendered) = &rendered {
        // Before the pods that read them (a missing Secret keeps a container from starting).
        match create_missing_secrets(client, &ns, &rendered.secrets).await {
            Ok(created) if !created.is_empty() => applying.notes.push(Note::normal(
                "SecretCreated",
                "Reconcile",
                format!("generated {}", created.join(", ")),
            )),
            Ok(_) => {}
            Err(e) => {
                applying
                    .notes
                    .push(Note::warning("ApplyFailed", "Reconcile", e.to_string()));
                applying.refused.push(e);
            }
        }
        let others = rendered.children.iter().filter(|c| !is_game_deployment(c));
        apply_children(client, &ns, &names, others, &mut observed, &mut applying).await;
    }
    let redis = status::redis_state(
        &game.spec,
        &names,
        observed.redis.as_ref(),
        &observed.missing_secrets,
    );
    let kafka = status::kafka_state(
        &game.spec,
        &names,
        observed.kafka.as_ref(),
        observed.topics.as_ref(),
        &observed.missing_secrets,
    );

    let previously_refused = status::condition(previous, PROGRESSING)
        .is_some_and(|c| c.reason == Reason::DependenciesNotReady.as_str());
    let token = crate::render::restart_token(&game);
    let mut decision = rollout::game(&GameInputs {
        desired_revision: &game_revision,
        desired_image: &game.spec.game_server.image,
        desired_token: &token,
        live: observed.game.as_ref(),
        pods: &game_pods,
        dependencies: status::dependencies_gate(&redis, &kafka),
        previous: previous.and_then(|s| s.game_server.as_ref()),
        previously_refused,
        now,
        restored_connections: figures.restored,
    });
    if figures.restored.is_some() {
        decision.status.restored_connections = figures.restored;
    }
    if figures.reconciliation_seconds.is_some() {
        decision.status.reconciliation_seconds = figures.reconciliation_seconds;
    }
    if let Some(rendered) = &rendered {
        if decision.apply {
            let game_server = rendered.children.iter().filter(is_game_deployment);
            apply_children(client, &ns, &names, game_server, &mut observed, &mut applying).await;
        }
        // Last, so that what replaces a pruned child (e.g. the settings naming an external Redis
        // instead of the managed one) is in place before it goes.
        prune_unwanted(client, &ns, &game, rendered, &mut applying).await;
    }

    let Applying { mut notes, refused } = applying;
    // A child the API server refuses (e.g. an immutable field changed) does not stop the others;
    // it is reported in status and as an Event, and the reconciliation counts as failed.
    problems.extend(refused.iter().map(|e| {
        let reason = match e {
            Error::Delete { .. } | Error::Read { .. } => Reason::PruneFailed,
            _ => Reason::ApplyFailed,
        };
        Problem::new(reason, e.to_string())
    }));
    if let Some(rendered) = &rendered {
        if previous.is_none() {
            notes.push(Note::normal(
                "Created",
                "Reconcile",
                format!(
                    "applied {} objects: {}",
                    rendered.children.len(),
                    rendered
                        .children
                        .iter()
                        .map(|c| format!("{} {}", c.kind(), c.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    } else if status::condition(previous, READY).is_none_or(|c| c.reason != Reason::InvalidSpec.as_str()) {
        let message = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        notes.push(Note::warning("InvalidSpec", "Reconcile", message));
    }
    if decision.notes.iter().any(|n| n.reason == "RestartStarted") {
        ctx.metrics.restarts_started.inc();
    }
    if decision
        .progressing
        .as_ref()
        .is_some_and(|c| c.reason == Reason::DependenciesNotReady)
    {
        ctx.metrics.restarts_refused.inc();
    }

    let desired_gateways = game.spec.connection_server.replicas;
    let gateways = status::gateway_pods(desired_gateways, &gateway_revision, &gateway_pods);
    let (gateway_rollout, gateway_notes) = if rendered.is_some() {
        rollout::gateways(
            previous.and_then(|s| s.gateways.as_ref()),
            &gateway_revision,
            &gateways,
            now,
        )
    } else {
        (
            previous
                .and_then(|s| s.gateways.as_ref())
                .and_then(|g| g.rollout.clone()),
            Vec::new(),
        )
    };

    let new_status = status::compute(&StatusInputs {
        previous,
        generation: game.metadata.generation,
        now,
        names: &names,
        problems: &problems,
        redis: &redis,
        kafka: &kafka,
        gateway_deployment: observed.gateway.as_ref(),
        gateways: &gateways,
        gateway_revision: &gateway_revision,
        gateway_rollout,
        gateway_connections: figures.gateway_connections,
        game: &decision,
        players: figures.players,
        input_lag: figures.input_lag,
    });
    // Writing an unchanged status would only wake the watch on MushGames again.
    if previous != Some(&new_status) {
        patch_status(client, &ns, &name, &new_status).await?;
    }

    notes.extend(decision.notes.iter().cloned());
    notes.extend(gateway_notes);
    publish(&ctx, &game, &notes).await;

    if let Some(e) = refused.into_iter().next() {
        return Err(e);
    }
    let ready = status::condition(Some(&new_status), READY).is_some_and(|c| c.status == "True");
    let rolling = new_status
        .gateways
        .as_ref()
        .and_then(|g| g.rollout.as_ref())
        .is_some_and(|r| r.phase == RolloutPhase::InProgress);
    if decision.busy || rolling || !ready {
        Ok(Action::requeue(REQUEUE_BUSY))
    } else {
        Ok(Action::requeue(REQUEUE_IDLE))
    }
}

async fn patch_status(client: &Client, ns: &str, name: &str, status: &MushGameStatus) -> Result<(), Error> {
    let patch = serde_json::json!({ "apiVersion": API_VERSION, "kind": KIND, "status": status });
    Api::<MushGame>::namespaced(client.clone(), ns)
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            name: name.to_owned(),
            source,
        })?;
    Ok(())
}

async fn publish(ctx: &Context, game: &MushGame, notes: &[Note]) {
    let reference = game.object_ref(&());
    for note in notes {
        info!(reason = note.reason, message = %note.message, "event");
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.into(),
            note: Some(note.message.chars().take(1000).collect()),
            action: note.action.into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            warn!(reason = note.reason, error = %e, "could not publish an event");
        }
    }
}

pub fn error_policy(game: Arc<MushGame>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(game = %game.name_any(), error = %error, "reconcile failed");
    ctx.metrics
        .failures
        .with_label_values(&[error.metric_label()])
        .inc();
    Action::requeue(REQUEUE_ERROR)
}

/// What of a MushGame asks for work, as a hash for the watch's predicate filter: its spec (the
/// generation), the restart-request annotation (metadata, which does not move the generation) and
/// deletion. A status write, the operator's own included, changes none of them, so it does not
/// wake the controller; otherwise every status write (players and input lag move all the time)
/// would trigger a reconciliation that writes the status again. The children's and pods' watches
/// and the requeue timers keep the status fresh.
pub fn requested_work(game: &MushGame) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    game.metadata.generation.hash(&mut h);
    game.annotations().get(RESTART_ANNOTATION).hash(&mut h);
    game.metadata.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// Runs the controller until `shutdown` completes. `namespace`: watch one namespace, or all.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        match ns {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    let ours = || watcher::Config::default().labels("app.kubernetes.io/managed-by=mush-operator");
    let (games, writer) = reflector::store();
    let game_changes = watcher(
        api::<MushGame>(&client, &namespace),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .predicate_filter(requested_work, Default::default());
    Controller::for_stream(game_changes, games)
        .owns(api::<Deployment>(&client, &namespace), ours())
        .owns(api::<StatefulSet>(&client, &namespace), ours())
        .owns(api::<Service>(&client, &namespace), ours())
        .owns(api::<ConfigMap>(&client, &namespace), ours())
        .owns(api::<ServiceAccount>(&client, &namespace), ours())
        .owns(api::<Job>(&client, &namespace), ours())
        .owns(api::<PodDisruptionBudget>(&client, &namespace), ours())
        .owns(api::<NetworkPolicy>(&client, &namespace), ours())
        // Pods are not owned directly (ReplicaSets are); watch them for readiness and draining.
        .watches(api::<Pod>(&client, &namespace), ours(), |pod: Pod| {
            let game = pod.labels().get(GAME_LABEL).cloned();
            let ns = pod.namespace();
            game.zip(ns)
                .map(|(g, ns)| ObjectRef::<MushGame>::new(&g).within(&ns))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => debug!(game = %obj, "reconciled"),
                Err(e) => warn!(error = %e, "reconcile error"),
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_spec_change_a_restart_request_or_deletion_asks_for_work() {
        let mut game = crate::fixtures::tavern();
        let before = requested_work(&game);

        // The operator's own status write (and any other status change) is not a request.
        game.status = Some(MushGameStatus {
            players: Some(42),
            input_lag: Some(7),
            ..Default::default()
        });
        assert_eq!(requested_work(&game), before);
        game.annotations_mut().insert("note".into(), "someone's".into());
        assert_eq!(requested_work(&game), before, "other annotations");

        let mut spec_changed = game.clone();
        spec_changed.metadata.generation = Some(2);
        assert_ne!(requested_work(&spec_changed), before);

        let mut restart = game.clone();
        restart
            .annotations_mut()
            .insert(RESTART_ANNOTATION.into(), "2026-11-28T10:00:00Z".into());
        assert_ne!(requested_work(&restart), before);

        let mut deleted = game;
        deleted.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        assert_ne!(requested_work(&deleted), before);
    }
}
