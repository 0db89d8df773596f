//! Pure: what the operator observed → `MushGame.status` (conditions and figures).
//!
//! Conditions follow the Kubernetes API conventions: one entry per type, `lastTransitionTime`
//! kept while the status stays the same, and a reason and message that say what is being waited
//! for. Nothing here assumes pods actually run: on a cluster that cannot schedule them, the
//! status says so.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::{GatewayRollout, GatewaysStatus, MushGameSpec, MushGameStatus, RolloutPhase};
use crate::render::{COMPONENT_LABEL, Component, Names, REVISION_ANNOTATION};

pub const READY: &str = "Ready";
pub const REDIS_READY: &str = "RedisReady";
pub const KAFKA_READY: &str = "KafkaReady";
pub const GATEWAYS_READY: &str = "GatewaysReady";
pub const GAME_READY: &str = "GameReady";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The reasons of the conditions the operator reports, each written as its name (a
        /// Condition's `reason` is CamelCase by the Kubernetes API conventions).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Reason {
            $($(#[$doc])* $name,)*
        }

        impl Reason {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                }
            }
        }
    };
}

reasons! {
    // `Ready`
    /// `Ready=True`: the spec is running.
    Ready,
    /// `Ready=False` when everything is up but the spec does not run yet (a restart refused or
    /// under way, a gateway rollout).
    Updating,
    /// `Ready=False` while a dependency, the gateways or the game-server are not ready.
    Waiting,
    /// `Ready=False`: the spec breaks a rule only the operator checks.
    InvalidSpec,
    /// `Ready=False`, `RedisReady=False`, `KafkaReady=False`: a Secret the spec names is missing.
    SecretMissing,
    /// `Ready=False`: the API server refused a child.
    ApplyFailed,
    /// `Ready=False`: a child no longer wanted could not be read or deleted.
    PruneFailed,
    // `RedisReady`, `KafkaReady`
    /// External Redis or Kafka: the servers check the connection themselves.
    External,
    /// The StatefulSet does not exist yet.
    Creating,
    /// Pods not ready yet (also `GatewaysReady=False` and `GameReady=False`).
    WaitingForPods,
    /// The Redpanda broker is not ready yet.
    WaitingForBroker,
    /// The StatefulSet has not finished rolling out its latest spec.
    RollingOut,
    /// The topic Job has not succeeded yet.
    CreatingTopics,
    /// The topic Job failed.
    TopicsFailed,
    // `GatewaysReady`, `GameReady`
    /// Every gateway is ready.
    AllReady,
    /// A game-server is ready.
    Running,
    // `Progressing`
    /// `Progressing=False` when a restart waits for Redis or Kafka.
    DependenciesNotReady,
    /// A game-server restart is under way.
    GameServerRestarting,
    /// A game-server restart failed (also `Degraded=True`).
    GameServerRestartFailed,
    /// A gateway rollout is under way.
    GatewayRollout,
    /// Not ready yet, with nothing for the user to fix.
    WaitingForResources,
    /// Nothing in progress.
    Complete,
    // `Degraded`
    /// A game-server pod is stuck (crash loop, image pull).
    GameServerFailing,
    /// A gateway pod is stuck (crash loop, image pull).
    GatewayFailing,
    /// Something the user has to fix (the problems of `Ready=False`).
    InvalidConfiguration,
    /// No failures seen.
    AsExpected,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition before timestamps are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub type_: &'static str,
    pub status: bool,
    pub reason: Reason,
    pub message: String,
}

impl Cond {
    pub fn new(type_: &'static str, status: bool, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Something the user has to fix, with the condition reason that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub reason: Reason,
    pub message: String,
}

impl Problem {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

fn joined(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether Redis or Kafka can be relied on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub ready: bool,
    pub reason: Reason,
    pub message: String,
}

impl Dependency {
    fn new(ready: bool, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready,
            reason,
            message: message.into(),
        }
    }
}

// ---- pods -------------------------------------------------------------------------------------

/// The pods of one component (by their `app.kubernetes.io/component` label).
pub fn pods_of(pods: &[Pod], component: Component) -> Vec<&Pod> {
    pods.iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(COMPONENT_LABEL))
                .is_some_and(|c| c == component.as_str())
        })
        .collect()
}

pub fn pod_name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

pub fn pod_terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

pub fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Revision (pod template hash) a pod was created from.
pub fn pod_revision(p: &Pod) -> Option<&str> {
    p.metadata
        .annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)
        .map(String::as_str)
}

