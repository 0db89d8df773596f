//! Reconciler conversations against the fake API server (`fixtures`): what the operator reads,
//! applies and reports, step by step, for the situations users rely on.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::Action;
use mush_protocol::figures::{
    GAME_INPUT_LAG, GAME_LOGGED_IN_PLAYERS, GAME_RECONCILIATION_SECONDS, GAME_RESTORED_CONNECTIONS,
    GATEWAY_CONNECTIONS,
};
use serde_json::json;

use crate::controller::{REQUEUE_BUSY, REQUEUE_IDLE, error_policy, reconcile};
use crate::crd::{
    ExternalRedis, GameServerState, GatewayTls, MushGame, MushGameStatus, RestartPhase, RestartReason,
    RolloutPhase, SecretKeyRef,
};
use crate::fixtures::{FakeApi, NS, path_of, tavern, test_context};
use crate::render::{Child, Rendered, render};
use crate::status::{Reason, condition};

fn child_path(c: &Child) -> String {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let n = c.name();
    match c {
        Child::ServiceAccount(_) => path_of::<ServiceAccount>(n),
        Child::ConfigMap(_) => path_of::<ConfigMap>(n),
        Child::Service(_) => path_of::<Service>(n),
        Child::Deployment(_) => path_of::<Deployment>(n),
        Child::StatefulSet(_) => path_of::<StatefulSet>(n),
        Child::Job(_) => path_of::<Job>(n),
        Child::PodDisruptionBudget(_) => path_of::<PodDisruptionBudget>(n),
        Child::NetworkPolicy(_) => path_of::<NetworkPolicy>(n),
        Child::ServiceMonitor(_) => {
            format!("/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/{n}")
        }
    }
}

fn cond<'a>(s: &'a MushGameStatus, t: &str) -> (&'a str, &'a str, &'a str) {
    let c = condition(Some(s), t).unwrap_or_else(|| panic!("condition {t} present"));
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

fn status_of(fake: &FakeApi) -> MushGameStatus {
    fake.game("tavern").status.expect("status written")
}

/// A pod of `component` created from `revision`.
fn pod(name: &str, component: &str, revision: &str, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": NS,
            "labels": { "mush.dev/game": "tavern", "app.kubernetes.io/component": component,
                        "app.kubernetes.io/managed-by": "mush-operator" },
            "annotations": { "mush.dev/revision": revision },
        },
        "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] }
    }))
    .unwrap()
}

fn terminating(mut p: Pod) -> Pod {
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    p
}

fn crash_looping(mut p: Pod) -> Pod {
    let status = p.status.get_or_insert_default();
    status.container_statuses = Some(vec![
        serde_json::from_value(json!({
            "name": "game-server", "ready": false, "restartCount": 4, "image": "x", "imageID": "",
            "state": { "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 40s restarting" } }
        }))
        .unwrap(),
    ]);
    p
}

/// Stores the managed Redis and Redpanda StatefulSets with `ready` pods, and the topic Job done.
fn seed_dependencies(fake: &FakeApi, r: &Rendered, redis_ready: i32) {
    for c in &r.children {
        match c {
            Child::StatefulSet(s) => {
                let mut s = s.clone();
                let ready = if s.metadata.name.as_deref() == Some("tavern-redis") {
                    redis_ready
                } else {
                    1
                };
                s.status =
                    Some(serde_json::from_value(json!({ "replicas": 1, "readyReplicas": ready })).unwrap());
                fake.put(&s);
            }
            Child::Job(j) => {
                let mut j = j.clone();
                j.status = Some(serde_json::from_value(json!({ "succeeded": 1 })).unwrap());
                fake.put(&j);
            }
            _ => {}
        }
    }
}

fn deployment(r: &Rendered, name: &str) -> Deployment {
    match r.find("Deployment", name) {
        Some(Child::Deployment(d)) => d.clone(),
        _ => panic!("{name} rendered"),
    }
}

/// A game whose gateways and game-server run the rendered revisions, everything ready.
fn seed_running(fake: &FakeApi, game: &MushGame) -> Rendered {
    let r = render(game).unwrap();
    seed_dependencies(fake, &r, 1);
    fake.put(&deployment(&r, "tavern-gateway"));
    fake.put(&deployment(&r, "tavern-game"));
    fake.put(&pod("tavern-gateway-a", "gateway", &r.gateway_revision, true));
    fake.put(&pod("tavern-gateway-b", "gateway", &r.gateway_revision, true));
    fake.put(&pod("tavern-game-1", "game", &r.game_revision, true));
    r
}

async fn run(ctx: &Arc<crate::controller::Context>, fake: &FakeApi, game: MushGame) -> Action {
    fake.put(&game);
    reconcile(Arc::new(game), ctx.clone())
        .await
        .expect("reconcile succeeds")
}

