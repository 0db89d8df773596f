//! Plan: pure, the MushGame and what was observed → what to write and what to report.
//!
//! [`plan`] takes no client and awaits nothing: every decision of a reconciliation is made here
//! from the MushGame, its rendering ([`Desired`]) and [`Observed`], and the controller only
//! carries the [`Plan`] out. The API server's answers to a pass's own writes are observations
//! too, and some decisions need them (the game-server restart waits for a Redis or Redpanda
//! that the same pass rolls; the status reports what was refused), so the controller plans again
//! after each step whose answers matter (see `controller::reconcile`); each plan is this same
//! function of what has been observed so far.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::controller::{Error, REQUEUE_BUSY, REQUEUE_IDLE};
use crate::crd::{MushGame, MushGameStatus, RolloutPhase};
use crate::observe::{ApplyAnswer, Observed};
use crate::prune::{self, Owned};
use crate::render::{
    Child, Component, GeneratedSecret, Names, REVISION_ANNOTATION, RenderOptions, Rendered, render_with,
    restart_token, spec_errors,
};
use crate::rollout::{self, GameDecision, GameInputs, Note};
use crate::status::{
    self, Dependency, GatewayPods, PROGRESSING, Problem, READY, Reason, StatusInputs, pods_of,
};

/// What the spec asks for: its rendering, or the problems that keep it from being rendered.
#[derive(Debug)]
pub struct Desired {
    /// The rules the spec breaks (empty when `rendered` is there).
    pub problems: Vec<Problem>,
    pub rendered: Option<Rendered>,
}

impl Desired {
    pub fn of(game: &MushGame, options: &RenderOptions) -> Self {
        let problems: Vec<Problem> = spec_errors(&game.spec)
            .into_iter()
            .map(|m| Problem::new(Reason::InvalidSpec, m))
            .collect();
        let rendered = problems
            .is_empty()
            .then(|| render_with(game, options).expect("spec checked above"));
        Self { problems, rendered }
    }
}

/// What one reconciliation writes and reports.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Gateways whose pod-deletion cost changes (best effort: see `rollout::gateway_deletion_cost`).
    pub deletion_costs: Vec<(String, i32)>,
    /// Generated Secrets to create, before the pods that read them.
    pub create_secrets: Vec<&'a GeneratedSecret>,
    /// Every child but the game-server, in render order (server-side apply).
    pub apply: Vec<&'a Child>,
    /// The game-server, applied after `apply` was answered, when the restart gate lets it.
    pub game_server: Option<&'a Child>,
    /// What the game owns that the spec no longer asks for: deleted last, so that what replaces
    /// a pruned child is in place before it goes.
    pub prune: Vec<Owned>,
    pub status: MushGameStatus,
    /// `status` differs from the MushGame's (writing an unchanged status would only wake the
    /// watch on MushGames again).
    pub status_changed: bool,
    /// Events to publish on the MushGame.
    pub events: Vec<Note>,
    /// When to look again, unless the reconciliation failed.
    pub requeue: Duration,
    /// A game-server restart starts, or is refused (for the operator's metrics).
    pub restart_started: bool,
    pub restart_refused: bool,
}

/// The game-server revision the pass works towards: the rendered one; with an invalid spec,
/// nothing is applied, so the one that runs.
pub fn wanted_game_revision(desired: &Desired, live: Option<&Deployment>) -> String {
    match &desired.rendered {
        Some(r) => r.game_revision.clone(),
        None => live
            .and_then(|d| d.spec.as_ref()?.template.metadata.as_ref()?.annotations.as_ref())
            .and_then(|a| a.get(REVISION_ANNOTATION).cloned())
            .unwrap_or_default(),
    }
}

/// Everything the status and the game-server decision read, derived once.
struct Situation<'o> {
    names: Names,
    game_pods: Vec<&'o Pod>,
    gateway_pods: Vec<&'o Pod>,
    game_revision: String,
    gateway_revision: String,
    redis: Dependency,
    kafka: Dependency,
}

impl<'o> Situation<'o> {
    fn of(game: &MushGame, desired: &Desired, seen: &'o Observed) -> Self {
        let names = Names::new(&game.name_any());
        let redis = status::redis_state(&game.spec, &names, seen.redis.as_ref(), &seen.missing_secrets);
        let kafka = status::kafka_state(
            &game.spec,
            &names,
            seen.kafka.as_ref(),
            seen.topics.as_ref(),
            &seen.missing_secrets,
        );
        Self {
            game_pods: pods_of(&seen.pods, Component::Game),
            gateway_pods: pods_of(&seen.pods, Component::Gateway),
            game_revision: wanted_game_revision(desired, seen.game.as_ref()),
            gateway_revision: desired
                .rendered
                .as_ref()
                .map(|r| r.gateway_revision.clone())
                .unwrap_or_default(),
            names,
            redis,
            kafka,
        }
    }
}

