//! The operator against a real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager), as a user installs it.
//!
//! Starts the control plane of `../shared/k8s/control-plane.sh` on its own ports and directory
//! (skipped, with the reason printed, where the script is absent), applies
//! `manifests/install.yaml`, and runs the operator binary with a token of its own
//! ServiceAccount, so its RBAC is tested rather than bypassed. There is no kubelet: a task of
//! this test plays it, marking pods Running and Ready (or Succeeded for Jobs), except the pods it
//! is told to hold back. It asserts, end to end: children with owner references; colliding or
//! out-of-range gateway ports refused by the CRD's rules; drift repair;
//! a restart refused while Redis and Kafka are not ready, then started and completed once they
//! are; a gateway image change that rolls with surge and never an unavailable gateway; every
//! PodDisruptionBudget allowing a disruption, standby included; status conditions and printer
//! columns at each step; and deletion collecting the children.
//!
//! `cargo test -p mush-operator --test apiserver -- --nocapture` (about a minute once the
//! binaries are unpacked). `MUSH_K8S_CONTROL_PLANE` names another copy of the script.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, Scope};
use kube::{Client, Config, ResourceExt};
use mush_operator::crd::{MushGame, RestartPhase, RestartReason};
use serde::Deserialize as _;
use serde_json::json;

const NS: &str = "tavern-it";
const GAME: &str = "tavern";
const TIMEOUT: Duration = Duration::from_secs(60);

/// The control plane's ports: not the script's defaults, so a developer's own control plane
/// keeps running beside the test.
const PORTS: [(&str, &str); 4] = [
    ("MUSH_K8S_API_PORT", "16443"),
    ("MUSH_K8S_ETCD_PORT", "22379"),
    ("MUSH_K8S_ETCD_PEER_PORT", "22380"),
    ("MUSH_K8S_KCM_PORT", "20257"),
];

fn control_plane_script() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("MUSH_K8S_CONTROL_PLANE") {
        return Ok(PathBuf::from(p));
    }
    let beside_repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/k8s/control-plane.sh");
    if beside_repo.exists() {
        return Ok(beside_repo);
    }
    Err(format!(
        "no control plane: {} does not exist and MUSH_K8S_CONTROL_PLANE is not set",
        beside_repo.display()
    ))
}

