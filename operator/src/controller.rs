//! The reconciler: observe (`observe`: every read) → plan (`plan`: pure, every decision, from the
//! pure rendering in `render`, the state machines in `rollout`, `prune` and `status`) → act
//! (`act`: server-side apply with one field manager, the generated Secrets, the deletes, the
//! status, Events). See [`reconcile`] for the order of the writes.
//!
//! No finalizer: everything the operator creates carries an owner reference to the MushGame, so
//! Kubernetes' garbage collector removes it when the MushGame goes (the data volumes of Redis and
//! Redpanda are deliberately kept, see `render::kafka::claim_template`). Nothing lives outside
//! the cluster's ownership graph that would need cleaning up.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use tracing::{debug, warn};

use crate::act;
use crate::crd::{MushGame, RESTART_ANNOTATION};
use crate::metrics::OperatorMetrics;
use crate::observe::observe;
use crate::plan::{Desired, plan};
use crate::render::{FIELD_MANAGER, GAME_LABEL, Names, RenderOptions};

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
    /// Read players and connections from the pods' status documents (`/status`) through the API
    /// server's pod proxy.
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
    #[error("reading {kind} {name}: {}", brief(source))]
    Read {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("applying {kind} {name}: {}", brief(source))]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "deleting {kind} {name}, which the spec no longer asks for: {}",
        brief(source)
    )]
    Delete {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("creating the generated Secret {name}: {}", brief(source))]
    CreateSecret {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing the status of MushGame {name}: {}", brief(source))]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// What the API server said, for status conditions, Events and logs: its message and reason
/// (`kube::Error`'s own text appends a debug dump of the whole answer).
pub fn brief(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => match status.reason.as_str() {
            "" => status.message.clone(),
            reason => format!("{} ({reason}, {})", status.message, status.code),
        },
        other => other.to_string(),
    }
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

/// One reconciliation of one MushGame: observe, plan, act.
///
/// The API server's answers to the applies are observations the plan needs (the restart gate
/// judges Redis and Kafka from them: a spec change that rolls them in this pass shows there as a
/// generation their controller has not acted on, so the game-server restart waits until they
/// have settled instead of starting on top of their own restart), and what it refuses goes into
/// the status. So the pass plans three times from what it has seen so far, acting in between:
///
/// 1. the gateways' deletion costs, the missing generated Secrets (before the pods that read
///    them) and every child but the game-server;
/// 2. with their answers: the game-server, when the restart gate lets it, then the deletes of
///    what the spec no longer asks for (last, so that what replaces a pruned child is in place
///    before it goes);
/// 3. with every answer: the status and the Events.
///
/// A child the API server refuses (e.g. an immutable field changed) does not stop the others; it
/// is reported in status and as an Event, and the reconciliation counts as failed.
pub async fn reconcile(game: Arc<MushGame>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.start();
    let ns = game.namespace().ok_or(Error::MissingNamespace)?;
    if game.metadata.deletion_timestamp.is_some() {
        // Owner references let the garbage collector remove the children.
        return Ok(Action::await_change());
    }
    let now = ctx.clock.now();
    let client = &ctx.client;
    let names = Names::new(&game.name_any());
    let desired = Desired::of(&game, &ctx.render_options);
    let mut seen = observe(&ctx, &game, &ns, &desired).await?;

    let first = plan(&game, &desired, &seen, now);
    act::mark_deletion_costs(client, &ns, &first.deletion_costs).await;
    act::create_secrets(client, &ns, &first.create_secrets, &mut seen.answers).await;
    act::apply_children(client, &ns, &names, &first.apply, &mut seen).await;

    let second = plan(&game, &desired, &seen, now);
    if let Some(game_server) = second.game_server {
        act::apply_game_server(client, &ns, game_server, &mut seen.answers).await;
    }
    act::prune(client, &ns, &second.prune, &mut seen.answers).await;

    let last = plan(&game, &desired, &seen, now);
    if last.restart_started {
        ctx.metrics.restarts_started.inc();
    }
    if last.restart_refused {
        ctx.metrics.restarts_refused.inc();
    }
    if last.status_changed {
        act::patch_status(client, &ns, &game.name_any(), &last.status).await?;
    }
    act::publish(&ctx, &game, &last.events).await;
    match seen.into_first_failure() {
        Some(e) => Err(e),
        None => Ok(Action::requeue(last.requeue)),
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

/// Lists one MushGame in any namespace: fails when the CRD is not installed (or the operator may
/// not list MushGames), which the operator checks before it stands for leader.
pub async fn check_crd_installed(client: &Client) -> Result<(), kube::Error> {
    Api::<MushGame>::all(client.clone())
        .list(&ListParams::default().limit(1))
        .await
        .map(|_| ())
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
    use crate::crd::MushGameStatus;

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