#[tokio::test]
async fn create_applies_every_child_with_an_owner_reference_and_reports_what_it_waits_for() {
    let (ctx, fake, _clock, _) = test_context(false);
    let game = tavern();
    let action = run(&ctx, &fake, game.clone()).await;

    let rendered = render(&game).unwrap();
    let mut want: Vec<String> = rendered.children.iter().map(child_path).collect();
    let mut applied = fake.applied_paths();
    want.sort();
    applied.sort();
    assert_eq!(applied, want, "every rendered child is applied once");
    for r in fake
        .log()
        .iter()
        .filter(|r| r.is_apply() && !r.path.ends_with("/status"))
    {
        assert!(r.query.contains("force=true"), "{} applied with force", r.path);
        let owner = &r.body.as_ref().unwrap()["metadata"]["ownerReferences"][0];
        assert_eq!(
            owner["uid"], "0b6f1a6e-game",
            "{} is owned by the MushGame",
            r.path
        );
        assert_eq!(owner["kind"], "MushGame");
        assert_eq!(owner["controller"], true);
    }
    // Nothing runs yet (no pods): the status says what it waits for, and keeps looking.
    let s = status_of(&fake);
    assert_eq!(s.observed_generation, Some(1));
    let (ready, reason, message) = cond(&s, "Ready");
    assert_eq!((ready, reason), ("False", "Waiting"));
    assert!(message.contains("Redis (0/1 Redis pods ready"), "{message}");
    assert!(message.contains("Gateways (0/2 gateways ready"), "{message}");
    assert_eq!(cond(&s, "Progressing").0, "True");
    assert_eq!(cond(&s, "Degraded").0, "False");
    assert_eq!(s.game_server.as_ref().unwrap().state, GameServerState::Waiting);
    assert_eq!(s.gateways.as_ref().unwrap().summary, "0/2");
    assert_eq!(action, Action::requeue(REQUEUE_BUSY));
    let events = fake.events();
    assert!(
        events
            .iter()
            .any(|(t, reason, _)| t == "Normal" && reason == "Created"),
        "{events:?}"
    );
}