/// The plan for `game` given what was `seen`, at `now`.
pub fn plan<'a>(game: &MushGame, desired: &'a Desired, seen: &Observed, now: Timestamp) -> Plan<'a> {
    let s = Situation::of(game, desired, seen);
    let decision = game_server_decision(game, &s, seen, now);
    let problems = problems(game, desired, seen);
    let gateways = status::gateway_pods(
        game.spec.connection_server.replicas,
        &s.gateway_revision,
        &s.gateway_pods,
    );
    let (gateway_rollout, gateway_notes) = gateway_rollout(game, desired, &s, &gateways, now);
    let previous = game.status.as_ref();
    let status = status::compute(&StatusInputs {
        previous,
        generation: game.metadata.generation,
        now,
        names: &s.names,
        problems: &problems,
        redis: &s.redis,
        kafka: &s.kafka,
        gateway_deployment: seen.gateway.as_ref(),
        gateways: &gateways,
        gateway_revision: &s.gateway_revision,
        gateway_rollout,
        gateway_connections: seen.figures.gateway_connections,
        game: &decision,
        players: seen.figures.players,
        input_lag: seen.figures.input_lag,
    });
    let mut events = write_events(game, desired, seen, &problems);
    events.extend(decision.notes.iter().cloned());
    events.extend(gateway_notes);
    let (apply, game_server) = children_to_apply(desired, &s.names, decision.apply);
    Plan {
        deletion_costs: rollout::deletion_cost_updates(&s.gateway_pods, &seen.figures.connections_by_gateway),
        create_secrets: secrets_to_create(desired, seen),
        apply,
        game_server,
        prune: desired
            .rendered
            .as_ref()
            .map(|r| prune::unwanted(r, &seen.owned))
            .unwrap_or_default(),
        status_changed: previous != Some(&status),
        requeue: requeue(&status, decision.busy),
        restart_started: decision.notes.iter().any(|n| n.reason == "RestartStarted"),
        restart_refused: decision
            .progressing
            .as_ref()
            .is_some_and(|c| c.reason == Reason::DependenciesNotReady),
        status,
        events,
    }
}

/// The restart gate and the game-server state machine (`rollout::game`), with the figures the
/// game-server reported.
fn game_server_decision(game: &MushGame, s: &Situation, seen: &Observed, now: Timestamp) -> GameDecision {
    let previous = game.status.as_ref();
    let previously_refused = status::condition(previous, PROGRESSING)
        .is_some_and(|c| c.reason == Reason::DependenciesNotReady.as_str());
    let token = restart_token(game);
    let figures = &seen.figures;
    let mut decision = rollout::game(&GameInputs {
        desired_revision: &s.game_revision,
        desired_image: &game.spec.game_server.image,
        desired_token: &token,
        live: seen.game.as_ref(),
        pods: &s.game_pods,
        dependencies: status::dependencies_gate(&s.redis, &s.kafka),
        previous: previous.and_then(|st| st.game_server.as_ref()),
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
    decision
}

/// The gateway rollout followed from the pods; with an invalid spec, the one recorded stays.
fn gateway_rollout(
    game: &MushGame,
    desired: &Desired,
    s: &Situation,
    gateways: &GatewayPods,
    now: Timestamp,
) -> (Option<crate::crd::GatewayRollout>, Vec<Note>) {
    let previous = game.status.as_ref().and_then(|st| st.gateways.as_ref());
    if desired.rendered.is_some() {
        rollout::gateways(previous, &s.gateway_revision, gateways, now)
    } else {
        (previous.and_then(|g| g.rollout.clone()), Vec::new())
    }
}

/// Everything but the game-server in render order, and the game-server when `game_server_too`.
fn children_to_apply<'a>(
    desired: &'a Desired,
    names: &Names,
    game_server_too: bool,
) -> (Vec<&'a Child>, Option<&'a Child>) {
    let Some(rendered) = &desired.rendered else {
        return (Vec::new(), None);
    };
    let game_deployment = names.game_server();
    let is_game_server = |c: &&Child| c.kind() == "Deployment" && c.name() == game_deployment;
    let others = rendered.children.iter().filter(|c| !is_game_server(c)).collect();
    let game_server = rendered
        .children
        .iter()
        .find(is_game_server)
        .filter(|_| game_server_too);
    (others, game_server)
}

/// The generated Secrets found missing (reading stopped at one that could not be read).
fn secrets_to_create<'a>(desired: &'a Desired, seen: &Observed) -> Vec<&'a GeneratedSecret> {
    let Some(rendered) = &desired.rendered else {
        return Vec::new();
    };
    rendered
        .secrets
        .iter()
        .filter(|g| {
            seen.generated_secrets
                .iter()
                .any(|(name, exists)| name == g.name() && !exists)
        })
        .collect()
}