/// Why a pod cannot run, when a container is stuck in a state that will not heal by waiting.
pub fn pod_failure(p: &Pod) -> Option<String> {
    const STUCK: &[&str] = &[
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
    ];
    let statuses = p.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|cs| {
        let waiting = cs.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        STUCK.contains(&reason).then(|| {
            let detail = waiting.message.as_deref().unwrap_or("");
            format!("pod {} container {}: {reason} {detail}", pod_name(p), cs.name)
                .trim_end()
                .to_owned()
        })
    })
}

// ---- dependencies -----------------------------------------------------------------------------

fn sts_ready(sts: &StatefulSet) -> (i32, i32) {
    let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = sts.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
    (ready, want)
}

/// Why a StatefulSet has not finished rolling out its latest spec, or `None` once it has.
///
/// Ready pods alone do not say the spec runs: right after an apply that changed the spec (this
/// very reconciliation, whose answer carries the new `generation`), the pods are still the old
/// ones and still ready. Until the StatefulSet controller has seen the latest generation and
/// every pod runs the updated revision, a dependency is settling, not ready, so a game-server
/// restart does not start on top of a Redis or Redpanda that is about to restart itself.
pub fn rollout_pending(sts: &StatefulSet) -> Option<String> {
    let name = sts.metadata.name.as_deref().unwrap_or_default();
    let status = sts.status.as_ref();
    if let Some(generation) = sts.metadata.generation {
        let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
        if observed < generation {
            return Some(format!(
                "StatefulSet {name} has a new spec its controller has not acted on yet \
                 (generation {generation}, observed {observed})"
            ));
        }
    }
    let current = status.and_then(|s| s.current_revision.as_deref());
    let update = status.and_then(|s| s.update_revision.as_deref());
    if let (Some(current), Some(update)) = (current, update)
        && current != update
    {
        let (_, want) = sts_ready(sts);
        let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
        return Some(format!(
            "StatefulSet {name} is rolling out revision {update} ({updated}/{want} pods updated)"
        ));
    }
    None
}

/// Ready and settled (see [`rollout_pending`]), as one [`Dependency`].
fn stateful_dependency(
    sts: &StatefulSet,
    name: &str,
    what: &str,
    waiting_reason: Reason,
) -> Option<Dependency> {
    let (ready, want) = sts_ready(sts);
    if ready < want {
        return Some(Dependency::new(
            false,
            waiting_reason,
            format!("{ready}/{want} {what} pods ready (StatefulSet {name})"),
        ));
    }
    rollout_pending(sts).map(|why| Dependency::new(false, Reason::RollingOut, why))
}

/// The restart gate: `Err(what is not ready)` unless both Redis and Kafka are ready and settled.
pub fn dependencies_gate(redis: &Dependency, kafka: &Dependency) -> Result<(), String> {
    let mut waiting = Vec::new();
    if !redis.ready {
        waiting.push(format!("Redis is not ready ({})", redis.message));
    }
    if !kafka.ready {
        waiting.push(format!("Kafka is not ready ({})", kafka.message));
    }
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(waiting.join(", "))
    }
}

/// Redis readiness. Managed: its pod is ready (`redis-cli ping` answers). External: the Secret with
/// its URL exists; the connection itself is checked by the servers' own readiness.
pub fn redis_state(
    spec: &MushGameSpec,
    names: &Names,
    sts: Option<&StatefulSet>,
    missing: &[String],
) -> Dependency {
    if let Some(ext) = &spec.redis.external {
        return match missing.iter().find(|m| **m == ext.url_secret.name) {
            Some(name) => Dependency::new(
                false,
                Reason::SecretMissing,
                format!("Secret {name} (redis.external.urlSecret) does not exist"),
            ),
            None => Dependency::new(
                true,
                Reason::External,
                "external Redis: the servers check the connection in their readiness",
            ),
        };
    }
    match sts {
        None => Dependency::new(
            false,
            Reason::Creating,
            format!("StatefulSet {} does not exist yet", names.redis()),
        ),
        Some(sts) => stateful_dependency(sts, &names.redis(), "Redis", Reason::WaitingForPods)
            .unwrap_or_else(|| {
                let (ready, want) = sts_ready(sts);
                Dependency::new(true, Reason::Ready, format!("{ready}/{want} Redis pods ready"))
            }),
    }
}