/// The value a stored Secret holds under `key` (the fake keeps `stringData` as written).
fn secret_value(fake: &FakeApi, name: &str, key: &str) -> String {
    let s = fake
        .get(&path_of::<Secret>(name))
        .unwrap_or_else(|| panic!("Secret {name} exists"));
    s["stringData"][key].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn generated_secrets_are_created_once_before_the_pods_and_never_rewritten() {
    let (ctx, fake, _clock, _) = test_context(false);
    run(&ctx, &fake, tavern()).await;

    let log = fake.log();
    let creates: Vec<&str> = log
        .iter()
        .filter(|r| r.method == http::Method::POST && r.path.ends_with("/secrets"))
        .map(|r| r.body.as_ref().unwrap()["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(creates, ["tavern-redis-auth", "tavern-input-key"]);
    let first_pod_owner = log
        .iter()
        .position(|r| r.is_apply() && r.path.contains("/statefulsets/"))
        .unwrap();
    let last_create = log
        .iter()
        .rposition(|r| r.method == http::Method::POST && r.path.ends_with("/secrets"))
        .unwrap();
    assert!(
        last_create < first_pod_owner,
        "the Secrets exist before any workload"
    );
    assert!(
        !log.iter()
            .any(|r| r.path.contains("/secrets/") && r.method != http::Method::GET),
        "never applied, patched or replaced"
    );
    let password = secret_value(&fake, "tavern-redis-auth", "password");
    let key = secret_value(&fake, "tavern-input-key", "key");
    for v in [&password, &key] {
        assert_eq!(v.len(), 64);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{v}"
        );
    }
    assert_ne!(password, key, "each value drawn on its own");
    let stored = fake.get(&path_of::<Secret>("tavern-input-key")).unwrap();
    assert_eq!(stored["metadata"]["ownerReferences"][0]["uid"], "0b6f1a6e-game");
    assert!(
        fake.events()
            .iter()
            .any(|(_, reason, note)| reason == "SecretCreated"
                && note.contains("tavern-redis-auth")
                && note.contains("tavern-input-key")),
        "{:?}",
        fake.events()
    );

    // Later passes leave them alone, and so an administrator's rotation stands.
    let mut rotated = fake.get(&path_of::<Secret>("tavern-input-key")).unwrap();
    rotated["stringData"]["previous"] = json!(key.clone());
    rotated["stringData"]["key"] = json!("ab".repeat(32));
    fake.put_value(&path_of::<Secret>("tavern-input-key"), rotated);
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(
        !fake
            .log()
            .iter()
            .any(|r| r.path.contains("/secrets") && r.method != http::Method::GET),
        "nothing written to existing Secrets"
    );
    assert_eq!(secret_value(&fake, "tavern-redis-auth", "password"), password);
    assert_eq!(secret_value(&fake, "tavern-input-key", "key"), "ab".repeat(32));
    assert_eq!(secret_value(&fake, "tavern-input-key", "previous"), key);

    // A deleted one is generated again (anew: the old value is gone with it).
    fake.remove(&path_of::<Secret>("tavern-redis-auth"));
    run(&ctx, &fake, fake.game("tavern")).await;
    assert_ne!(secret_value(&fake, "tavern-redis-auth", "password"), password);
}

#[tokio::test]
async fn a_deleted_or_hand_edited_child_is_restored_on_the_next_reconcile() {
    let (ctx, fake, _clock, _) = test_context(false);
    let game = tavern();
    run(&ctx, &fake, game).await;

    // Someone deletes the players' Service and scales the gateways by hand.
    let service = path_of::<Service>("tavern-gateway");
    fake.remove(&service);
    let deploy = path_of::<Deployment>("tavern-gateway");
    let mut edited = fake.get(&deploy).unwrap();
    edited["spec"]["replicas"] = json!(5);
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:latest");
    fake.put_value(&deploy, edited);
    fake.clear_log();

    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(fake.get(&service).is_some(), "the Service is back");
    let d: Deployment = fake.get_typed("tavern-gateway").unwrap();
    let spec = d.spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    assert_eq!(
        spec.template.spec.unwrap().containers[0].image.as_deref(),
        Some(crate::crd::DEFAULT_GATEWAY_IMAGE)
    );
    assert!(
        !fake.events().iter().any(|(_, r, _)| r == "RestartStarted"),
        "repairing drift is not a restart"
    );
}

#[tokio::test]
async fn a_running_game_reports_ready_with_players_and_connections_from_the_metrics() {
    let (ctx, fake, _clock, _) = test_context(true);
    let game = tavern();
    seed_running(&fake, &game);
    fake.set_status(
        "tavern-game-1",
        &[
            (GAME_LOGGED_IN_PLAYERS, 42.0),
            (GAME_RESTORED_CONNECTIONS, 40.0),
            (GAME_RECONCILIATION_SECONDS, 0.25),
            (GAME_INPUT_LAG, 7.0),
        ],
    );
    fake.set_status("tavern-gateway-a", &[(GATEWAY_CONNECTIONS, 20.0)]);
    fake.set_status("tavern-gateway-b", &[(GATEWAY_CONNECTIONS, 25.0)]);

    let action = run(&ctx, &fake, game).await;
    let s = status_of(&fake);
    for t in ["Ready", "RedisReady", "KafkaReady", "GatewaysReady", "GameReady"] {
        assert_eq!(cond(&s, t).0, "True", "{t}: {:?}", cond(&s, t));
    }
    assert_eq!(
        cond(&s, "Progressing"),
        ("False", "Complete", "nothing in progress")
    );
    assert_eq!(cond(&s, "Degraded").0, "False");
    assert_eq!(s.players, Some(42));
    assert_eq!(s.input_lag, Some(7));
    let gw = s.gateways.unwrap();
    assert_eq!((gw.summary.as_str(), gw.connections), ("2/2", Some(45)));
    let gs = s.game_server.unwrap();
    assert_eq!(gs.state, GameServerState::Running);
    assert_eq!(gs.restored_connections, Some(40));
    assert_eq!(gs.reconciliation_seconds, Some(0.25));
    assert_eq!(action, Action::requeue(REQUEUE_IDLE));

    // Nothing changed: the status is not written again (a write would wake the watch for nothing).
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(
        !fake
            .log()
            .iter()
            .any(crate::fixtures::Recorded::writes_game_status),
        "no status write"
    );
}

#[tokio::test]
async fn each_gateway_carries_a_deletion_cost_from_its_connections_so_the_emptiest_goes_first() {
    let (ctx, fake, _clock, _) = test_context(true);
    let game = tavern();
    seed_running(&fake, &game);
    fake.set_status("tavern-gateway-a", &[(GATEWAY_CONNECTIONS, 21.0)]);
    fake.set_status("tavern-gateway-b", &[(GATEWAY_CONNECTIONS, 2.0)]);
    run(&ctx, &fake, game).await;
    let cost = |name: &str| {
        let p: Pod = fake.get_typed(name).unwrap();
        p.metadata
            .annotations
            .unwrap_or_default()
            .get("controller.kubernetes.io/pod-deletion-cost")
            .cloned()
    };
    assert_eq!(cost("tavern-gateway-a").as_deref(), Some("16"));
    assert_eq!(cost("tavern-gateway-b").as_deref(), Some("2"));
    let ready: Pod = fake.get_typed("tavern-gateway-a").unwrap();
    assert!(crate::status::pod_ready(&ready), "only the annotation changed");

    // A player more on the busy one moves it within its rounding: no pod write.
    fake.set_status("tavern-gateway-a", &[(GATEWAY_CONNECTIONS, 22.0)]);
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    let pod_patches = |f: &FakeApi| {
        f.log()
            .into_iter()
            .filter(|r| r.method == http::Method::PATCH && r.path.contains("/pods/"))
            .count()
    };
    assert_eq!(pod_patches(&fake), 0);

    // The busy one empties: its cost drops below the other's.
    fake.set_status("tavern-gateway-a", &[(GATEWAY_CONNECTIONS, 0.0)]);
    run(&ctx, &fake, fake.game("tavern")).await;
    assert_eq!(pod_patches(&fake), 1);
    assert_eq!(cost("tavern-gateway-a").as_deref(), Some("0"));
}

#[tokio::test]
async fn a_pod_whose_metrics_never_answer_does_not_hold_up_the_reconciliation() {
    let (ctx, fake, _clock, _) = test_context(true);
    let game = tavern();
    seed_running(&fake, &game);
    fake.hang_status("tavern-game-1");
    fake.hang_status("tavern-gateway-a");
    fake.set_status("tavern-gateway-b", &[(GATEWAY_CONNECTIONS, 25.0)]);
    fake.put(&game);
    let reconciled = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reconcile(Arc::new(game), ctx.clone()),
    )
    .await
    .expect("the scrapes give up; the reconciliation finishes")
    .expect("reconcile succeeds");
    assert_eq!(reconciled, Action::requeue(REQUEUE_IDLE));
    let s = status_of(&fake);
    assert_eq!(
        cond(&s, "Ready").0,
        "True",
        "readiness does not depend on figures"
    );
    assert_eq!(s.players, None, "unknown, not 0");
    assert_eq!(
        s.gateways.unwrap().connections,
        None,
        "a partial sum would read as a drop"
    );
}

#[tokio::test]
async fn a_missing_secret_for_external_redis_is_reported_as_not_ready_with_the_reason() {
    let (ctx, fake, _clock, _) = test_context(false);
    let mut game = tavern();
    game.spec.redis.managed = None;
    game.spec.redis.external = Some(ExternalRedis {
        url_secret: SecretKeyRef {
            name: "tavern-redis-url".into(),
            key: "url".into(),
        },
    });
    run(&ctx, &fake, game).await;
    let s = status_of(&fake);
    let (ready, reason, message) = cond(&s, "Ready");
    assert_eq!((ready, reason), ("False", "SecretMissing"));
    assert!(message.contains("tavern-redis-url"), "{message}");
    assert_eq!(cond(&s, "RedisReady").1, "SecretMissing");
    assert_eq!(cond(&s, "Degraded").0, "True");
    assert!(
        !fake
            .applied_paths()
            .iter()
            .any(|p| p.ends_with("/statefulsets/tavern-redis")),
        "no managed Redis for an external one"
    );
}

#[tokio::test]
async fn a_missing_tls_secret_is_reported_and_the_gateways_wait_for_it() {
    let (ctx, fake, _clock, _) = test_context(false);
    let mut game = tavern();
    game.spec.connection_server.tls = Some(GatewayTls::from_secret("tavern-tls"));
    run(&ctx, &fake, game.clone()).await;
    let s = status_of(&fake);
    let (ready, reason, message) = cond(&s, "Ready");
    assert_eq!((ready, reason), ("False", "SecretMissing"));
    assert!(message.contains("Secret tavern-tls"), "{message}");
    // The gateways are applied all the same: their pods wait for the Secret (cert-manager may
    // not have issued the certificate yet) while the old gateways keep serving.
    let gateway: Deployment = fake
        .get_typed("tavern-gateway")
        .expect("the gateway Deployment applied");
    let volumes = gateway.spec.unwrap().template.spec.unwrap().volumes.unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("tavern-tls"))
    );

    // Once the Secret exists the problem is gone.
    let mut secret = Secret::default();
    secret.metadata.name = Some("tavern-tls".into());
    fake.put(&secret);
    run(&ctx, &fake, game).await;
    let s = status_of(&fake);
    let (_, reason, message) = cond(&s, "Ready");
    assert_ne!(reason, "SecretMissing", "{message}");
    assert!(!message.contains("tavern-tls"), "{message}");
}