/// What the user has to fix: the spec's problems, missing Secrets, and what the API server
/// refused this pass (a refused child does not stop the others; it is reported here).
fn problems(game: &MushGame, desired: &Desired, seen: &Observed) -> Vec<Problem> {
    let ns = game.namespace().unwrap_or_default();
    let mut problems = desired.problems.clone();
    problems.extend(seen.missing_secrets.iter().map(|missing| {
        Problem::new(
            Reason::SecretMissing,
            format!("Secret {missing} named in the spec does not exist in namespace {ns}"),
        )
    }));
    problems.extend(seen.failures().into_iter().map(|e| {
        let reason = match e {
            Error::Delete { .. } | Error::Read { .. } => Reason::PruneFailed,
            _ => Reason::ApplyFailed,
        };
        Problem::new(reason, e.to_string())
    }));
    problems
}

/// The Events about the writes: Secrets created, children refused or skipped, objects pruned;
/// then `Created` on the first pass, or `InvalidSpec` once when the spec turns invalid.
fn write_events(game: &MushGame, desired: &Desired, seen: &Observed, problems: &[Problem]) -> Vec<Note> {
    let a = &seen.answers;
    let mut notes = Vec::new();
    if let Some(e) = a.secret_refused.as_ref().or(seen.unreadable_secret.as_ref()) {
        notes.push(Note::warning("ApplyFailed", "Reconcile", e.to_string()));
    } else if !a.secrets_created.is_empty() {
        notes.push(Note::normal(
            "SecretCreated",
            "Reconcile",
            format!("generated {}", a.secrets_created.join(", ")),
        ));
    }
    for answer in &a.applies {
        match answer {
            ApplyAnswer::Applied => {}
            ApplyAnswer::NoServiceMonitorApi => notes.push(Note::warning(
                "ServiceMonitorUnavailable",
                "ApplyServiceMonitor",
                "observability.serviceMonitor is on but the monitoring.coreos.com/v1 API is not \
                 installed; the metrics Service is there for any other scraper"
                    .into(),
            )),
            ApplyAnswer::Refused(e) => notes.push(Note::warning("ApplyFailed", "Reconcile", e.to_string())),
        }
    }
    notes.extend(prune_events(seen));
    let previous = game.status.as_ref();
    if let Some(rendered) = &desired.rendered {
        if previous.is_none() {
            notes.push(created_event(rendered));
        }
    } else if status::condition(previous, READY).is_none_or(|c| c.reason != Reason::InvalidSpec.as_str()) {
        let message = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        notes.push(Note::warning("InvalidSpec", "Reconcile", message));
    }
    notes
}

/// A warning per delete that failed, then one Event for what was deleted (the recorder folds
/// Events of one reason into a count).
fn prune_events(seen: &Observed) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut deleted = Vec::new();
    for (o, result) in &seen.answers.deletes {
        match result {
            Ok(()) => deleted.push(format!("{} {}", o.kind, o.name)),
            Err(e) => notes.push(Note::warning("PruneFailed", "Prune", e.to_string())),
        }
    }
    if !deleted.is_empty() {
        notes.push(Note::normal(
            "Pruned",
            "Prune",
            format!("deleted what the spec no longer asks for: {}", deleted.join(", ")),
        ));
    }
    notes
}

fn created_event(rendered: &Rendered) -> Note {
    Note::normal(
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
    )
}

/// Soon while something moves or is not ready, rarely once all is quiet.
fn requeue(status: &MushGameStatus, busy: bool) -> Duration {
    let ready = status::condition(Some(status), READY).is_some_and(|c| c.status == "True");
    let rolling = status
        .gateways
        .as_ref()
        .and_then(|g| g.rollout.as_ref())
        .is_some_and(|r| r.phase == RolloutPhase::InProgress);
    if busy || rolling || !ready {
        REQUEUE_BUSY
    } else {
        REQUEUE_IDLE
    }
}

#[cfg(test)]
mod golden;