/// Kafka readiness. Managed: the broker is ready and the topic Job has succeeded. External: the
/// Secrets it names exist.
pub fn kafka_state(
    spec: &MushGameSpec,
    names: &Names,
    sts: Option<&StatefulSet>,
    topics_job: Option<&Job>,
    missing: &[String],
) -> Dependency {
    if let Some(ext) = &spec.kafka.external {
        let mut refs: Vec<&str> = Vec::new();
        if let Some(sasl) = &ext.sasl {
            refs.push(&sasl.username_secret.name);
            refs.push(&sasl.password_secret.name);
        }
        if let Some(tls) = &ext.tls {
            refs.extend(tls.ca_secret.as_ref().map(|s| s.name.as_str()));
            refs.extend(tls.client_cert_secret_name.as_deref());
        }
        return match refs.iter().find(|r| missing.iter().any(|m| m == *r)) {
            Some(name) => Dependency::new(
                false,
                Reason::SecretMissing,
                format!("Secret {name} (kafka.external) does not exist"),
            ),
            None => Dependency::new(
                true,
                Reason::External,
                format!(
                    "external Kafka at {}: the servers check the connection in their readiness",
                    ext.bootstrap_servers
                ),
            ),
        };
    }
    let Some(sts) = sts else {
        return Dependency::new(
            false,
            Reason::Creating,
            format!("StatefulSet {} does not exist yet", names.kafka()),
        );
    };
    if let Some(waiting) = stateful_dependency(sts, &names.kafka(), "Redpanda", Reason::WaitingForBroker) {
        return waiting;
    }
    let Some(job) = topics_job else {
        return Dependency::new(
            false,
            Reason::CreatingTopics,
            "the topic-creation Job does not exist yet",
        );
    };
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let status = job.status.as_ref();
    if status.and_then(|s| s.succeeded).unwrap_or(0) >= 1 {
        return Dependency::new(true, Reason::Ready, "broker ready, topics created");
    }
    let failed = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Failed" && c.status == "True"));
    if failed {
        return Dependency::new(
            false,
            Reason::TopicsFailed,
            format!("Job {job_name} failed to create the topics: see `kubectl logs job/{job_name}`"),
        );
    }
    Dependency::new(
        false,
        Reason::CreatingTopics,
        format!("waiting for Job {job_name} to create the topics"),
    )
}

// ---- gateways ---------------------------------------------------------------------------------

/// The gateways as seen through their pods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayPods {
    pub desired: i32,
    /// Ready, not terminating (any revision).
    pub ready: i32,
    /// Ready, not terminating, current revision.
    pub updated_ready: i32,
    /// Not terminating, current revision (ready or not).
    pub updated: i32,
    /// Not terminating, older revision.
    pub old: i32,
    /// Terminating: draining their players.
    pub draining: Vec<String>,
    /// Pods stuck (crash loop, image pull).
    pub failures: Vec<String>,
    pub total: usize,
}

pub fn gateway_pods(desired: i32, revision: &str, pods: &[&Pod]) -> GatewayPods {
    let mut g = GatewayPods {
        desired,
        total: pods.len(),
        ..Default::default()
    };
    for p in pods {
        if pod_terminating(p) {
            g.draining.push(pod_name(p));
            continue;
        }
        let current = pod_revision(p) == Some(revision);
        let ready = pod_ready(p);
        g.ready += i32::from(ready);
        g.updated += i32::from(current);
        g.updated_ready += i32::from(current && ready);
        g.old += i32::from(!current);
        g.failures.extend(pod_failure(p));
    }
    g.draining.sort();
    g
}

pub fn gateway_progress(g: &GatewayPods) -> String {
    format!(
        "{}/{} new gateways ready, {} old serving, {} draining",
        g.updated_ready,
        g.desired,
        g.old,
        g.draining.len()
    )
}

// ---- assembling -------------------------------------------------------------------------------

/// What the spec asks for that does not run yet, while everything is up: `Ready` means "the spec
/// is running", so `kubectl wait --for=condition=Ready` after a change waits for the change, not
/// only for the old pods to be ready.
fn spec_not_running(game: &crate::rollout::GameDecision, g: &GatewayPods) -> Vec<String> {
    let mut pending = Vec::new();
    if !game.spec_running {
        pending.push(match &game.progressing {
            Some(p) => p.message.clone(),
            None => "the game-server's wanted revision is not ready yet".to_owned(),
        });
    }
    if g.updated_ready < g.desired || g.old > 0 {
        pending.push(format!("gateways: {}", gateway_progress(g)));
    }
    pending
}