#[tokio::test]
async fn children_the_spec_no_longer_asks_for_are_deleted_and_nothing_else() {
    let (ctx, fake, _clock, _) = test_context(false);
    let mut game = tavern();
    game.spec.observability.service_monitor = true;
    game.spec.observability.dashboards = true;
    run(&ctx, &fake, game.clone()).await;
    let redis = path_of::<StatefulSet>("tavern-redis");
    let monitor = format!("/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/tavern");
    let dashboards = path_of::<ConfigMap>("tavern-dashboards");
    for p in [&redis, &monitor, &dashboards] {
        assert!(fake.get(p).is_some(), "{p} created");
    }
    // Someone's own ConfigMap with the game's labels, and no owner: never the operator's to delete.
    let mut theirs = ConfigMap::default();
    theirs.metadata.name = Some("tavern-notes".into());
    theirs.metadata.labels = Some(
        [
            ("mush.dev/game".to_owned(), "tavern".to_owned()),
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "mush-operator".to_owned(),
            ),
        ]
        .into(),
    );
    fake.put(&theirs);

    // Redis becomes external; the ServiceMonitor and the dashboards are turned off.
    let mut url = k8s_openapi::api::core::v1::Secret::default();
    url.metadata.name = Some("tavern-redis-url".into());
    fake.put(&url);
    game.spec.redis.managed = None;
    game.spec.redis.external = Some(ExternalRedis {
        url_secret: SecretKeyRef {
            name: "tavern-redis-url".into(),
            key: "url".into(),
        },
    });
    game.spec.observability.service_monitor = false;
    game.spec.observability.dashboards = false;
    game.metadata.generation = Some(2);
    game.status = fake.game("tavern").status;
    fake.clear_log();
    run(&ctx, &fake, game).await;

    for p in [&redis, &path_of::<Service>("tavern-redis"), &monitor, &dashboards] {
        assert!(fake.get(p).is_none(), "{p} deleted");
    }
    assert!(
        fake.get(&path_of::<ConfigMap>("tavern-notes")).is_some(),
        "not ours"
    );
    assert!(
        fake.get(&path_of::<StatefulSet>("tavern-kafka")).is_some(),
        "still managed"
    );
    assert!(
        fake.get(&path_of::<NetworkPolicy>("tavern-kafka")).is_some(),
        "still guards Kafka"
    );
    for p in [
        path_of::<NetworkPolicy>("tavern-redis"),
        path_of::<PodDisruptionBudget>("tavern-redis"),
    ] {
        assert!(fake.get(&p).is_none(), "{p} deleted with the managed Redis");
    }
    let deletes: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == http::Method::DELETE)
        .map(|r| r.path)
        .collect();
    assert_eq!(deletes.len(), 6, "{deletes:?}");
    let pruned: Vec<String> = fake
        .events()
        .into_iter()
        .filter(|(t, r, _)| t == "Normal" && r == "Pruned")
        .map(|(_, _, note)| note)
        .collect();
    assert_eq!(pruned.len(), 1, "{pruned:?}");
    for what in [
        "StatefulSet tavern-redis",
        "Service tavern-redis",
        "NetworkPolicy tavern-redis",
        "PodDisruptionBudget tavern-redis",
        "ServiceMonitor tavern",
        "ConfigMap tavern-dashboards",
    ] {
        assert!(pruned[0].contains(what), "{what} in {}", pruned[0]);
    }

    // Nothing more to prune on the next pass.
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(!fake.log().iter().any(|r| r.method == http::Method::DELETE));
}