/// A running control plane, stopped when dropped (and by the script itself if this process
/// dies: `--watch-pid`).
struct ControlPlane {
    script: PathBuf,
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl ControlPlane {
    fn start(script: PathBuf) -> Self {
        let dir = std::env::temp_dir().join("mush-k8s-it");
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(&script)
            .args(["up", "--fresh", "--dir"])
            .arg(&dir)
            .args(["--watch-pid", &std::process::id().to_string()])
            .envs(PORTS)
            .stderr(Stdio::inherit())
            .output()
            .expect("running control-plane.sh");
        assert!(
            out.status.success(),
            "control-plane.sh up failed ({}); its progress is above",
            out.status
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let kubeconfig = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .expect("control-plane.sh printed KUBECONFIG")
            .trim()
            .into();
        println!("control plane up in {:.1} s", started.elapsed().as_secs_f64());
        Self {
            script,
            dir,
            kubeconfig,
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .args(["down", "--dir"])
            .arg(&self.dir)
            .envs(PORTS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The operator binary, run as its ServiceAccount; killed when dropped.
struct Operator(Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn client_from(path: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(path).expect("reading a kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a client configuration");
    Client::try_from(config).expect("a client")
}

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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Applies every document of a YAML stream with server-side apply, as
/// `kubectl apply --server-side -f` does.
async fn apply_stream(client: &Client, text: &str) -> usize {
    let discovery = Discovery::new(client.clone()).run().await.expect("API discovery");
    let ssa = PatchParams::apply("mush-it").force();
    let mut applied = 0;
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc).expect("a YAML document");
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject = serde_yaml::from_value(value).expect("a Kubernetes object");
        let types = obj.types.clone().expect("apiVersion and kind");
        let gvk = kube::api::GroupVersionKind::try_from(&types).expect("a group/version/kind");
        let (resource, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("the API server knows {gvk:?}"));
        let api: Api<DynamicObject> = match (caps.scope, obj.namespace()) {
            (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), &ns, &resource),
            (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &resource),
        };
        api.patch(&obj.name_any(), &ssa, &Patch::Apply(&obj))
            .await
            .unwrap_or_else(|e| panic!("applying {} {}: {e}", types.kind, obj.name_any()));
        applied += 1;
    }
    applied
}

/// A kubeconfig that authenticates with a token of the operator's ServiceAccount.
async fn operator_kubeconfig(admin: &Client, admin_kubeconfig: &Path, dir: &Path) -> PathBuf {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), "mush-system");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = accounts
        .create_token_request("mush-operator", &PostParams::default(), &request)
        .await
        .expect("a token of the operator's ServiceAccount")
        .status
        .expect("a token")
        .token;
    let admin_config = Kubeconfig::read_from(admin_kubeconfig).unwrap();
    let cluster = admin_config.clusters[0].cluster.clone().expect("a cluster");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "it", "cluster": {
            "server": cluster.server,
            "certificate-authority-data": cluster.certificate_authority_data,
            "certificate-authority": cluster.certificate_authority,
        }}],
        "users": [{"name": "mush-operator", "user": {"token": token}}],
        "contexts": [{"name": "it", "context": {"cluster": "it", "user": "mush-operator"}}],
        "current-context": "it",
    });
    let path = dir.join("operator.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_operator(kubeconfig: &Path, log: &Path) -> Operator {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mush-operator"))
        .args([
            "--health-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--lease-namespace",
            "mush-system",
            "--identity",
            "operator-it",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting the operator binary");
    Operator(child)
}

/// What the pretend kubelet holds back: pods whose component label is in `held` stay Running
/// but not Ready, and with `standby`, one of the game-server pods stays not Ready (a standby
/// never reports ready: it waits for the lease).
#[derive(Default)]
struct KubeletPolicy {
    held: BTreeSet<&'static str>,
    standby: bool,
}

fn component(pod: &Pod) -> String {
    pod.labels()
        .get("app.kubernetes.io/component")
        .cloned()
        .unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn owned_by_job(pod: &Pod) -> bool {
    pod.owner_references().iter().any(|o| o.kind == "Job")
}

/// One pass of the pretend kubelet: every pod gets the status its policy says.
async fn kubelet_pass(pods: &Api<Pod>, policy: &KubeletPolicy) {
    let Ok(list) = pods.list(&ListParams::default()).await else {
        return;
    };
    let mut game_pods: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| component(p) == "game" && p.metadata.deletion_timestamp.is_none())
        .collect();
    game_pods.sort_by_key(|p| p.creation_timestamp().map(|t| t.0));
    let standby_pod = if policy.standby && game_pods.len() > 1 {
        game_pods.last().map(|p| p.name_any())
    } else {
        None
    };
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    for pod in &list.items {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.name_any();
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let status = if owned_by_job(pod) {
            if phase == "Succeeded" {
                continue;
            }
            json!({"phase": "Succeeded", "conditions": [
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}]})
        } else {
            let ready = !policy.held.contains(component(pod).as_str())
                && standby_pod.as_deref() != Some(name.as_str());
            if phase == "Running" && is_ready(pod) == ready {
                continue;
            }
            let flag = if ready { "True" } else { "False" };
            let containers: Vec<_> = pod
                .spec
                .as_ref()
                .map(|s| s.containers.to_vec())
                .unwrap_or_default();
            let container_statuses: Vec<_> = containers
                .iter()
                .map(|c| {
                    json!({"name": c.name, "image": c.image, "imageID": "", "ready": ready,
                           "restartCount": 0, "started": true,
                           "state": {"running": {"startedAt": now}}})
                })
                .collect();
            json!({"phase": "Running", "podIP": "10.0.0.1", "startTime": now,
                   "conditions": [
                       {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                       {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                       {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
                       {"type": "Ready", "status": flag, "lastTransitionTime": now}],
                   "containerStatuses": container_statuses})
        };
        let _ = pods
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "status": status })),
            )
            .await;
    }
}

fn spawn_kubelet(pods: Api<Pod>, policy: Arc<Mutex<KubeletPolicy>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let snapshot = {
                let p = policy.lock().unwrap();
                KubeletPolicy {
                    held: p.held.clone(),
                    standby: p.standby,
                }
            };
            kubelet_pass(&pods, &snapshot).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    })
}