/// Everything the status is computed from.
pub struct StatusInputs<'a> {
    pub previous: Option<&'a MushGameStatus>,
    pub generation: Option<i64>,
    pub now: Timestamp,
    pub names: &'a Names,
    /// Problems only the operator can see (missing Secrets, invalid combinations, objects the
    /// API server refused), each with the reason reported in `Ready`.
    pub problems: &'a [Problem],
    pub redis: &'a Dependency,
    pub kafka: &'a Dependency,
    pub gateway_deployment: Option<&'a Deployment>,
    pub gateways: &'a GatewayPods,
    pub gateway_revision: &'a str,
    pub gateway_rollout: Option<GatewayRollout>,
    pub gateway_connections: Option<i64>,
    pub game: &'a crate::rollout::GameDecision,
    pub players: Option<i64>,
    /// Input events waiting in Kafka, summed over the input partitions (see [`input_lag`]).
    pub input_lag: Option<i64>,
}

fn gateways_condition(g: &GatewayPods, deployment: Option<&Deployment>, names: &Names) -> Cond {
    if g.ready >= g.desired && g.desired > 0 {
        return Cond::new(
            GATEWAYS_READY,
            true,
            Reason::AllReady,
            format!("{}/{} gateways ready", g.ready, g.desired),
        );
    }
    let message = if g.total == 0 {
        let why = match deployment {
            None => format!("Deployment {} does not exist yet", names.gateway()),
            Some(_) => format!(
                "no gateway pods exist yet: waiting for Deployment {} to create them (can the cluster schedule pods?)",
                names.gateway()
            ),
        };
        format!("0/{} gateways ready: {why}", g.desired)
    } else {
        format!(
            "{}/{} gateways ready ({})",
            g.ready,
            g.desired,
            gateway_progress(g)
        )
    };
    Cond::new(GATEWAYS_READY, false, Reason::WaitingForPods, message)
}

/// `Ready`: the first problem's reason with every problem; else "the spec is running" once every
/// part is ready and runs what the spec asks; else what does not run yet, or what is waited for.
fn ready_condition(problems: &[Problem], parts: &[&Cond], not_running: &[String], g: &GatewayPods) -> Cond {
    if let Some(first) = problems.first() {
        return Cond::new(READY, false, first.reason, joined(problems));
    }
    if !parts.iter().all(|c| c.status) {
        let waiting: Vec<String> = parts
            .iter()
            .filter(|c| !c.status)
            .map(|c| format!("{} ({})", c.type_.trim_end_matches("Ready"), c.message))
            .collect();
        return Cond::new(
            READY,
            false,
            Reason::Waiting,
            format!("waiting for: {}", waiting.join("; ")),
        );
    }
    if not_running.is_empty() {
        Cond::new(
            READY,
            true,
            Reason::Ready,
            format!(
                "{}/{} gateways ready, game-server running; the spec is running",
                g.ready, g.desired
            ),
        )
    } else {
        Cond::new(
            READY,
            false,
            Reason::Updating,
            format!("the spec is not running yet: {}", not_running.join("; ")),
        )
    }
}

/// `Progressing`: the game-server's say first, then a gateway rollout, then waiting for resources
/// (not ready with nothing for the user to fix).
fn progressing_condition(
    game: &crate::rollout::GameDecision,
    rollout: Option<&GatewayRollout>,
    ready: &Cond,
    problems: &[Problem],
) -> Cond {
    if let Some(c) = &game.progressing {
        return c.clone();
    }
    match rollout {
        Some(r) if r.phase == RolloutPhase::InProgress => Cond::new(
            PROGRESSING,
            true,
            Reason::GatewayRollout,
            format!("rolling out gateways: {}", r.progress),
        ),
        _ if !ready.status && problems.is_empty() => Cond::new(
            PROGRESSING,
            true,
            Reason::WaitingForResources,
            ready.message.clone(),
        ),
        _ => Cond::new(PROGRESSING, false, Reason::Complete, "nothing in progress"),
    }
}

