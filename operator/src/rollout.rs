//! The two rolling operations, as pure state machines driven by what the operator observes.
//!
//! **Game-server restart / upgrade.** A change of the game-server's pod template (new image, a new
//! restart request, new settings) is a restart. The operator first checks Redis and Kafka, as the
//! API server answered this pass's applies of them (so one rolled by the same change counts as
//! settling, see `status::rollout_pending`); if either is not ready it refuses (`Progressing=False`,
//! reason `DependenciesNotReady`) and leaves the running game-server untouched. Otherwise it applies the new template; the Deployment's
//! `Recreate` strategy stops the old game-server (which commits and releases its lease on
//! SIGTERM) before the new one is created, and the new one reports ready only once it holds the
//! lease and has rebuilt its connection view from Redis. The restart record in status goes
//! `InProgress` → `Succeeded` (with start, end, how long input waited and how many connections
//! were restored) or `Failed` (crash loop, image pull error, or the Deployment's progress
//! deadline), reported once with a Warning event and `Degraded=True`, never retried in a loop:
//! the next change of the spec starts a new restart.
//!
//! **Gateway rollout.** The Deployment does the pod work (`maxUnavailable: 0`, so new gateways
//! are ready before old ones leave; each old one drains on SIGTERM within its grace period).
//! Here we follow it from the pods: new ready, old serving, old draining, and report it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::crd::{
    GameServerState, GameServerStatus, GatewayRollout, GatewaysStatus, RestartPhase, RestartReason,
    RestartRecord, RolloutPhase,
};
use crate::render::RESTART_TOKEN_ANNOTATION;
use crate::render::REVISION_ANNOTATION;
use crate::status::{
    Cond, DEGRADED, GAME_READY, GatewayPods, PROGRESSING, Reason, gateway_progress, pod_failure, pod_ready,
    pod_revision, pod_terminating,
};

/// An Event the controller publishes on the MushGame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub message: String,
}

impl Note {
    pub fn normal(reason: &'static str, action: &'static str, message: String) -> Self {
        Self {
            warning: false,
            reason,
            action,
            message,
        }
    }
    pub fn warning(reason: &'static str, action: &'static str, message: String) -> Self {
        Self {
            warning: true,
            reason,
            action,
            message,
        }
    }
}

/// What the game-server state machine sees.
pub struct GameInputs<'a> {
    pub desired_revision: &'a str,
    pub desired_image: &'a str,
    pub desired_token: &'a str,
    /// The game-server Deployment in the cluster, if any.
    pub live: Option<&'a Deployment>,
    /// The game-server pods.
    pub pods: &'a [&'a Pod],
    /// `Err(what is not ready)` when Redis or Kafka is not ready.
    pub dependencies: Result<(), String>,
    pub previous: Option<&'a GameServerStatus>,
    /// The previous status already carried `Progressing=False/DependenciesNotReady`.
    pub previously_refused: bool,
    pub now: Timestamp,
    /// `mush_game_restored_connections` of the ready game-server, when read.
    pub restored_connections: Option<i64>,
}

/// What to do, and what to report.
#[derive(Debug, Clone, PartialEq)]
pub struct GameDecision {
    /// Apply the rendered game-server Deployment now (false: a restart is being refused).
    pub apply: bool,
    pub status: GameServerStatus,
    pub ready: Cond,
    /// The game-server's say on `Progressing`, if it has one.
    pub progressing: Option<Cond>,
    /// The game-server's say on `Degraded`, if it has one.
    pub degraded: Option<Cond>,
    pub notes: Vec<Note>,
    /// Something is moving: look again soon.
    pub busy: bool,
    /// A ready game-server runs the wanted revision and no older one is left: what the spec asks
    /// of the game-server is what runs (not so while a restart is refused or under way, even with
    /// the old game-server still ready).
    pub spec_running: bool,
}

fn template_annotation<'a>(d: &'a Deployment, key: &str) -> Option<&'a str> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn live_image(d: &Deployment) -> Option<&str> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .as_deref()
}