fn condition(game: &MushGame, type_: &str) -> Option<(String, String, String)> {
    game.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// The columns `kubectl get mushgames` prints (server-side printing, as kubectl asks for it).
async fn printed_row(client: &Client) -> BTreeMap<String, String> {
    let request = http::Request::get(format!(
        "/apis/mush.dev/v1alpha1/namespaces/{NS}/mushgames/{GAME}"
    ))
    .header(
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    .body(Vec::new())
    .unwrap();
    let table: serde_json::Value = client.request(request).await.expect("a Table");
    let names: Vec<String> = table["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let cells = table["rows"][0]["cells"].as_array().cloned().unwrap_or_default();
    names
        .into_iter()
        .zip(cells)
        .map(|(n, c)| {
            let text = match c {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (n, text)
        })
        .collect()
}

/// The game-server pods.
async fn game_pods(pods: &Api<Pod>) -> Option<Vec<Pod>> {
    let selector = ListParams::default().labels("app.kubernetes.io/component=game");
    pods.list(&selector).await.ok().map(|l| l.items)
}

/// Changes the game's spec as a user would (`kubectl patch --type merge`).
async fn patch_spec(games: &Api<MushGame>, spec: serde_json::Value) {
    games
        .patch(
            GAME,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "spec": spec })),
        )
        .await
        .unwrap_or_else(|e| panic!("patching the spec with {spec}: {e}"));
}

/// Waits for a child to exist and checks the game is its controller (so deletion collects it).
async fn owned_child<K>(api: &Api<K>, name: &str, uid: &str) -> K
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let kind = K::kind(&());
    let child = eventually(&format!("{kind} {name}"), || async {
        api.get_opt(name).await.ok().flatten()
    })
    .await;
    assert!(
        child
            .owner_references()
            .iter()
            .any(|o| o.kind == "MushGame" && o.uid == uid && o.controller == Some(true)),
        "{kind} {name} is controlled by the game"
    );
    child
}

/// Deletes a child and waits for the operator to create it again; says how long it took.
async fn comes_back<K>(api: &Api<K>, name: &str) -> String
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let old = api.get(name).await.expect("the child exists").uid();
    api.delete(name, &DeleteParams::background())
        .await
        .expect("deleted");
    let deleted_at = Instant::now();
    eventually(&format!("{name} to be restored"), || async {
        let uid = api.get_opt(name).await.ok().flatten()?.uid();
        (uid.is_some() && uid != old).then_some(())
    })
    .await;
    format!(
        "{} {name} restored {:.1} s after its deletion",
        K::kind(&()),
        deleted_at.elapsed().as_secs_f64()
    )
}

async fn events_with_reason(client: &Client, reason: &str) -> usize {
    let events: Api<Event> = Api::namespaced(client.clone(), NS);
    events
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .filter(|e| {
                    e.involved_object.name.as_deref() == Some(GAME) && e.reason.as_deref() == Some(reason)
                })
                .count()
        })
        .unwrap_or(0)
}

async fn every_pdb_allows_a_disruption(client: &Client, what: &str) {
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), NS);
    let allowed = eventually(
        &format!("every PodDisruptionBudget to allow a disruption ({what})"),
        || async {
            let list = pdbs.list(&ListParams::default()).await.ok()?;
            let figures: Vec<(String, i32, i32)> = list
                .items
                .iter()
                .map(|p| {
                    let s = p.status.clone().unwrap_or_default();
                    (p.name_any(), s.disruptions_allowed, s.expected_pods)
                })
                .collect();
            let all = !figures.is_empty()
                && figures
                    .iter()
                    .all(|(_, allowed, expected)| *expected > 0 && *allowed >= 1);
            all.then_some(figures)
        },
    )
    .await;
    println!("PodDisruptionBudgets ({what}): {allowed:?}");
}

/// `helm`, when installed (or named by $HELM).
fn helm() -> Option<String> {
    let bin = std::env::var("HELM").unwrap_or_else(|_| "helm".to_owned());
    Command::new(&bin)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| bin)
}