/// `Degraded`: the game-server's say first, then gateways that cannot run, then the problems.
fn degraded_condition(game: &crate::rollout::GameDecision, g: &GatewayPods, problems: &[Problem]) -> Cond {
    if let Some(c) = &game.degraded {
        c.clone()
    } else if !g.failures.is_empty() {
        Cond::new(DEGRADED, true, Reason::GatewayFailing, g.failures.join("; "))
    } else if !problems.is_empty() {
        Cond::new(DEGRADED, true, Reason::InvalidConfiguration, joined(problems))
    } else {
        Cond::new(DEGRADED, false, Reason::AsExpected, "no failures seen")
    }
}

fn gateways_status(i: &StatusInputs) -> GatewaysStatus {
    let g = i.gateways;
    GatewaysStatus {
        summary: format!("{}/{}", g.ready, g.desired),
        desired: g.desired,
        ready: g.ready,
        updated: g.updated,
        draining: g.draining.len() as i32,
        draining_pods: g.draining.clone(),
        connections: i.gateway_connections,
        revision: i.gateway_revision.to_owned(),
        rollout: i.gateway_rollout.clone(),
    }
}

pub fn compute(i: &StatusInputs) -> MushGameStatus {
    let g = i.gateways;
    let gateways_cond = gateways_condition(g, i.gateway_deployment, i.names);
    let dep_cond = |t: &'static str, d: &Dependency| Cond::new(t, d.ready, d.reason, d.message.clone());
    let redis_cond = dep_cond(REDIS_READY, i.redis);
    let kafka_cond = dep_cond(KAFKA_READY, i.kafka);
    let game_cond = i.game.ready.clone();
    let ready_cond = ready_condition(
        i.problems,
        &[&redis_cond, &kafka_cond, &gateways_cond, &game_cond],
        &spec_not_running(i.game, g),
        g,
    );
    let progressing = progressing_condition(i.game, i.gateway_rollout.as_ref(), &ready_cond, i.problems);
    let degraded = degraded_condition(i.game, g, i.problems);
    let conditions = merge_conditions(
        i.previous.map(|s| s.conditions.as_slice()).unwrap_or_default(),
        vec![
            ready_cond,
            redis_cond,
            kafka_cond,
            gateways_cond,
            game_cond,
            progressing,
            degraded,
        ],
        i.generation,
        i.now,
    );
    MushGameStatus {
        observed_generation: i.generation,
        conditions,
        players: i.players,
        input_lag: i.input_lag,
        gateways: Some(gateways_status(i)),
        game_server: Some(i.game.status.clone()),
    }
}

/// Conditions with timestamps: `lastTransitionTime` moves only when the status flips.
pub fn merge_conditions(
    previous: &[Condition],
    new: Vec<Cond>,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    new.into_iter()
        .map(|c| {
            let status = if c.status { "True" } else { "False" }.to_owned();
            let last = previous
                .iter()
                .find(|p| p.type_ == c.type_ && p.status == status)
                .map(|p| p.last_transition_time.clone())
                .unwrap_or(Time(now));
            Condition {
                type_: c.type_.to_owned(),
                status,
                reason: c.reason.as_str().to_owned(),
                message: c.message,
                observed_generation: generation,
                last_transition_time: last,
            }
        })
        .collect()
}