#[tokio::test]
async fn the_topic_job_of_old_partition_counts_is_deleted_once_the_counts_grow() {
    let (ctx, fake, _clock, _) = test_context(false);
    let game = tavern();
    let old = render(&game).unwrap().topics_job.unwrap();
    run(&ctx, &fake, game.clone()).await;
    assert!(fake.get(&path_of::<Job>(&old)).is_some());

    let mut grown = fake.game("tavern");
    grown.spec.kafka.input_partitions += 4;
    grown.metadata.generation = Some(2);
    let new = render(&grown).unwrap().topics_job.unwrap();
    assert_ne!(new, old, "the Job's name follows the partition counts");
    run(&ctx, &fake, grown).await;
    assert!(
        fake.get(&path_of::<Job>(&new)).is_some(),
        "the new counts' Job runs"
    );
    assert!(
        fake.get(&path_of::<Job>(&old)).is_none(),
        "the old one is deleted"
    );
}

/// An upgrade of the operator that renames a child leaves the old one owned by the game: it goes.
#[tokio::test]
async fn children_an_earlier_operator_named_differently_are_deleted() {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let (ctx, fake, _clock, _) = test_context(false);
    let game = tavern();
    let r = render(&game).unwrap();
    let mut gateway = deployment(&r, "tavern-gateway");
    gateway.metadata.name = Some("tavern-gateways".into());
    fake.put(&gateway);
    let Some(Child::ServiceAccount(account)) = r.find("ServiceAccount", "tavern") else {
        panic!("the game's ServiceAccount rendered");
    };
    let mut account = account.clone();
    account.metadata.name = Some("tavern-servers".into());
    fake.put(&account);

    run(&ctx, &fake, game).await;
    assert!(fake.get(&path_of::<Deployment>("tavern-gateways")).is_none());
    assert!(fake.get(&path_of::<ServiceAccount>("tavern-servers")).is_none());
    assert!(fake.get(&path_of::<Deployment>("tavern-gateway")).is_some());
    assert!(fake.get(&path_of::<ServiceAccount>("tavern")).is_some());
}

#[tokio::test]
async fn an_invalid_spec_applies_nothing_and_says_what_to_fix() {
    let (ctx, fake, _clock, _) = test_context(false);
    let mut game = tavern();
    game.spec.kafka.output_partitions = 2; // fewer than replicas (2) + maxSurge (1)
    run(&ctx, &fake, game).await;
    assert!(
        fake.applied_paths().is_empty(),
        "nothing applied: {:?}",
        fake.applied_paths()
    );
    let s = status_of(&fake);
    let (ready, reason, message) = cond(&s, "Ready");
    assert_eq!((ready, reason), ("False", "InvalidSpec"));
    assert!(message.contains("kafka.outputPartitions (2)"), "{message}");
    assert!(
        fake.events()
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "InvalidSpec")
    );

    // A running game with a spec made invalid keeps running, untouched and not "restarting".
    let (ctx, fake, _clock, _) = test_context(false);
    seed_running(&fake, &tavern());
    let mut game = tavern();
    game.spec.redis.managed = None;
    run(&ctx, &fake, game).await;
    assert!(fake.applied_paths().is_empty());
    let s = status_of(&fake);
    assert_eq!(cond(&s, "Ready").1, "InvalidSpec");
    assert_ne!(cond(&s, "Progressing").1, Reason::DependenciesNotReady.as_str());
    assert_eq!(s.game_server.unwrap().state, GameServerState::Running);
    assert!(!fake.events().iter().any(|(_, r, _)| r.starts_with("Restart")));
}

#[tokio::test]
async fn a_child_the_api_server_refuses_is_reported_and_the_others_are_still_applied() {
    let (ctx, fake, _clock, registry) = test_context(false);
    fake.refuse_apply(
        &path_of::<StatefulSet>("tavern-redis"),
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden",
    );
    let game = tavern();
    fake.put(&game);
    let err = reconcile(Arc::new(game.clone()), ctx.clone()).await.unwrap_err();
    assert_eq!(err.metric_label(), "apply");
    error_policy(Arc::new(game), &err, ctx);
    assert!(
        fake.applied_paths()
            .contains(&path_of::<Deployment>("tavern-gateway")),
        "the others went on"
    );
    let s = status_of(&fake);
    let (ready, reason, message) = cond(&s, "Ready");
    assert_eq!((ready, reason), ("False", "ApplyFailed"));
    assert!(
        message.contains("StatefulSet tavern-redis") && message.contains("Forbidden"),
        "{message}"
    );
    assert!(
        fake.events()
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "ApplyFailed")
    );
    let failures = registry
        .gather()
        .into_iter()
        .find(|f| f.name() == "mush_operator_reconcile_failures_total")
        .unwrap();
    assert_eq!(failures.get_metric()[0].get_label()[0].value(), "apply");
}