fn seconds_between(from: &Time, to: Timestamp) -> i64 {
    (to.as_second() - from.0.as_second()).max(0)
}

/// Why the game-server is being restarted: `image`, `restartRequest` or `config`.
fn restart_reason(live: &Deployment, desired_image: &str, desired_token: &str) -> RestartReason {
    if live_image(live) != Some(desired_image) {
        RestartReason::Image
    } else if template_annotation(live, RESTART_TOKEN_ANNOTATION).unwrap_or_default() != desired_token {
        RestartReason::RestartRequest
    } else {
        RestartReason::Config
    }
}

/// The Deployment's controller says the `desired_revision` template missed its progress deadline.
///
/// Only a verdict on that template counts: a Deployment read before this pass's apply, or one
/// whose controller has not yet seen its latest spec (`observedGeneration` behind `generation`),
/// still carries the conditions of the template before, e.g. the deadline a previous, broken
/// version missed.
fn progress_deadline_exceeded(d: &Deployment, desired_revision: &str) -> bool {
    let status = d.status.as_ref();
    let of_desired = template_annotation(d, REVISION_ANNOTATION) == Some(desired_revision);
    let seen = match d.metadata.generation {
        Some(generation) => status.and_then(|s| s.observed_generation).unwrap_or(0) >= generation,
        None => true,
    };
    of_desired
        && seen
        && status.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "Progressing"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        })
}

/// What this pass does about the game-server's pod template.
enum TemplateStep {
    /// Creation, or the template is already the wanted one (re-applied to undo drift).
    Apply,
    /// The template changes: a restart begins now.
    Restart { record: RestartRecord, note: Note },
    /// The template would change, but Redis or Kafka is not ready: the running game-server is
    /// left as it is (`Progressing=False/DependenciesNotReady`, announced once).
    Refuse { progressing: Cond, note: Option<Note> },
}

fn template_step(i: &GameInputs) -> TemplateStep {
    let Some(live) = i.live else {
        return TemplateStep::Apply;
    };
    let live_rev = template_annotation(live, REVISION_ANNOTATION).unwrap_or_default();
    if live_rev == i.desired_revision {
        return TemplateStep::Apply;
    }
    let reason = restart_reason(live, i.desired_image, i.desired_token);
    match &i.dependencies {
        Err(what) => {
            let message = format!(
                "game-server restart ({reason}, revision {live_rev} -> {}) refused: {what}; \
                 the running game-server was not touched and the restart starts once they are ready",
                i.desired_revision
            );
            let note = (!i.previously_refused)
                .then(|| Note::warning("RestartRefused", "RestartGameServer", message.clone()));
            TemplateStep::Refuse {
                progressing: Cond::new(PROGRESSING, false, Reason::DependenciesNotReady, message),
                note,
            }
        }
        Ok(()) => TemplateStep::Restart {
            note: Note::normal(
                "RestartStarted",
                "RestartGameServer",
                format!(
                    "restarting the game-server ({reason}): revision {live_rev} -> {}; Redis and Kafka \
                     are ready, the old game-server stops before the new one starts",
                    i.desired_revision
                ),
            ),
            record: RestartRecord {
                phase: RestartPhase::InProgress,
                reason,
                from_revision: live_rev.to_owned(),
                to_revision: i.desired_revision.to_owned(),
                started_at: Time(i.now),
                ended_at: None,
                duration_seconds: None,
                input_wait_seconds: None,
                input_paused_at: None,
                restored_connections: None,
                message: None,
            },
        },
    }
}

/// The game-server pods, as the decisions read them.
struct GamePods<'a> {
    /// Not terminating.
    alive: Vec<&'a Pod>,
    /// Ready and not terminating.
    ready: i32,
    /// A pod of the wanted revision is ready.
    new_ready: bool,
    /// A pod of another revision is left (terminating or not).
    old_left: bool,
    /// Why a pod of the wanted revision cannot run, if one cannot.
    new_failure: Option<String>,
    /// Why any pod cannot run, if one cannot.
    any_failure: Option<String>,
}

