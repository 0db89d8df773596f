//! Golden plans: representative situations, each an [`Observed`] built by hand, and the [`Plan`]
//! made from it, rendered as YAML and compared with `operator/tests/golden/plan/<situation>.yaml`.
//! A change to any decision shows there as a reviewable diff. After a deliberate change, rewrite
//! the files with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p mush-operator --lib plan::golden
//! ```
//!
//! (the same variable as the render's golden file) and review the diff. Everything is fixed, so
//! the files are stable: the clock, the names and uids, and every map is sorted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use super::{Desired, Plan, plan};
use crate::controller::Error;
use crate::crd::{ExternalRedis, MushGame, SecretKeyRef};
use crate::fixtures::{NS, tavern};
use crate::observe::{ApplyAnswer, Figures, Observed};
use crate::prune::Owned;
use crate::render::{Child, RenderOptions, Rendered};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn desired(game: &MushGame) -> Desired {
    Desired::of(game, &RenderOptions::default())
}

/// A pod of `component` created from `revision`.
fn pod(name: &str, component: &str, revision: &str, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": name, "namespace": NS,
            "labels": { "mush.dev/game": "tavern", "app.kubernetes.io/component": component },
            "annotations": { "mush.dev/revision": revision },
        },
        "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] }
    }))
    .unwrap()
}

fn terminating(mut p: Pod) -> Pod {
    p.metadata.deletion_timestamp = Some(Time(at(0)));
    p
}

fn deployment(r: &Rendered, name: &str) -> Deployment {
    match r.find("Deployment", name) {
        Some(Child::Deployment(d)) => d.clone(),
        _ => panic!("Deployment {name} rendered"),
    }
}

fn stateful_set(r: &Rendered, name: &str, ready: i32) -> StatefulSet {
    let Some(Child::StatefulSet(s)) = r.find("StatefulSet", name) else {
        panic!("StatefulSet {name} rendered");
    };
    let mut s = s.clone();
    s.status = Some(serde_json::from_value(json!({ "replicas": 1, "readyReplicas": ready })).unwrap());
    s
}

fn topics_done(r: &Rendered) -> Job {
    let name = r.topics_job.as_deref().expect("managed Kafka");
    let Some(Child::Job(j)) = r.find("Job", name) else {
        panic!("Job {name} rendered");
    };
    let mut j = j.clone();
    j.status = Some(serde_json::from_value(json!({ "succeeded": 1 })).unwrap());
    j
}

/// `game` as it runs: every workload of its rendering there and ready, two gateways and a
/// game-server of the rendered revisions, the generated Secrets there, every child owned.
fn running(game: &MushGame) -> Observed {
    let r = desired(game).rendered.expect("a valid spec");
    Observed {
        gateway: Some(deployment(&r, "tavern-gateway")),
        game: Some(deployment(&r, "tavern-game")),
        redis: Some(stateful_set(&r, "tavern-redis", 1)),
        kafka: Some(stateful_set(&r, "tavern-kafka", 1)),
        topics: Some(topics_done(&r)),
        pods: vec![
            pod("tavern-gateway-a", "gateway", &r.gateway_revision, true),
            pod("tavern-gateway-b", "gateway", &r.gateway_revision, true),
            pod("tavern-game-1", "game", &r.game_revision, true),
        ],
        generated_secrets: r.secrets.iter().map(|s| (s.name().to_owned(), true)).collect(),
        owned: r
            .children
            .iter()
            .map(|c| Owned::new(c.kind(), c.name()))
            .collect(),
        ..Default::default()
    }
}

/// `game` with the status the operator wrote for it running at `second`.
fn with_status_running(mut game: MushGame, second: i64) -> MushGame {
    let before = tavern();
    let d = desired(&before);
    game.status = Some(plan(&before, &d, &running(&before), at(second)).status);
    game
}

/// The plan as the golden files show it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View {
    deletion_costs: BTreeMap<String, i32>,
    create_secrets: Vec<String>,
    apply: Vec<String>,
    /// The game-server's Deployment, or why it is held back.
    game_server: String,
    prune: Vec<String>,
    events: Vec<String>,
    requeue_seconds: u64,
    restart_started: bool,
    restart_refused: bool,
    status_changed: bool,
    status: serde_json::Value,
}

fn kind_name(c: &Child) -> String {
    format!("{} {}", c.kind(), c.name())
}

fn view(p: &Plan) -> String {
    let v = View {
        deletion_costs: p.deletion_costs.iter().cloned().collect(),
        create_secrets: p.create_secrets.iter().map(|s| s.name().to_owned()).collect(),
        apply: p.apply.iter().map(|c| kind_name(c)).collect(),
        game_server: p
            .game_server
            .map(kind_name)
            .unwrap_or_else(|| "held: not applied in this pass".into()),
        prune: p.prune.iter().map(|o| format!("{} {}", o.kind, o.name)).collect(),
        events: p
            .events
            .iter()
            .map(|n| {
                let ty = if n.warning { "Warning" } else { "Normal" };
                format!("{ty} {} ({}): {}", n.reason, n.action, n.message)
            })
            .collect(),
        requeue_seconds: p.requeue.as_secs(),
        restart_started: p.restart_started,
        restart_refused: p.restart_refused,
        status_changed: p.status_changed,
        status: serde_json::to_value(&p.status).unwrap(),
    };
    serde_yaml::to_string(&v).unwrap()
}