#[tokio::test]
async fn restart_is_refused_while_redis_is_not_ready_and_starts_once_it_is() {
    let (ctx, fake, clock, _) = test_context(false);
    let old = tavern();
    let r = seed_running(&fake, &old);
    seed_dependencies(&fake, &r, 0); // Redis pod not ready
    let old_game_deployment = fake.get(&path_of::<Deployment>("tavern-game")).unwrap();

    let mut new = tavern();
    new.spec.game_server.image = "ghcr.io/mush-dev/mush-game-server:0.2.0".into();
    new.metadata.generation = Some(2);
    run(&ctx, &fake, new.clone()).await;

    let game_path = path_of::<Deployment>("tavern-game");
    assert!(
        !fake.applied_paths().contains(&game_path),
        "the game-server is not touched"
    );
    assert_eq!(fake.get(&game_path).unwrap(), old_game_deployment);
    assert!(
        fake.applied_paths()
            .contains(&path_of::<Deployment>("tavern-gateway")),
        "the rest is reconciled"
    );
    let s = status_of(&fake);
    let (progressing, reason, message) = cond(&s, "Progressing");
    assert_eq!(
        (progressing, reason),
        ("False", Reason::DependenciesNotReady.as_str())
    );
    assert!(message.contains("Redis is not ready"), "{message}");
    assert!(message.contains("image"), "{message}");
    let refused = |f: &FakeApi| {
        f.events()
            .iter()
            .filter(|(t, r, _)| t == "Warning" && r == "RestartRefused")
            .count()
    };
    assert_eq!(refused(&fake), 1);

    // Still not ready: refused again, but the Event is not repeated.
    clock.set(30);
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(!fake.applied_paths().contains(&game_path));
    assert_eq!(refused(&fake), 1);

    // Redis comes up: the restart starts.
    seed_dependencies(&fake, &r, 1);
    clock.set(60);
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(fake.applied_paths().contains(&game_path));
    let d: Deployment = fake.get_typed("tavern-game").unwrap();
    assert_eq!(
        d.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("ghcr.io/mush-dev/mush-game-server:0.2.0")
    );
    let s = status_of(&fake);
    let restart = s
        .game_server
        .clone()
        .unwrap()
        .last_restart
        .expect("restart recorded");
    assert_eq!(
        (restart.phase, restart.reason),
        (RestartPhase::InProgress, RestartReason::Image)
    );
    assert_eq!(cond(&s, "Progressing").1, "GameServerRestarting");
    assert!(fake.events().iter().any(|(_, r, _)| r == "RestartStarted"));
}

/// One spec change that rolls Redis and the game-server together: Redis was ready before this
/// pass, but the pass itself restarts it, so the game-server restart waits until Redis has
/// settled on its new spec.
#[tokio::test]
async fn a_restart_waits_for_a_dependency_the_same_change_rolls() {
    let (ctx, fake, clock, _) = test_context(false);
    seed_running(&fake, &tavern());
    let game_path = path_of::<Deployment>("tavern-game");

    let mut new = tavern();
    new.spec.redis.managed.as_mut().unwrap().image = "redis:7.4".into();
    new.spec.game_server.image = "ghcr.io/mush-dev/mush-game-server:0.2.0".into();
    new.metadata.generation = Some(2);
    run(&ctx, &fake, new).await;

    assert!(
        fake.applied_paths()
            .contains(&path_of::<StatefulSet>("tavern-redis")),
        "Redis gets its new spec"
    );
    assert!(
        !fake.applied_paths().contains(&game_path),
        "the game-server is not restarted on top of Redis's own restart"
    );
    let s = status_of(&fake);
    let (progressing, reason, message) = cond(&s, "Progressing");
    assert_eq!(
        (progressing, reason),
        ("False", Reason::DependenciesNotReady.as_str())
    );
    assert!(message.contains("Redis is not ready"), "{message}");
    assert_eq!(cond(&s, "RedisReady").1, "RollingOut");

    // The StatefulSet controller has rolled Redis and its new pod is ready: the restart starts.
    let mut redis: StatefulSet = fake.get_typed("tavern-redis").unwrap();
    redis.status = Some(
        serde_json::from_value(json!({
            "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
            "observedGeneration": redis.metadata.generation,
            "currentRevision": "tavern-redis-2", "updateRevision": "tavern-redis-2"
        }))
        .unwrap(),
    );
    fake.put(&redis);
    clock.set(30);
    fake.clear_log();
    run(&ctx, &fake, fake.game("tavern")).await;
    assert!(fake.applied_paths().contains(&game_path));
    assert!(fake.events().iter().any(|(_, r, _)| r == "RestartStarted"));
}