async fn helm_install(admin: &Client, kubeconfig: &Path, root: &Path) {
    let Some(helm) = helm() else {
        println!("SKIPPED helm install: no helm on the PATH (set HELM to name one)");
        return;
    };
    let out = Command::new(&helm)
        .args(["install", "mush-helm"])
        .arg(root.join("charts/mush-operator"))
        .args(["--namespace", "mush-helm", "--create-namespace", "--kubeconfig"])
        .arg(kubeconfig)
        .output()
        .expect("running helm");
    assert!(
        out.status.success(),
        "helm install failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), "mush-helm");
    let operator = eventually("the chart's operator Deployment", || async {
        deployments
            .get_opt("mush-helm-mush-operator")
            .await
            .ok()
            .flatten()
    })
    .await;
    let account = operator
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.service_account_name)
        .expect("the operator runs as its ServiceAccount");
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), "mush-helm");
    assert!(
        accounts.get_opt(&account).await.unwrap().is_some(),
        "ServiceAccount {account}"
    );
    println!(
        "helm install: the chart installed beside install.yaml (Deployment and ServiceAccount {account})"
    );
    let out = Command::new(&helm)
        .args([
            "uninstall",
            "mush-helm",
            "--namespace",
            "mush-helm",
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .output()
        .expect("running helm");
    assert!(
        out.status.success(),
        "helm uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_as_installed_runs_a_game_on_a_real_control_plane() {
    let script = match control_plane_script() {
        Ok(s) => s,
        Err(reason) => {
            println!("SKIPPED the_operator_as_installed_runs_a_game_on_a_real_control_plane: {reason}");
            return;
        }
    };
    let suite = Instant::now();
    let plane = ControlPlane::start(script);
    let admin = client_from(&plane.kubeconfig).await;

    // 1. Install, exactly as the README says: `kubectl apply --server-side -f manifests/install.yaml`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let install = std::fs::read_to_string(root.join("manifests/install.yaml")).unwrap();
    let applied = apply_stream(&admin, &install).await;
    println!("install.yaml: {applied} objects applied");
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(admin.clone());
    tokio::time::timeout(
        TIMEOUT,
        kube::runtime::wait::await_condition(
            crds,
            "mushgames.mush.dev",
            kube::runtime::wait::conditions::is_crd_established(),
        ),
    )
    .await
    .expect("the CRD established in time")
    .unwrap();

    // 2. The operator binary, with a token of its own ServiceAccount: RBAC as installed.
    let op_kubeconfig = operator_kubeconfig(&admin, &plane.kubeconfig, &plane.dir).await;
    let op_log = plane.dir.join("operator.log");
    let _operator = start_operator(&op_kubeconfig, &op_log);
    println!("operator log: {}", op_log.display());

    // 3. A game, with Redis and Kafka held back by the pretend kubelet.
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap(),
        )
        .await
        .expect("namespace created");
    let pods: Api<Pod> = Api::namespaced(admin.clone(), NS);
    let policy = Arc::new(Mutex::new(KubeletPolicy {
        held: ["redis", "kafka"].into_iter().collect(),
        standby: false,
    }));
    let kubelet = spawn_kubelet(pods.clone(), policy.clone());
    let example = std::fs::read_to_string(root.join("manifests/mushgame.yaml")).unwrap();
    let game: MushGame = serde_yaml::from_str(&example).unwrap();
    let games: Api<MushGame> = Api::namespaced(admin.clone(), NS);
    let created_at = Instant::now();
    let uid = games
        .create(&PostParams::default(), &game)
        .await
        .expect("MushGame created")
        .uid()
        .unwrap();

    // Every child, owned by the game (controller reference, so deletion collects it).
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), NS);
    let statefulsets: Api<StatefulSet> = Api::namespaced(admin.clone(), NS);
    let services: Api<Service> = Api::namespaced(admin.clone(), NS);
    let configmaps: Api<ConfigMap> = Api::namespaced(admin.clone(), NS);
    for name in ["tavern-gateway", "tavern-game"] {
        owned_child(&deployments, name, &uid).await;
    }
    for name in ["tavern-redis", "tavern-kafka"] {
        owned_child(&statefulsets, name, &uid).await;
    }
    for name in ["tavern-gateway", "tavern-redis", "tavern-kafka", "tavern-metrics"] {
        owned_child(&services, name, &uid).await;
    }
    for name in ["tavern-settings", "tavern-welcome"] {
        owned_child(&configmaps, name, &uid).await;
    }
    // The generated Secrets (the Redis password, the input key): created once, owned by the game.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(admin.clone(), NS);
    for name in ["tavern-redis-auth", "tavern-input-key"] {
        let secret = owned_child(&secrets, name, &uid).await;
        let values = secret.data.unwrap_or_default();
        assert!(
            values.values().any(|v| v.0.len() >= 32),
            "{name} holds a generated value"
        );
    }
    println!("children created in {:.1} s", created_at.elapsed().as_secs_f64());

    // While Redis and Kafka are not ready, the game is not Ready and says why.
    let waiting = eventually("Ready=False naming what it waits for", || async {
        let g = games.get_status(GAME).await.ok()?;
        let (status, reason, message) = condition(&g, "Ready")?;
        (status == "False" && !message.is_empty()).then_some((reason, message))
    })
    .await;
    println!("Ready=False: {waiting:?}");
    let row = printed_row(&admin).await;
    let columns: Vec<&str> = row.keys().map(String::as_str).collect();
    for column in ["Name", "Ready", "Players", "Game", "Gateways", "Age"] {
        assert!(
            columns.contains(&column),
            "printer column {column} in {columns:?}"
        );
    }
    assert_eq!(row["Ready"], "False", "kubectl get shows Ready=False: {row:?}");

    // The API server refuses gateway Service ports that collide (CEL rules) or are no port.
    for (spec, says) in [
        (json!({ "connectionServer": { "webPort": 4201 } }), "must differ"),
        (
            json!({ "connectionServer": { "tls": { "secretName": "tavern-tls", "telnetPort": 4280 } } }),
            "must differ",
        ),
        (json!({ "connectionServer": { "webPort": 70000 } }), "65535"),
    ] {
        let refused = games
            .patch(
                GAME,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "spec": spec })),
            )
            .await
            .err()
            .unwrap_or_else(|| panic!("the API server accepted {spec}"));
        assert!(refused.to_string().contains(says), "{spec}: {refused}");
    }

    // 4. Drift repair: deleted children come back (as new objects).
    for seconds in [
        comes_back(&deployments, "tavern-gateway").await,
        comes_back(&services, "tavern-gateway").await,
        comes_back(&configmaps, "tavern-welcome").await,
    ] {
        println!("{seconds}");
    }

    // 5. A restart requested while Redis and Kafka are not ready is refused, with a condition
    //    and an Event, and leaves the running game-server alone.
    let game_before = eventually("the game-server pod ready", || async {
        game_pods(&pods)
            .await?
            .into_iter()
            .find(is_ready)
            .map(|p| p.name_any())
    })
    .await;
    patch_spec(&games, json!({"gameServer": {"restartRequest": "it-1"}})).await;
    let refused = eventually("the restart refused (DependenciesNotReady)", || async {
        let g = games.get_status(GAME).await.ok()?;
        let (status, reason, message) = condition(&g, "Progressing")?;
        (status == "False" && reason == "DependenciesNotReady").then_some(message)
    })
    .await;
    println!("restart refused: {refused}");
    eventually("a RestartRefused Event", || async {
        (events_with_reason(&admin, "RestartRefused").await > 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still: Vec<String> = game_pods(&pods)
        .await
        .unwrap()
        .iter()
        .map(|p| p.name_any())
        .collect();
    assert_eq!(
        still,
        vec![game_before.clone()],
        "the refused restart left the game-server running"
    );

    // Redis and Kafka become ready: the restart starts on its own and completes.
    policy.lock().unwrap().held.clear();
    let deps_ready_at = Instant::now();
    let record = eventually("the restart to complete", || async {
        let g = games.get_status(GAME).await.ok()?;
        let restart = g.status?.game_server?.last_restart?;
        (restart.reason == RestartReason::RestartRequest && restart.phase == RestartPhase::Succeeded)
            .then_some(restart)
    })
    .await;
    println!(
        "restart completed {:.1} s after Redis and Kafka became ready: {record:?}",
        deps_ready_at.elapsed().as_secs_f64()
    );
    let game_after: Vec<String> = game_pods(&pods)
        .await
        .unwrap()
        .iter()
        .map(|p| p.name_any())
        .collect();
    assert!(
        !game_after.contains(&game_before),
        "a new game-server pod runs: {game_after:?}"
    );
    eventually("a RestartCompleted Event", || async {
        (events_with_reason(&admin, "RestartCompleted").await > 0).then_some(())
    })
    .await;
    let ready = eventually("Ready=True", || async {
        let g = games.get_status(GAME).await.ok()?;
        let (status, _, message) = condition(&g, "Ready")?;
        (status == "True").then_some(message)
    })
    .await;
    println!("Ready=True: {ready}");
    let row = printed_row(&admin).await;
    assert_eq!(row["Ready"], "True", "kubectl get shows Ready=True: {row:?}");

    // 6. Every PodDisruptionBudget allows a node drain to evict one pod.
    every_pdb_allows_a_disruption(&admin, "one game-server").await;

    // 7. A gateway image change rolls with surge and never leaves fewer gateways available
    //    than asked for.
    let gateway = eventually("every gateway available (minReadySeconds passed)", || async {
        let d = deployments.get("tavern-gateway").await.ok()?;
        let want = d.spec.as_ref()?.replicas?;
        (d.status.as_ref()?.available_replicas == Some(want)).then_some(d)
    })
    .await;
    let replicas = gateway.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let strategy = gateway.spec.as_ref().and_then(|s| s.strategy.clone()).unwrap();
    let rolling = strategy.rolling_update.expect("a rolling update");
    assert_eq!(
        serde_json::to_value(&rolling.max_unavailable).unwrap(),
        json!(0),
        "gateways roll with no unavailable one"
    );
    let new_image = "ghcr.io/mush-dev/mush-connection-server:0.1.1";
    patch_spec(&games, json!({"connectionServer": {"image": new_image}})).await;
    let rolled_at = Instant::now();
    let mut fewest_available = i32::MAX;
    let mut most_pods = 0;
    loop {
        let d = deployments.get("tavern-gateway").await.unwrap();
        let status = d.status.clone().unwrap_or_default();
        let image_set = d
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .is_some_and(|s| s.containers.iter().any(|c| c.image.as_deref() == Some(new_image)));
        if image_set {
            if status.available_replicas.unwrap_or(0) < replicas && fewest_available >= replicas {
                println!(
                    "available below {replicas} at {:.2} s: {status:?}",
                    rolled_at.elapsed().as_secs_f64()
                );
            }
            fewest_available = fewest_available.min(status.available_replicas.unwrap_or(0));
            most_pods = most_pods.max(status.replicas.unwrap_or(0));
        }
        let done = image_set
            && d.metadata.generation == status.observed_generation
            && status.updated_replicas == Some(replicas)
            && status.available_replicas == Some(replicas)
            && status.replicas == Some(replicas);
        if done {
            break;
        }
        assert!(
            rolled_at.elapsed() < TIMEOUT,
            "the gateway rollout did not finish: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "gateway rollout: {:.1} s, fewest available {fewest_available} of {replicas}, at most {most_pods} pods",
        rolled_at.elapsed().as_secs_f64()
    );
    assert!(
        fewest_available >= replicas,
        "a gateway was unavailable during the rollout"
    );
    assert!(
        most_pods > replicas,
        "the rollout surged (new gateways before old ones left)"
    );
    let new_gateways = pods
        .list(&ListParams::default().labels("app.kubernetes.io/component=gateway"))
        .await
        .unwrap();
    assert!(new_gateways.items.iter().all(|p| {
        p.spec
            .as_ref()
            .is_some_and(|s| s.containers.iter().any(|c| c.image.as_deref() == Some(new_image)))
    }));
    eventually("the status to report the rollout done and Ready=True", || async {
        let g = games.get_status(GAME).await.ok()?;
        (condition(&g, "Ready")?.0 == "True").then_some(())
    })
    .await;

    // 8. With a standby (never ready: it waits for the lease), drains are still possible.
    policy.lock().unwrap().standby = true;
    patch_spec(&games, json!({"gameServer": {"standby": true}})).await;
    eventually("two game-server pods (active and standby)", || async {
        (game_pods(&pods)
            .await?
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count()
            == 2)
            .then_some(())
    })
    .await;
    every_pdb_allows_a_disruption(&admin, "active and standby").await;

    // 9. Deleting the game collects every child (kube-controller-manager's garbage collector).
    games.delete(GAME, &DeleteParams::background()).await.unwrap();
    let deleted_at = Instant::now();
    eventually("every child collected", || async {
        let d = deployments.list(&ListParams::default()).await.ok()?.items.len();
        let s = statefulsets.list(&ListParams::default()).await.ok()?.items.len();
        let svc = services.list(&ListParams::default()).await.ok()?.items.len();
        let cm = configmaps
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .iter()
            .filter(|c| !c.owner_references().is_empty())
            .count();
        (d + s + svc + cm == 0).then_some(())
    })
    .await;
    println!(
        "children collected {:.1} s after the deletion",
        deleted_at.elapsed().as_secs_f64()
    );

    kubelet.abort();

    // 10. The Helm chart installs into the same cluster beside it (another release name, so
    //     its cluster-wide names do not collide; the CRD exists already and is kept).
    helm_install(&admin, &plane.kubeconfig, &root).await;
    println!("suite ran in {:.1} s", suite.elapsed().as_secs_f64());
}