/// Compares the plan's view with its golden file, or rewrites the file under `UPDATE_GOLDEN`.
fn check(situation: &str, p: &Plan) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/plan")
        .join(format!("{situation}.yaml"));
    let got = view(p);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "the plan for {situation} differs from {} from line {}:\n  got:  {}\n  want: {}\n\
             review, and if the change is meant, rewrite the golden files with\n  \
             UPDATE_GOLDEN=1 cargo test -p mush-operator --lib plan::golden",
            path.display(),
            first + 1,
            got.lines().nth(first).unwrap_or("(end)"),
            want.lines().nth(first).unwrap_or("(end)"),
        );
    }
}

#[test]
fn a_fresh_game_with_nothing_in_the_cluster_yet() {
    let game = tavern();
    let d = desired(&game);
    let r = d.rendered.as_ref().unwrap();
    let seen = Observed {
        generated_secrets: r.secrets.iter().map(|s| (s.name().to_owned(), false)).collect(),
        ..Default::default()
    };
    check("fresh_game", &plan(&game, &d, &seen, at(0)));
}

#[test]
fn dependencies_down_with_a_game_server_template_change() {
    let mut game = with_status_running(tavern(), 0);
    game.spec.game_server.image = "ghcr.io/mush-dev/mush-game-server:0.2.0".into();
    game.metadata.generation = Some(2);
    let d = desired(&game);
    let mut seen = running(&tavern());
    let old = desired(&tavern()).rendered.unwrap();
    seen.redis = Some(stateful_set(&old, "tavern-redis", 0));
    check(
        "dependencies_down_with_a_template_change",
        &plan(&game, &d, &seen, at(30)),
    );
}

#[test]
fn a_game_server_restart_in_progress() {
    let mut game = tavern();
    game.spec.game_server.image = "ghcr.io/mush-dev/mush-game-server:0.2.0".into();
    game.metadata.generation = Some(2);
    let game = with_status_running(game, 0);
    let d = desired(&game);
    // t=10: the restart starts; the old game-server still runs.
    let started = plan(&game, &d, &running(&tavern()), at(10));
    assert!(started.restart_started && started.game_server.is_some());
    // t=15: the new template is applied, the old game-server is stopping (input waits in Kafka).
    let mut game = game.clone();
    game.status = Some(started.status);
    let mut seen = running(&tavern());
    let new = d.rendered.as_ref().unwrap();
    seen.game = Some(deployment(new, "tavern-game"));
    let old_revision = desired(&tavern()).rendered.unwrap().game_revision;
    seen.pods[2] = terminating(pod("tavern-game-1", "game", &old_revision, false));
    check("game_server_restart_in_progress", &plan(&game, &d, &seen, at(15)));
}

#[test]
fn a_gateway_rollout_with_connections_read_from_the_pods() {
    let mut game = with_status_running(tavern(), 0);
    game.spec.connection_server.image = "ghcr.io/mush-dev/mush-connection-server:0.2.0".into();
    game.metadata.generation = Some(2);
    let d = desired(&game);
    let new_revision = d.rendered.as_ref().unwrap().gateway_revision.clone();
    let mut seen = running(&tavern());
    seen.pods
        .push(pod("tavern-gateway-c", "gateway", &new_revision, false));
    seen.figures = Figures {
        players: Some(20),
        input_lag: Some(0),
        gateway_connections: Some(23),
        connections_by_gateway: [("tavern-gateway-a".into(), 21), ("tavern-gateway-b".into(), 2)].into(),
        ..Default::default()
    };
    check("gateway_rollout", &plan(&game, &d, &seen, at(20)));
}

#[test]
fn a_child_the_spec_no_longer_asks_for_is_pruned() {
    let mut game = with_status_running(tavern(), 0);
    game.spec.redis.managed = None;
    game.spec.redis.external = Some(ExternalRedis {
        url_secret: SecretKeyRef {
            name: "tavern-redis-url".into(),
            key: "url".into(),
        },
    });
    game.metadata.generation = Some(2);
    let d = desired(&game);
    let mut seen = running(&tavern());
    // Redis is not read any more (the spec has no managed one): only its owned objects remain.
    seen.redis = None;
    check("prune", &plan(&game, &d, &seen, at(40)));
}

/// The plan made after the first writes were answered: the API server refused Redis's
/// StatefulSet (an immutable field changed) and took the rest.
#[test]
fn the_api_server_refuses_a_child() {
    let game = with_status_running(tavern(), 0);
    let d = desired(&game);
    let mut seen = running(&tavern());
    for child in &plan(&game, &d, &seen, at(50)).apply {
        seen.answers.applies.push(
            if child.name() == "tavern-redis" && child.kind() == "StatefulSet" {
                ApplyAnswer::Refused(Error::Apply {
                    kind: "StatefulSet".into(),
                    name: "tavern-redis".into(),
                    source: kube::Error::Api(Box::new(
                        serde_json::from_value(json!({
                            "status": "Failure", "code": 422, "reason": "Invalid",
                            "message": "spec: Forbidden: updates to statefulset spec for fields other than \
                                        'replicas' are forbidden"
                        }))
                        .unwrap(),
                    )),
                })
            } else {
                ApplyAnswer::Applied
            },
        );
    }
    check("apply_refused", &plan(&game, &d, &seen, at(50)));
}