#[tokio::test]
async fn restart_sequence_records_start_pause_end_and_restored_connections() {
    let (ctx, fake, clock, _) = test_context(true);
    let old = tavern();
    let r_old = seed_running(&fake, &old);

    // t=0: a restart is requested.
    let mut game = tavern();
    game.spec.game_server.restart_request = Some("2026-11-24T10:00:00Z".into());
    let r_new = render(&game).unwrap();
    run(&ctx, &fake, game).await;
    let s = status_of(&fake);
    let rec = s.game_server.as_ref().unwrap().last_restart.clone().unwrap();
    assert_eq!(rec.phase, RestartPhase::InProgress);
    assert_eq!(rec.reason, RestartReason::RestartRequest);
    assert_eq!(rec.from_revision, r_old.game_revision);
    assert_eq!(rec.to_revision, r_new.game_revision);
    assert_eq!(s.game_server.as_ref().unwrap().state, GameServerState::Restarting);
    // The old game-server is still ready, but the spec asks for the new one.
    assert_eq!(cond(&s, "GameReady").0, "True");
    assert_eq!(cond(&s, "Ready").0, "False");
    assert_eq!(cond(&s, "Ready").1, "Updating");

    // t=5: the old game-server is stopping (Recreate): input now waits in Kafka.
    clock.set(5);
    fake.put(&terminating(pod(
        "tavern-game-1",
        "game",
        &r_old.game_revision,
        false,
    )));
    run(&ctx, &fake, fake.game("tavern")).await;
    let s = status_of(&fake);
    let (p, reason, message) = cond(&s, "Progressing");
    assert_eq!((p, reason), ("True", "GameServerRestarting"));
    assert!(message.contains("old one to stop"), "{message}");
    assert_eq!(cond(&s, "GameReady").0, "False");

    // t=8: the old one is gone, the new one is starting (taking the lease, rebuilding from Redis).
    clock.set(8);
    fake.remove(&path_of::<Pod>("tavern-game-1"));
    fake.put(&pod("tavern-game-2", "game", &r_new.game_revision, false));
    run(&ctx, &fake, fake.game("tavern")).await;
    let s = status_of(&fake);
    assert!(cond(&s, "Progressing").2.contains("new one to be ready"));

    // t=12: the new one is ready and says how many connections it restored.
    clock.set(12);
    fake.put(&pod("tavern-game-2", "game", &r_new.game_revision, true));
    fake.set_status(
        "tavern-game-2",
        &[(GAME_RESTORED_CONNECTIONS, 7.0), (GAME_LOGGED_IN_PLAYERS, 5.0)],
    );
    run(&ctx, &fake, fake.game("tavern")).await;
    let s = status_of(&fake);
    let rec = s.game_server.as_ref().unwrap().last_restart.clone().unwrap();
    assert_eq!(rec.phase, RestartPhase::Succeeded);
    assert_eq!(rec.duration_seconds, Some(12));
    assert_eq!(rec.input_wait_seconds, Some(7), "paused from t=5 to t=12");
    assert_eq!(rec.restored_connections, Some(7));
    assert!(rec.ended_at.is_some());
    assert_eq!(cond(&s, "Progressing").0, "False");
    assert_eq!(cond(&s, "Ready").0, "True");
    assert_eq!(s.players, Some(5));
    assert_eq!(
        s.input_lag, None,
        "no input lag in the status document yet: absent, not 0"
    );
    let completed: Vec<_> = fake
        .events()
        .into_iter()
        .filter(|(_, r, _)| r == "RestartCompleted")
        .collect();
    assert_eq!(completed.len(), 1);
    assert!(
        completed[0].2.contains("7 connections restored"),
        "{:?}",
        completed[0]
    );

    // Later reconciles keep the record as it is.
    clock.set(400);
    run(&ctx, &fake, fake.game("tavern")).await;
    assert_eq!(status_of(&fake).game_server.unwrap().last_restart.unwrap(), rec);
}

#[tokio::test]
async fn a_new_game_server_that_crash_loops_is_reported_once_not_looped_on() {
    let (ctx, fake, clock, _) = test_context(false);
    let r_old = seed_running(&fake, &tavern());
    let mut game = tavern();
    game.spec.game_server.image = "ghcr.io/mush-dev/mush-game-server:broken".into();
    let r_new = render(&game).unwrap();
    run(&ctx, &fake, game).await;

    clock.set(20);
    fake.remove(&path_of::<Pod>("tavern-game-1"));
    fake.put(&crash_looping(pod(
        "tavern-game-2",
        "game",
        &r_new.game_revision,
        false,
    )));
    let mut failed_events = 0;
    for t in [20, 40, 60] {
        clock.set(t);
        fake.clear_log();
        run(&ctx, &fake, fake.game("tavern")).await;
        failed_events += fake
            .events()
            .iter()
            .filter(|(ty, r, _)| ty == "Warning" && r == "RestartFailed")
            .count();
        assert!(
            !fake.events().iter().any(|(_, r, _)| r == "RestartStarted"),
            "the failed version is not restarted again"
        );
    }
    assert_eq!(failed_events, 1, "the failure is reported once");
    let s = status_of(&fake);
    let rec = s.game_server.as_ref().unwrap().last_restart.clone().unwrap();
    assert_eq!(rec.phase, RestartPhase::Failed);
    assert_eq!(rec.from_revision, r_old.game_revision);
    assert!(rec.message.as_deref().unwrap().contains("CrashLoopBackOff"));
    assert_eq!(s.game_server.as_ref().unwrap().state, GameServerState::Failed);
    assert_eq!(cond(&s, "Degraded").1, "GameServerRestartFailed");
    assert_eq!(cond(&s, "Degraded").0, "True");
    assert_eq!(cond(&s, "Progressing").1, "GameServerRestartFailed");
    assert_eq!(cond(&s, "Ready").0, "False");
}

