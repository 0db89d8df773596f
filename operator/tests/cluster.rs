//! End to end against a real cluster, when `KUBECONFIG` is set (skipped otherwise, with a note).
//!
//! Installs the CRD, runs the controller in this process (scoped to a fresh namespace), applies
//! the example MushGame and checks: children appear with owner references; a deleted child comes
//! back; a restart request is recorded in status; deleting the MushGame garbage-collects the
//! children. It does not assume pods run: on an API server without nodes the status must say what
//! it waits for, and a restart is refused because Redis is not ready, which is also recorded.
//!
//! Run it with `KUBECONFIG=~/.kube/config cargo test -p mush-operator --test cluster -- --nocapture`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use mush_operator::controller::{self, Context};
use mush_operator::crd::MushGame;
use mush_operator::metrics::OperatorMetrics;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(90);

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_mushgame_on_a_real_cluster() {
    if std::env::var_os("KUBECONFIG").is_none() {
        println!("SKIPPED a_mushgame_on_a_real_cluster: set KUBECONFIG to run it against a cluster");
        return;
    }
    let client = Client::try_default().await.expect("a client from KUBECONFIG");

    // The CRD, applied and established.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let ssa = PatchParams::apply("mush-operator-test").force();
    crds.patch(
        "mushgames.mush.dev",
        &ssa,
        &Patch::Apply(mush_operator::crd::crd()),
    )
    .await
    .expect("CRD applied");
    tokio::time::timeout(
        TIMEOUT,
        await_condition(
            crds.clone(),
            "mushgames.mush.dev",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("CRD established in time")
    .expect("watching the CRD");

    // A namespace of our own.
    let ns_name = format!("mush-it-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": ns_name}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");

    // The controller, in this process, watching only that namespace.
    let registry = prometheus::Registry::new();
    let ctx = Arc::new(Context::new(
        client.clone(),
        OperatorMetrics::new(&registry),
        Some("integration-test".into()),
        false,
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(controller::run(ctx, Some(ns_name.clone()), async move {
        let _ = stop_rx.await;
    }));

    // The example, as a newcomer applies it.
    let example = std::fs::read_to_string(format!(
        "{}/../manifests/mushgame.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let game: MushGame = serde_yaml::from_str(&example).unwrap();
    let games: Api<MushGame> = Api::namespaced(client.clone(), &ns_name);
    let created = games
        .create(&PostParams::default(), &game)
        .await
        .expect("MushGame created");
    let uid = created.uid().unwrap();

    // Children appear, owned by the game.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns_name);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns_name);
    for name in ["tavern-gateway", "tavern-game"] {
        let d = eventually(&format!("Deployment {name}"), || async {
            deployments.get_opt(name).await.ok().flatten()
        })
        .await;
        let owner = &d.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("MushGame", uid.as_str())
        );
    }

    // The status says what it waits for.
    let status = eventually("a status", || async {
        games.get_status("tavern").await.ok().and_then(|g| g.status)
    })
    .await;
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    println!("Ready={} ({}): {}", ready.status, ready.reason, ready.message);
    assert!(!ready.message.is_empty());

    // A deleted child is restored.
    services
        .delete("tavern-gateway", &DeleteParams::default())
        .await
        .expect("Service deleted");
    eventually("the Service to come back", || async {
        services
            .get_opt("tavern-gateway")
            .await
            .ok()
            .flatten()
            .filter(|s| s.uid().is_some())
    })
    .await;

    // A restart request is recorded: started, or refused while Redis/Kafka are not ready.
    let patch = json!({"spec": {"gameServer": {"restartRequest": "integration-test"}}});
    games
        .patch("tavern", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("restart requested");
    let recorded = eventually("the restart in status", || async {
        let s = games.get_status("tavern").await.ok()?.status?;
        let refused = s
            .conditions
            .iter()
            .any(|c| c.type_ == "Progressing" && c.reason == "DependenciesNotReady");
        let started = s
            .game_server
            .as_ref()?
            .last_restart
            .as_ref()
            .map(|r| r.reason == "restartRequest");
        (refused || started == Some(true)).then_some(s)
    })
    .await;
    println!("after the restart request: {:?}", recorded.game_server);

    // Deleting the MushGame garbage-collects the children (kube-controller-manager's collector).
    games
        .delete("tavern", &DeleteParams::foreground())
        .await
        .expect("MushGame deleted");
    eventually(
        "garbage collection of the children (needs kube-controller-manager)",
        || async {
            let left = deployments.list(&Default::default()).await.ok()?.items.len();
            (left == 0).then_some(())
        },
    )
    .await;

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
    namespaces.delete(&ns_name, &DeleteParams::default()).await.ok();
}