impl<'a> GamePods<'a> {
    fn of(pods: &[&'a Pod], desired_revision: &str) -> Self {
        let alive: Vec<&Pod> = pods.iter().copied().filter(|p| !pod_terminating(p)).collect();
        let wanted = |p: &&Pod| pod_revision(p) == Some(desired_revision);
        Self {
            ready: alive.iter().filter(|p| pod_ready(p)).count() as i32,
            new_ready: alive.iter().any(|p| pod_ready(p) && wanted(p)),
            old_left: pods.iter().any(|p| !wanted(p)),
            new_failure: alive.iter().filter(|p| wanted(p)).find_map(|p| pod_failure(p)),
            any_failure: alive.iter().find_map(|p| pod_failure(p)),
            alive,
        }
    }

    /// The wanted revision runs and nothing older is left.
    fn spec_running(&self) -> bool {
        self.new_ready && !self.old_left
    }
}

/// Moves a restart of the wanted revision on from what the pods show: `Succeeded` once the new
/// game-server is ready and no old one is left; `Failed` when `failure` names why it cannot be
/// (announced once); otherwise still in progress, noting when input started to wait (no
/// game-server ready). Returns whether it is still moving.
fn follow_restart(
    r: &mut RestartRecord,
    pods: &GamePods,
    failure: Option<String>,
    i: &GameInputs,
    notes: &mut Vec<Note>,
) -> bool {
    if pods.spec_running() {
        let paused = r.input_paused_at.clone().unwrap_or_else(|| r.started_at.clone());
        r.phase = RestartPhase::Succeeded;
        r.ended_at = Some(Time(i.now));
        r.duration_seconds = Some(seconds_between(&r.started_at, i.now));
        r.input_wait_seconds = Some(seconds_between(&paused, i.now));
        r.restored_connections = i.restored_connections;
        r.message = None;
        notes.push(Note::normal(
            "RestartCompleted",
            "RestartGameServer",
            format!(
                "game-server revision {} ready after {}s; input waited about {}s{}",
                r.to_revision,
                r.duration_seconds.unwrap_or_default(),
                r.input_wait_seconds.unwrap_or_default(),
                match i.restored_connections {
                    Some(n) => format!("; {n} connections restored"),
                    None => String::new(),
                }
            ),
        ));
        return false;
    }
    if let Some(why) = failure {
        if r.phase != RestartPhase::Failed {
            notes.push(Note::warning(
                "RestartFailed",
                "RestartGameServer",
                format!("game-server revision {} failed: {why}", r.to_revision),
            ));
        }
        r.phase = RestartPhase::Failed;
        r.message = Some(why);
    } else if pods.ready == 0 && r.input_paused_at.is_none() {
        r.input_paused_at = Some(Time(i.now));
    }
    true
}

/// Why the new game-server cannot start, as far as this pass can tell. A restart this pass
/// starts has not run yet: nothing observed can say it failed.
fn restart_failure(i: &GameInputs, pods: &GamePods, started_now: bool) -> Option<String> {
    if started_now {
        return None;
    }
    pods.new_failure.clone().or_else(|| {
        i.live
            .is_some_and(|d| progress_deadline_exceeded(d, i.desired_revision))
            .then(|| "the new game-server was not ready within the progress deadline (300s)".to_owned())
    })
}

fn game_state(phase: Option<RestartPhase>, live: bool, pods: &GamePods) -> GameServerState {
    match phase {
        Some(RestartPhase::InProgress) => GameServerState::Restarting,
        Some(RestartPhase::Failed) => GameServerState::Failed,
        _ if pods.ready >= 1 => GameServerState::Running,
        _ if !live || pods.alive.is_empty() => GameServerState::Waiting,
        _ => GameServerState::Starting,
    }
}

fn game_ready_condition(live: bool, pods: &GamePods) -> Cond {
    let waiting = |message: &str| Cond::new(GAME_READY, false, Reason::WaitingForPods, message);
    if pods.ready >= 1 {
        Cond::new(
            GAME_READY,
            true,
            Reason::Running,
            format!("{} game-server ready (holds the lease)", pods.ready),
        )
    } else if !live {
        waiting("the game-server Deployment does not exist yet")
    } else if pods.alive.is_empty() {
        waiting("no game-server pod exists yet (can the cluster schedule pods?)")
    } else {
        waiting(
            "waiting for the game-server to be ready (it takes the lease and rebuilds its view from Redis)",
        )
    }
}

/// The game-server's say on `Progressing`: a refused restart, or one under way or failed.
fn game_progressing_condition(
    refused: Option<Cond>,
    phase: Option<RestartPhase>,
    record: Option<&RestartRecord>,
    pods: &GamePods,
) -> Option<Cond> {
    refused.or_else(|| match phase {
        Some(RestartPhase::InProgress) => Some(Cond::new(
            PROGRESSING,
            true,
            Reason::GameServerRestarting,
            if pods.old_left {
                "restarting the game-server: waiting for the old one to stop"
            } else {
                "restarting the game-server: waiting for the new one to be ready"
            },
        )),
        Some(RestartPhase::Failed) => Some(Cond::new(
            PROGRESSING,
            false,
            Reason::GameServerRestartFailed,
            record.and_then(|r| r.message.clone()).unwrap_or_default(),
        )),
        _ => None,
    })
}

/// The game-server's say on `Degraded`: a failed restart, or a pod that cannot run.
fn game_degraded_condition(
    phase: Option<RestartPhase>,
    record: Option<&RestartRecord>,
    pods: &GamePods,
) -> Option<Cond> {
    match phase {
        Some(RestartPhase::Failed) => Some(Cond::new(
            DEGRADED,
            true,
            Reason::GameServerRestartFailed,
            format!(
                "the new game-server does not start: {}; fix the spec (e.g. the image) to try again",
                record.and_then(|r| r.message.clone()).unwrap_or_default()
            ),
        )),
        _ => pods
            .any_failure
            .clone()
            .map(|why| Cond::new(DEGRADED, true, Reason::GameServerFailing, why)),
    }
}

pub fn game(i: &GameInputs) -> GameDecision {
    let mut notes = Vec::new();
    let mut record: Option<RestartRecord> = i.previous.and_then(|p| p.last_restart.clone());
    let mut refused: Option<Cond> = None;
    let step = template_step(i);
    let apply = !matches!(step, TemplateStep::Refuse { .. });
    let started_now = matches!(step, TemplateStep::Restart { .. });
    match step {
        TemplateStep::Apply => {}
        TemplateStep::Restart { record: r, note } => {
            notes.push(note);
            record = Some(r);
        }
        TemplateStep::Refuse { progressing, note } => {
            notes.extend(note);
            refused = Some(progressing);
        }
    }

    let pods = GamePods::of(i.pods, i.desired_revision);
    let mut busy = false;
    if let Some(r) = record.as_mut()
        && r.to_revision == i.desired_revision
        && (r.phase == RestartPhase::InProgress || r.phase == RestartPhase::Failed)
        && apply
    {
        let failure = restart_failure(i, &pods, started_now);
        busy = follow_restart(r, &pods, failure, i, &mut notes);
    }

    let phase = record
        .as_ref()
        .filter(|r| r.to_revision == i.desired_revision || refused.is_some())
        .map(|r| r.phase);
    let live = i.live.is_some();
    let revision = if apply {
        i.desired_revision.to_owned()
    } else {
        i.live
            .and_then(|d| template_annotation(d, REVISION_ANNOTATION))
            .unwrap_or_default()
            .to_owned()
    };
    GameDecision {
        apply,
        status: GameServerStatus {
            state: game_state(phase, live, &pods),
            ready_replicas: pods.ready,
            revision,
            restored_connections: i.previous.and_then(|p| p.restored_connections),
            reconciliation_seconds: i.previous.and_then(|p| p.reconciliation_seconds),
            last_restart: record.clone(),
        },
        ready: game_ready_condition(live, &pods),
        progressing: game_progressing_condition(refused.clone(), phase, record.as_ref(), &pods),
        degraded: game_degraded_condition(phase, record.as_ref(), &pods),
        notes,
        busy: busy || refused.is_some(),
        spec_running: pods.spec_running(),
    }
}

/// Follows a gateway rollout: starts one when the wanted revision changes, completes it when only
/// new, ready gateways remain and none is draining.
pub fn gateways(
    previous: Option<&GatewaysStatus>,
    revision: &str,
    pods: &GatewayPods,
    now: Timestamp,
) -> (Option<GatewayRollout>, Vec<Note>) {
    let mut notes = Vec::new();
    let previous_revision = previous.map(|p| p.revision.as_str()).unwrap_or_default();
    let mut rollout = previous.and_then(|p| p.rollout.clone());
    if !previous_revision.is_empty() && previous_revision != revision {
        notes.push(Note::normal(
            "GatewayRolloutStarted",
            "RollOutGateways",
            format!(
                "rolling out gateways {previous_revision} -> {revision}: new gateways start first, each old one \
                 drains its players before it stops"
            ),
        ));
        rollout = Some(GatewayRollout {
            phase: RolloutPhase::InProgress,
            revision: revision.to_owned(),
            started_at: Time(now),
            ended_at: None,
            progress: String::new(),
        });
    }
    if let Some(r) = rollout.as_mut()
        && r.phase == RolloutPhase::InProgress
        && r.revision == revision
    {
        r.progress = gateway_progress(pods);
        if pods.updated_ready >= pods.desired && pods.old == 0 && pods.draining.is_empty() {
            r.phase = RolloutPhase::Complete;
            r.ended_at = Some(Time(now));
            notes.push(Note::normal(
                "GatewayRolloutComplete",
                "RollOutGateways",
                format!(
                    "gateways at revision {revision}: {}/{} ready, none draining",
                    pods.updated_ready, pods.desired
                ),
            ));
        }
    }
    (rollout, notes)
}

/// Annotation the ReplicaSet controller reads when it scales down: pods with a lower cost go first.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The pod-deletion cost of a gateway holding `connections`: the count with all but its two
/// highest bits cleared (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, …). Scale-down then removes the
/// emptiest gateways first, so the fewest players have to reconnect; the rounding keeps the order
/// between gateways that differ clearly while a count moving by a player or two does not rewrite
/// the pod (Kubernetes asks not to update the annotation at the pace of a metric).
pub fn gateway_deletion_cost(connections: i64) -> i32 {
    let n = connections.clamp(0, i64::from(i32::MAX)) as u32;
    if n < 4 {
        return n as i32;
    }
    let top = 31 - n.leading_zeros();
    (n & !((1u32 << (top - 1)) - 1)) as i32
}

/// The gateways whose deletion cost should change, with the new value: every ready gateway whose
/// connections are known and whose annotation differs. A gateway not read (not ready, or its
/// metrics did not answer) keeps what it has.
pub fn deletion_cost_updates(
    gateways: &[&Pod],
    connections: &std::collections::BTreeMap<String, i64>,
) -> Vec<(String, i32)> {
    gateways
        .iter()
        .filter(|p| !pod_terminating(p))
        .filter_map(|p| {
            let name = p.metadata.name.as_deref()?;
            let cost = gateway_deletion_cost(*connections.get(name)?);
            let current = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(POD_DELETION_COST));
            (current.map(String::as_str) != Some(cost.to_string().as_str())).then(|| (name.to_owned(), cost))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn live(revision: &str, image: &str, conditions: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "g-game"},
            "spec": {"selector": {}, "template": {
                "metadata": {"annotations": {"mush.dev/revision": revision, "mush.dev/restart-token": ""}},
                "spec": {"containers": [{"name": "game-server", "image": image}]}}},
            "status": {"conditions": conditions}
        }))
        .unwrap()
    }

    fn inputs<'a>(
        live: &'a Deployment,
        previous: Option<&'a GameServerStatus>,
        deps: Result<(), String>,
    ) -> GameInputs<'a> {
        GameInputs {
            desired_revision: "new",
            desired_image: "game:2",
            desired_token: "",
            live: Some(live),
            pods: &[],
            dependencies: deps,
            previous,
            previously_refused: false,
            now: t(100),
            restored_connections: None,
        }
    }

    #[test]
    fn a_template_change_with_dependencies_down_is_refused_and_nothing_is_applied() {
        let d = live("old", "game:1", json!([]));
        let decision = game(&inputs(&d, None, Err("Kafka is not ready (topics)".into())));
        assert!(!decision.apply);
        let p = decision.progressing.unwrap();
        assert_eq!((p.status, p.reason), (false, Reason::DependenciesNotReady));
        assert!(p.message.contains("image") && p.message.contains("Kafka is not ready"));
        assert_eq!(decision.notes.len(), 1);
        assert_eq!(decision.status.revision, "old", "status names what still runs");

        let mut again = inputs(&d, None, Err("Kafka is not ready (topics)".into()));
        again.previously_refused = true;
        assert!(game(&again).notes.is_empty(), "refusal is announced once");
    }

    #[test]
    fn a_new_version_past_its_progress_deadline_is_a_failed_restart() {
        let before = live("old", "game:1", json!([]));
        let started = game(&inputs(&before, None, Ok(())));
        assert!(started.apply);
        assert_eq!(
            started.status.last_restart.as_ref().unwrap().phase,
            RestartPhase::InProgress
        );

        let stuck = live(
            "new",
            "game:2",
            json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]),
        );
        let failed = game(&inputs(&stuck, Some(&started.status), Ok(())));
        let record = failed.status.last_restart.unwrap();
        assert_eq!(record.phase, RestartPhase::Failed);
        assert!(record.message.unwrap().contains("progress deadline"));
        assert_eq!(failed.degraded.unwrap().reason, Reason::GameServerRestartFailed);
        assert_eq!(
            failed
                .notes
                .iter()
                .filter(|n| n.reason == "RestartFailed")
                .count(),
            1
        );
    }

    fn deadline_missed() -> serde_json::Value {
        json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    }

    #[test]
    fn a_restart_started_in_this_pass_is_never_judged_failed_in_it() {
        // The Deployment as read before this pass's apply: it still carries the deadline an earlier,
        // broken version missed, and a pod of the wanted revision lingers from an earlier attempt.
        let before = live("old", "game:1", deadline_missed());
        let lingering: Pod = serde_json::from_value(json!({
            "metadata": {"name": "g-game-x", "annotations": {"mush.dev/revision": "new"}},
            "status": {"containerStatuses": [{"name": "game-server", "ready": false, "restartCount": 3,
                "image": "game:2", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }))
        .unwrap();
        let pods = [&lingering];
        let mut i = inputs(&before, None, Ok(()));
        i.pods = &pods;
        let started = game(&i);
        assert!(started.apply);
        assert_eq!(
            started.status.last_restart.as_ref().unwrap().phase,
            RestartPhase::InProgress
        );
        assert!(
            !started.notes.iter().any(|n| n.reason == "RestartFailed"),
            "{:?}",
            started.notes
        );
        assert_eq!(started.progressing.unwrap().reason, Reason::GameServerRestarting);
    }

    #[test]
    fn a_deadline_counts_only_once_the_deployment_controller_has_seen_the_new_template() {
        let before = live("old", "game:1", json!([]));
        let started = game(&inputs(&before, None, Ok(())));
        // Applied, but the Deployment controller has not acted on generation 2 yet: the condition
        // is the one the previous template left.
        let mut applied = live("new", "game:2", deadline_missed());
        applied.metadata.generation = Some(2);
        applied.status.as_mut().unwrap().observed_generation = Some(1);
        let next = game(&inputs(&applied, Some(&started.status), Ok(())));
        assert_eq!(
            next.status.last_restart.as_ref().unwrap().phase,
            RestartPhase::InProgress
        );
        // Once it has, the deadline is the new template's.
        applied.status.as_mut().unwrap().observed_generation = Some(2);
        let failed = game(&inputs(&applied, Some(&next.status), Ok(())));
        assert_eq!(failed.status.last_restart.unwrap().phase, RestartPhase::Failed);
    }

    #[test]
    fn emptier_gateways_cost_less_to_delete_and_small_moves_do_not_rewrite_the_pod() {
        let costs: Vec<i32> = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 16, 23, 24, 100, 1000]
            .into_iter()
            .map(gateway_deletion_cost)
            .collect();
        assert_eq!(costs, [0, 1, 2, 3, 4, 4, 6, 6, 8, 8, 12, 16, 16, 24, 96, 768]);
        assert!(costs.windows(2).all(|w| w[0] <= w[1]), "never out of order");
        assert_eq!(gateway_deletion_cost(-3), 0);
        assert_eq!(
            gateway_deletion_cost(i64::MAX),
            1_610_612_736,
            "fits the annotation's int32"
        );
        // 100 players coming and going by a few keep the same cost.
        assert!((96..=127).all(|n| gateway_deletion_cost(n) == 96));
    }

    #[test]
    fn only_gateways_whose_cost_changes_are_patched() {
        let pod = |name: &str, cost: Option<&str>, terminating: bool| -> Pod {
            let mut p: Pod = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
            if let Some(c) = cost {
                p.metadata.annotations = Some([(POD_DELETION_COST.to_owned(), c.to_owned())].into());
            }
            if terminating {
                p.metadata.deletion_timestamp = Some(Time(t(0)));
            }
            p
        };
        let busy = pod("g-gateway-a", Some("16"), false);
        let emptied = pod("g-gateway-b", Some("16"), false);
        let new = pod("g-gateway-c", None, false);
        let unread = pod("g-gateway-d", None, false);
        let draining = pod("g-gateway-e", Some("4"), true);
        let pods = [&busy, &emptied, &new, &unread, &draining];
        let connections = [
            ("g-gateway-a".to_owned(), 17),
            ("g-gateway-b".to_owned(), 2),
            ("g-gateway-c".to_owned(), 0),
            ("g-gateway-e".to_owned(), 0),
        ]
        .into();
        assert_eq!(
            deletion_cost_updates(&pods, &connections),
            [("g-gateway-b".to_owned(), 2), ("g-gateway-c".to_owned(), 0)]
        );
    }

    #[test]
    fn a_gateway_rollout_is_complete_only_when_no_old_gateway_serves_or_drains() {
        let previous = GatewaysStatus {
            revision: "a".into(),
            ..Default::default()
        };
        let pods = |updated_ready, old, draining: &[&str]| GatewayPods {
            desired: 2,
            updated_ready,
            old,
            draining: draining.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let (r, notes) = gateways(Some(&previous), "b", &pods(0, 2, &[]), t(0));
        let r = r.unwrap();
        assert_eq!(
            (r.phase, notes[0].reason),
            (RolloutPhase::InProgress, "GatewayRolloutStarted")
        );
        let started = GatewaysStatus {
            revision: "b".into(),
            rollout: Some(r),
            ..Default::default()
        };
        let (r, _) = gateways(Some(&started), "b", &pods(2, 0, &["g-gateway-old"]), t(30));
        assert_eq!(r.unwrap().phase, RolloutPhase::InProgress, "still draining");
        let (r, notes) = gateways(Some(&started), "b", &pods(2, 0, &[]), t(60));
        let r = r.unwrap();
        assert_eq!((r.phase, r.ended_at), (RolloutPhase::Complete, Some(Time(t(60)))));
        assert_eq!(notes[0].reason, "GatewayRolloutComplete");
    }
}