#[tokio::test]
async fn gateway_rollout_progress_is_visible_in_status_until_complete() {
    let (ctx, fake, clock, _) = test_context(false);
    let r_old = seed_running(&fake, &tavern());
    run(&ctx, &fake, tavern()).await; // status now records revision A
    assert!(status_of(&fake).gateways.unwrap().rollout.is_none());

    let mut game = fake.game("tavern");
    game.spec.connection_server.image = "ghcr.io/mush-dev/mush-connection-server:0.2.0".into();
    let r_new = render(&game).unwrap();
    assert_ne!(r_old.gateway_revision, r_new.gateway_revision);
    assert_eq!(
        r_old.game_revision, r_new.game_revision,
        "a gateway change does not restart the game"
    );

    // A surge gateway of the new revision starts; both old ones still serve.
    clock.set(10);
    fake.put(&pod(
        "tavern-gateway-c",
        "gateway",
        &r_new.gateway_revision,
        false,
    ));
    run(&ctx, &fake, game).await;
    let s = status_of(&fake);
    let rollout = s.gateways.as_ref().unwrap().rollout.clone().unwrap();
    assert_eq!(rollout.phase, RolloutPhase::InProgress);
    assert_eq!(
        rollout.progress,
        "0/2 new gateways ready, 2 old serving, 0 draining"
    );
    assert_eq!(cond(&s, "Progressing").1, "GatewayRollout");
    assert!(fake.events().iter().any(|(_, r, _)| r == "GatewayRolloutStarted"));
    assert!(!fake.events().iter().any(|(_, r, _)| r == "RestartStarted"));

    // The new one is ready; an old one drains its players.
    clock.set(20);
    fake.put(&pod("tavern-gateway-c", "gateway", &r_new.gateway_revision, true));
    fake.put(&terminating(pod(
        "tavern-gateway-a",
        "gateway",
        &r_old.gateway_revision,
        false,
    )));
    fake.put(&pod(
        "tavern-gateway-d",
        "gateway",
        &r_new.gateway_revision,
        false,
    ));
    run(&ctx, &fake, fake.game("tavern")).await;
    let s = status_of(&fake);
    let gw = s.gateways.clone().unwrap();
    assert_eq!(
        gw.rollout.as_ref().unwrap().progress,
        "1/2 new gateways ready, 1 old serving, 1 draining"
    );
    assert_eq!(gw.draining_pods, vec!["tavern-gateway-a".to_owned()]);
    assert_eq!(gw.draining, 1);

    // Both new gateways ready, the old ones gone.
    clock.set(70);
    for name in ["tavern-gateway-a", "tavern-gateway-b"] {
        fake.remove(&path_of::<Pod>(name));
    }
    fake.put(&pod("tavern-gateway-d", "gateway", &r_new.gateway_revision, true));
    run(&ctx, &fake, fake.game("tavern")).await;
    let s = status_of(&fake);
    let rollout = s.gateways.as_ref().unwrap().rollout.clone().unwrap();
    assert_eq!(rollout.phase, RolloutPhase::Complete);
    assert!(rollout.ended_at.is_some());
    assert_eq!(cond(&s, "Progressing").0, "False");
    assert!(
        fake.events()
            .iter()
            .any(|(_, r, _)| r == "GatewayRolloutComplete")
    );
}

#[tokio::test]
async fn a_failed_reconcile_is_counted_by_reason() {
    let (ctx, _fake, _clock, registry) = test_context(false);
    let mut game = tavern();
    game.metadata.namespace = None;
    let game = Arc::new(game);
    let err = reconcile(game.clone(), ctx.clone()).await.unwrap_err();
    assert_eq!(err.metric_label(), "missing_namespace");
    let action = error_policy(game, &err, ctx.clone());
    assert_eq!(action, Action::requeue(crate::controller::REQUEUE_ERROR));
    let families = registry.gather();
    let failures = families
        .iter()
        .find(|f| f.name() == "mush_operator_reconcile_failures_total")
        .expect("failure metric registered");
    let m = &failures.get_metric()[0];
    assert_eq!(m.get_label()[0].value(), "missing_namespace");
    assert_eq!(m.get_counter().get_value(), 1.0);
}

/// Every scenario above, by name, for the tests that look at all the requests the scenarios make
/// (`permissions`). Each runs on its own runtime, on the calling thread.
pub(crate) fn every_scenario() -> Vec<(&'static str, fn())> {
    macro_rules! named {
        ($($name:ident,)*) => { vec![$((stringify!($name), $name as fn()),)*] };
    }
    named![
        create_applies_every_child_with_an_owner_reference_and_reports_what_it_waits_for,
        generated_secrets_are_created_once_before_the_pods_and_never_rewritten,
        a_deleted_or_hand_edited_child_is_restored_on_the_next_reconcile,
        a_running_game_reports_ready_with_players_and_connections_from_the_metrics,
        each_gateway_carries_a_deletion_cost_from_its_connections_so_the_emptiest_goes_first,
        a_pod_whose_metrics_never_answer_does_not_hold_up_the_reconciliation,
        a_missing_secret_for_external_redis_is_reported_as_not_ready_with_the_reason,
        a_missing_tls_secret_is_reported_and_the_gateways_wait_for_it,
        children_the_spec_no_longer_asks_for_are_deleted_and_nothing_else,
        the_topic_job_of_old_partition_counts_is_deleted_once_the_counts_grow,
        children_an_earlier_operator_named_differently_are_deleted,
        an_invalid_spec_applies_nothing_and_says_what_to_fix,
        a_child_the_api_server_refuses_is_reported_and_the_others_are_still_applied,
        restart_is_refused_while_redis_is_not_ready_and_starts_once_it_is,
        a_restart_waits_for_a_dependency_the_same_change_rolls,
        restart_sequence_records_start_pause_end_and_restored_connections,
        a_new_game_server_that_crash_loops_is_reported_once_not_looped_on,
        gateway_rollout_progress_is_visible_in_status_until_complete,
        a_failed_reconcile_is_counted_by_reason,
    ]
}

#[test]
fn every_scenario_is_listed() {
    let marker = concat!("#[tokio", "::test]");
    let written = include_str!("scenarios.rs").matches(marker).count();
    assert_eq!(
        every_scenario().len(),
        written,
        "a scenario is missing from every_scenario()"
    );
}