/// The condition of `type_` in a status, if any.
pub fn condition<'a>(status: Option<&'a MushGameStatus>, type_: &str) -> Option<&'a Condition> {
    status?.conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::GameServerStatus;
    use serde_json::json;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let first = merge_conditions(
            &[],
            vec![Cond::new(READY, false, Reason::Waiting, "a")],
            Some(1),
            t(0),
        );
        let same = merge_conditions(
            &first,
            vec![Cond::new(READY, false, Reason::Waiting, "b")],
            Some(2),
            t(10),
        );
        assert_eq!(
            same[0].last_transition_time,
            Time(t(0)),
            "same status keeps its time"
        );
        assert_eq!(same[0].message, "b");
        assert_eq!(same[0].observed_generation, Some(2));
        let flipped = merge_conditions(
            &same,
            vec![Cond::new(READY, true, Reason::Ready, "c")],
            Some(2),
            t(20),
        );
        assert_eq!(flipped[0].last_transition_time, Time(t(20)));
        assert_eq!(flipped[0].status, "True");
        assert_eq!(flipped[0].reason, "Ready", "the reason is written as its name");
    }

    #[test]
    fn the_input_lag_lands_in_the_status_and_is_left_out_when_unknown() {
        // It lands in the status as `inputLag`, and is left out when unknown.
        let names = Names::new("g");
        let dep = Dependency::new(true, Reason::Ready, "ready");
        let gateways = GatewayPods {
            desired: 1,
            ready: 1,
            updated_ready: 1,
            updated: 1,
            total: 1,
            ..Default::default()
        };
        let game = crate::rollout::GameDecision {
            apply: true,
            status: GameServerStatus::default(),
            ready: Cond::new(GAME_READY, true, Reason::Running, "game-server ready"),
            progressing: None,
            degraded: None,
            notes: Vec::new(),
            busy: false,
            spec_running: true,
        };
        let status = |lag: Option<i64>| {
            compute(&StatusInputs {
                previous: None,
                generation: Some(1),
                now: t(0),
                names: &names,
                problems: &[],
                redis: &dep,
                kafka: &dep,
                gateway_deployment: None,
                gateways: &gateways,
                gateway_revision: "r",
                gateway_rollout: None,
                gateway_connections: None,
                game: &game,
                players: Some(12),
                input_lag: lag,
            })
        };
        let known = status(Some(12));
        assert_eq!(known.input_lag, Some(12));
        assert_eq!(serde_json::to_value(&known).unwrap()["inputLag"], json!(12));
        let unknown = status(None);
        assert_eq!(unknown.input_lag, None);
        let unknown = serde_json::to_value(&unknown).unwrap();
        assert!(unknown.get("inputLag").is_none(), "absent, not 0: {unknown}");
        assert_eq!(unknown["players"], json!(12));
    }

    #[test]
    fn ready_means_the_spec_is_running_not_only_that_the_old_pods_are_up() {
        let names = Names::new("g");
        let dep = Dependency::new(true, Reason::Ready, "ready");
        let all_new = GatewayPods {
            desired: 2,
            ready: 2,
            updated_ready: 2,
            updated: 2,
            total: 2,
            ..Default::default()
        };
        let game = |spec_running: bool, progressing: Option<Cond>| crate::rollout::GameDecision {
            apply: true,
            status: GameServerStatus::default(),
            ready: Cond::new(GAME_READY, true, Reason::Running, "1 game-server ready"),
            progressing,
            degraded: None,
            notes: Vec::new(),
            busy: false,
            spec_running,
        };
        let ready = |game: &crate::rollout::GameDecision, gateways: &GatewayPods| {
            let s = compute(&StatusInputs {
                previous: None,
                generation: Some(2),
                now: t(0),
                names: &names,
                problems: &[],
                redis: &dep,
                kafka: &dep,
                gateway_deployment: None,
                gateways,
                gateway_revision: "r",
                gateway_rollout: None,
                gateway_connections: None,
                game,
                players: None,
                input_lag: None,
            });
            let c = condition(Some(&s), READY).unwrap().clone();
            (c.status, c.reason, c.message)
        };

        let running = game(true, None);
        assert_eq!(ready(&running, &all_new).0, "True");

        // A restart just started: the old game-server is still ready, the new revision is not.
        let restarting = game(
            false,
            Some(Cond::new(
                PROGRESSING,
                true,
                Reason::GameServerRestarting,
                "restarting the game-server: waiting for the old one to stop",
            )),
        );
        let (status, reason, message) = ready(&restarting, &all_new);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", Reason::Updating.as_str())
        );
        assert!(message.contains("waiting for the old one to stop"), "{message}");

        // A refused upgrade keeps the old revision running: not the spec.
        let refused = game(
            false,
            Some(Cond::new(
                PROGRESSING,
                false,
                Reason::DependenciesNotReady,
                "game-server restart (image) refused: Redis is not ready",
            )),
        );
        let (status, _, message) = ready(&refused, &all_new);
        assert_eq!(status, "False");
        assert!(message.contains("refused"), "{message}");

        // Gateways: an old one still serving is not the spec either.
        let rolling = GatewayPods {
            updated_ready: 1,
            updated: 1,
            old: 1,
            ..all_new.clone()
        };
        let (status, reason, message) = ready(&running, &rolling);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", Reason::Updating.as_str())
        );
        assert!(
            message.contains("1/2 new gateways ready, 1 old serving"),
            "{message}"
        );
    }

    #[test]
    fn managed_kafka_is_ready_only_once_the_broker_is_up_and_the_topics_exist() {
        let spec = MushGameSpec::default();
        let names = Names::new("g");
        let sts = |ready: i32| -> StatefulSet {
            serde_json::from_value(
                json!({"spec": {"replicas": 1, "selector": {}, "serviceName": "g-kafka",
                "template": {}}, "status": {"replicas": 1, "readyReplicas": ready}}),
            )
            .unwrap()
        };
        let job = |status: serde_json::Value| -> Job {
            serde_json::from_value(json!({"metadata": {"name": "g-topics-1"}, "status": status})).unwrap()
        };
        let k = |s: Option<&StatefulSet>, j: Option<&Job>| kafka_state(&spec, &names, s, j, &[]);
        assert_eq!(k(None, None).reason, Reason::Creating);
        assert_eq!(k(Some(&sts(0)), None).reason, Reason::WaitingForBroker);
        assert_eq!(k(Some(&sts(1)), None).reason, Reason::CreatingTopics);
        assert_eq!(
            k(Some(&sts(1)), Some(&job(json!({"active": 1})))).reason,
            Reason::CreatingTopics
        );
        let failed = job(json!({"conditions": [{"type": "Failed", "status": "True"}]}));
        let d = k(Some(&sts(1)), Some(&failed));
        assert_eq!(d.reason, Reason::TopicsFailed);
        assert!(d.message.contains("kubectl logs job/g-topics-1"));
        let done = k(Some(&sts(1)), Some(&job(json!({"succeeded": 1}))));
        assert!(done.ready);
    }

    #[test]
    fn a_dependency_whose_spec_changed_is_settling_not_ready_while_its_old_pod_is_still_ready() {
        let spec = MushGameSpec::default();
        let names = Names::new("g");
        let sts = |name: &str, observed: i64, current: &str, update: &str| -> StatefulSet {
            serde_json::from_value(json!({
                "metadata": {"name": name, "generation": 3},
                "spec": {"replicas": 1, "selector": {}, "serviceName": name, "template": {}},
                "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 0,
                           "observedGeneration": observed,
                           "currentRevision": current, "updateRevision": update}
            }))
            .unwrap()
        };
        let topics: Job =
            serde_json::from_value(json!({"metadata": {"name": "g-topics-1"}, "status": {"succeeded": 1}}))
                .unwrap();

        // The API server's answer to this pass's apply: a new generation, not yet acted on.
        let applied = sts("g-redis", 2, "g-redis-1", "g-redis-1");
        let redis = redis_state(&spec, &names, Some(&applied), &[]);
        assert_eq!((redis.ready, redis.reason), (false, Reason::RollingOut));
        assert!(
            redis.message.contains("generation 3, observed 2"),
            "{}",
            redis.message
        );
        // Acted on, but the pod is still the old revision.
        let rolling = sts("g-kafka", 3, "g-kafka-1", "g-kafka-2");
        let kafka = kafka_state(&spec, &names, Some(&rolling), Some(&topics), &[]);
        assert_eq!((kafka.ready, kafka.reason), (false, Reason::RollingOut));
        assert!(kafka.message.contains("g-kafka-2"), "{}", kafka.message);

        let gate = dependencies_gate(&redis, &kafka).unwrap_err();
        assert!(
            gate.contains("Redis is not ready") && gate.contains("Kafka is not ready"),
            "{gate}"
        );

        // Settled: every pod on the updated revision, the latest generation seen.
        let settled_redis = redis_state(&spec, &names, Some(&sts("g-redis", 3, "r2", "r2")), &[]);
        let settled_kafka = kafka_state(
            &spec,
            &names,
            Some(&sts("g-kafka", 3, "k2", "k2")),
            Some(&topics),
            &[],
        );
        assert!(settled_redis.ready && settled_kafka.ready);
        assert_eq!(dependencies_gate(&settled_redis, &settled_kafka), Ok(()));
    }

    #[test]
    fn a_stuck_container_is_named_with_its_reason() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "g-game-1"},
            "status": {"containerStatuses": [{"name": "game-server", "ready": false, "restartCount": 0,
                "image": "x", "imageID": "", "state": {"waiting": {"reason": "ImagePullBackOff",
                "message": "no such image"}}}]}
        }))
        .unwrap();
        assert_eq!(
            pod_failure(&p).as_deref(),
            Some("pod g-game-1 container game-server: ImagePullBackOff no such image")
        );
        let starting: Pod = serde_json::from_value(json!({
            "metadata": {"name": "g-game-1"},
            "status": {"containerStatuses": [{"name": "game-server", "ready": false, "restartCount": 0,
                "image": "x", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]}
        }))
        .unwrap();
        assert_eq!(pod_failure(&starting), None, "starting is not failing");
    }
}
