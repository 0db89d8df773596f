//! Test support: a small in-memory Kubernetes API server behind `tower_test::mock::pair`.
//!
//! It plays the API server for a `kube::Client` (the ApiServerVerifier pattern), answering GET,
//! LIST (in a namespace or across all), server-side-apply PATCH (objects and `/status`), JSON merge
//! PATCH, POST, PUT and DELETE from a map of objects keyed by their URL path, and records every
//! request so a test can assert the conversation: what was read, what was applied (and what was
//! not), which status was written and which Events were published. A WATCH is recorded and never
//! answered (nothing changes behind a test's back). While [`collect_requests`] runs, every request
//! any fake on the thread receives is also collected (see `permissions`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use kube::{Client, Resource};
use prometheus::Registry;
use serde::Serialize;
use serde_json::{Value, json};

use crate::controller::{Clock, Context};
use crate::crd::MushGame;
use crate::metrics::OperatorMetrics;
use mush_protocol::figures::{Figure, StatusDocument};

/// How a request for a pod's status document ends: the API server's pod proxy to the pod's
/// health port, as `observe` asks for it.
fn status_suffix() -> String {
    format!(
        ":{}/proxy{}",
        crate::render::HEALTH_PORT,
        mush_protocol::figures::STATUS_PATH
    )
}

pub const NS: &str = "games";

/// One request the fake API server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    /// The `Content-Type` header (it tells a server-side apply from a merge patch).
    pub content_type: String,
    pub body: Option<Value>,
}

impl Recorded {
    /// A write of a MushGame's status subresource (not a read of a pod's status document).
    pub fn writes_game_status(&self) -> bool {
        self.method == Method::PATCH && self.path.contains("/mushgames/") && self.path.ends_with("/status")
    }

    pub fn is_apply(&self) -> bool {
        self.method == Method::PATCH && self.query.contains("fieldManager=mush-operator")
    }

    pub fn is_watch(&self) -> bool {
        self.method == Method::GET && self.query.split('&').any(|p| p == "watch=true" || p == "watch=1")
    }

    async fn of(request: Request<Body>) -> Self {
        let method = request.method().clone();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let bytes = request.into_body().collect_bytes().await.expect("request body");
        let body =
            (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("request bodies are JSON"));
        Self {
            method,
            path,
            query,
            content_type,
            body,
        }
    }
}

thread_local! {
    /// Every request the fakes on this thread receive, while [`collect_requests`] runs.
    static COLLECTED: RefCell<Option<Vec<Recorded>>> = const { RefCell::new(None) };
}

/// Runs `f` (which may start fake API servers and runtimes of its own, on this thread) and returns
/// every request those fakes received.
pub fn collect_requests(f: impl FnOnce()) -> Vec<Recorded> {
    COLLECTED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    COLLECTED.with(|c| c.borrow_mut().take()).unwrap_or_default()
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    /// The status documents served for `GET …/pods/<name>:9100/proxy/status`.
    status_documents: BTreeMap<String, StatusDocument>,
    log: Vec<Recorded>,
    resource_version: u64,
    /// Object paths whose server-side apply is answered 422, with this message.
    refuse: BTreeMap<String, String>,
    /// Pods whose `/status` never answers (a wedged process behind the pod proxy).
    hanging: std::collections::BTreeSet<String>,
}

/// The fake API server, shared between the test and the task answering requests.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

fn not_found(path: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{path} not found"), "reason": "NotFound", "code": 404
        }),
    )
}

fn conflict(path: &str) -> (StatusCode, Value) {
    (
        StatusCode::CONFLICT,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{path}: conflict"), "reason": "Conflict", "code": 409
        }),
    )
}

/// Path of the object a typed value would live at.
pub fn path_of<K: Resource<DynamicType = ()>>(name: &str) -> String {
    let url = K::url_path(&(), Some(NS));
    format!("{url}/{name}")
}

impl FakeApi {
    /// A client wired to a new fake API server; the server task runs until the client is dropped.
    pub fn start() -> (Client, FakeApi) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = FakeApi::default();
        let server = fake.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let request = Recorded::of(request).await;
                server.record(&request);
                if request.is_watch() || server.hangs(&request.path) {
                    // Never answered: the responder is kept, so the caller waits until it gives up.
                    tokio::spawn(async move {
                        let _send = send;
                        std::future::pending::<()>().await
                    });
                    continue;
                }
                send.send_response(server.respond(request));
            }
        });
        (Client::new(service, NS), fake)
    }

    /// Stores `obj` as if it existed in the cluster.
    pub fn put<K: Resource<DynamicType = ()> + Serialize>(&self, obj: &K) {
        let name = obj.meta().name.clone().expect("named object");
        let mut value = serde_json::to_value(obj).expect("serializable");
        value["metadata"]["namespace"] = json!(NS);
        self.state
            .lock()
            .unwrap()
            .objects
            .insert(path_of::<K>(&name), value);
    }

    pub fn put_value(&self, path: &str, value: Value) {
        self.state.lock().unwrap().objects.insert(path.to_owned(), value);
    }

    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().objects.remove(path);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// The stored object of type `K`.
    pub fn get_typed<K: Resource<DynamicType = ()> + serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Option<K> {
        self.get(&path_of::<K>(name))
            .map(|v| serde_json::from_value(v).expect("stored object parses"))
    }

    /// Answers every apply of `path` with 422 Invalid and `message`.
    pub fn refuse_apply(&self, path: &str, message: &str) {
        self.state
            .lock()
            .unwrap()
            .refuse
            .insert(path.to_owned(), message.to_owned());
    }

    /// The pod's `/status` never answers from now on.
    pub fn hang_status(&self, pod: &str) {
        self.state.lock().unwrap().hanging.insert(pod.to_owned());
    }

    fn hangs(&self, path: &str) -> bool {
        let Some(pod) = path.strip_suffix(status_suffix().as_str()) else {
            return false;
        };
        let pod = pod.rsplit('/').next().unwrap_or_default();
        self.state.lock().unwrap().hanging.contains(pod)
    }

    /// The pod's `/status` answers with these figures from now on.
    pub fn set_status(&self, pod: &str, figures: &[(Figure, f64)]) {
        self.state
            .lock()
            .unwrap()
            .status_documents
            .insert(pod.to_owned(), StatusDocument::with(figures));
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Server-side applies of children so far (status writes excluded), as object paths.
    pub fn applied_paths(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|r| r.is_apply() && !r.path.ends_with("/status"))
            .map(|r| r.path)
            .collect()
    }

    /// The Events published so far, as (type, reason, note).
    pub fn events(&self) -> Vec<(String, String, String)> {
        self.log()
            .into_iter()
            .filter(|r| r.method == Method::POST && r.path.ends_with("/events"))
            .filter_map(|r| r.body)
            .map(|b| {
                let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
                (s("type"), s("reason"), s("note"))
            })
            .collect()
    }

    /// The MushGame as stored (status included), to feed into the next reconciliation.
    pub fn game(&self, name: &str) -> MushGame {
        self.get_typed::<MushGame>(name).expect("the MushGame is stored")
    }

    fn record(&self, request: &Recorded) {
        self.state.lock().unwrap().log.push(request.clone());
        COLLECTED.with(|c| {
            if let Some(all) = c.borrow_mut().as_mut() {
                all.push(request.clone());
            }
        });
    }

    fn respond(&self, request: Recorded) -> Response<Body> {
        let Recorded {
            method,
            path,
            body,
            content_type,
            ..
        } = request;
        let (status, value, text) = {
            let mut st = self.state.lock().unwrap();
            if let Some(pod) = path.strip_suffix(status_suffix().as_str()) {
                let pod = pod.rsplit('/').next().unwrap_or_default();
                match st.status_documents.get(pod) {
                    Some(doc) => (
                        StatusCode::OK,
                        Value::Null,
                        Some(serde_json::to_string(doc).expect("a document")),
                    ),
                    None => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"kind": "Status", "code": 503}),
                        None,
                    ),
                }
            } else {
                let (s, v) = if content_type == "application/merge-patch+json" {
                    st.merge(&path, body.unwrap_or_default())
                } else {
                    st.answer(&method, &path, body)
                };
                (s, v, None)
            }
        };
        let bytes = match text {
            Some(t) => t.into_bytes(),
            None => serde_json::to_vec(&value).expect("JSON"),
        };
        Response::builder()
            .status(status)
            .body(Body::from(bytes))
            .expect("response")
    }
}

/// A list answer holding `items`.
fn list_of(items: Vec<Value>) -> Value {
    json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "1" }, "items": items })
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
fn merge_into(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge_into(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

impl State {
    /// A JSON merge patch of a stored object (not server-side apply: only the fields given change).
    fn merge(&mut self, path: &str, patch: Value) -> (StatusCode, Value) {
        let version = self.next_version();
        let Some(obj) = self.objects.get_mut(path) else {
            return not_found(path);
        };
        merge_into(obj, patch);
        obj["metadata"]["resourceVersion"] = json!(version);
        (StatusCode::OK, obj.clone())
    }

    /// The objects of a cluster-wide collection (`/api/v1/<plural>`, `/apis/<g>/<v>/<plural>`) in
    /// every namespace.
    fn across_namespaces(&self, path: &str) -> Vec<Value> {
        let Some((base, plural)) = path.rsplit_once('/') else {
            return Vec::new();
        };
        let prefix = format!("{base}/namespaces/");
        self.objects
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(&prefix)
                    .map(|rest| rest.split('/').collect::<Vec<_>>())
                    .is_some_and(|parts| parts.len() == 3 && parts[1] == plural)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    fn answer(&mut self, method: &Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        // `/api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]` or `/apis/<g>/<v>/namespaces/…`.
        let after_ns: Vec<&str> = path
            .split("/namespaces/")
            .nth(1)
            .map(|rest| rest.split('/').collect())
            .unwrap_or_default();
        let is_collection = after_ns.len() == 2;
        let is_status = after_ns.len() == 4 && after_ns[3] == "status";
        let object_path = if is_status {
            path.trim_end_matches("/status").to_owned()
        } else {
            path.to_owned()
        };
        if *method == Method::GET && !path.contains("/namespaces/") {
            return (StatusCode::OK, list_of(self.across_namespaces(path)));
        }
        match *method {
            Method::GET if is_collection => {
                let prefix = format!("{path}/");
                let items: Vec<Value> = self
                    .objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
                    .map(|(_, v)| v.clone())
                    .collect();
                let kind = after_ns[1];
                (
                    StatusCode::OK,
                    json!({ "apiVersion": "v1", "kind": format!("{kind}List"),
                            "metadata": { "resourceVersion": "1" }, "items": items }),
                )
            }
            Method::GET => match self.objects.get(&object_path) {
                Some(v) => (StatusCode::OK, v.clone()),
                None => not_found(path),
            },
            Method::PATCH if self.refuse.contains_key(&object_path) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": self.refuse[&object_path], "reason": "Invalid", "code": 422
                }),
            ),
            Method::PATCH => {
                let body = body.unwrap_or_default();
                let version = self.next_version();
                let existing = self.objects.get(&object_path).cloned();
                let stored = if is_status {
                    let Some(mut obj) = existing else {
                        return not_found(path);
                    };
                    obj["status"] = body["status"].clone();
                    obj
                } else {
                    let mut obj = body;
                    let generation = match &existing {
                        Some(old) if old.get("spec") == obj.get("spec") => {
                            old["metadata"]["generation"].clone()
                        }
                        Some(old) => json!(old["metadata"]["generation"].as_i64().unwrap_or(1) + 1),
                        None => json!(1),
                    };
                    obj["metadata"]["generation"] = generation;
                    obj["metadata"]["uid"] = existing
                        .as_ref()
                        .map(|o| o["metadata"]["uid"].clone())
                        .unwrap_or_else(|| json!(format!("uid-{version}")));
                    if let Some(status) = existing.as_ref().and_then(|o| o.get("status")) {
                        obj["status"] = status.clone();
                    }
                    obj
                };
                let mut stored = stored;
                stored["metadata"]["resourceVersion"] = json!(version);
                self.objects.insert(object_path, stored.clone());
                (StatusCode::OK, stored)
            }
            Method::POST => {
                let mut obj = body.unwrap_or_default();
                if path.ends_with("/events") {
                    return (StatusCode::CREATED, obj);
                }
                let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                let key = format!("{path}/{name}");
                if self.objects.contains_key(&key) {
                    return conflict(path);
                }
                obj["metadata"]["resourceVersion"] = json!(self.next_version());
                self.objects.insert(key, obj.clone());
                (StatusCode::CREATED, obj)
            }
            Method::PUT => {
                let mut obj = body.unwrap_or_default();
                let Some(existing) = self.objects.get(&object_path) else {
                    return not_found(path);
                };
                if obj["metadata"]["resourceVersion"] != existing["metadata"]["resourceVersion"] {
                    return conflict(path);
                }
                obj["metadata"]["resourceVersion"] = json!(self.next_version());
                self.objects.insert(object_path, obj.clone());
                (StatusCode::OK, obj)
            }
            Method::DELETE => match self.objects.remove(&object_path) {
                Some(v) => (StatusCode::OK, v),
                None => not_found(path),
            },
            _ => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"kind": "Status", "code": 405}),
            ),
        }
    }
}

/// A settable clock for tests.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<Timestamp>>);

impl TestClock {
    pub fn at(second: i64) -> Self {
        Self(Arc::new(Mutex::new(
            Timestamp::from_second(1_800_000_000 + second).unwrap(),
        )))
    }
    pub fn set(&self, second: i64) {
        *self.0.lock().unwrap() = Timestamp::from_second(1_800_000_000 + second).unwrap();
    }
    pub fn clock(&self) -> Clock {
        let t = self.0.clone();
        Clock::from_fn(move || *t.lock().unwrap())
    }
}

/// A controller Context wired to a fake API server, with its own metrics registry.
pub fn test_context(scrape: bool) -> (Arc<Context>, FakeApi, TestClock, Registry) {
    let (client, fake) = FakeApi::start();
    let registry = Registry::new();
    let clock = TestClock::at(0);
    let mut ctx = Context::new(
        client,
        OperatorMetrics::new(&registry),
        Some("test".into()),
        scrape,
    );
    ctx.clock = clock.clock();
    ctx.scrape_timeout = std::time::Duration::from_millis(200);
    (Arc::new(ctx), fake, clock, registry)
}

/// The example game `tavern` in namespace `games`, as the API server would hand it over.
pub fn tavern() -> MushGame {
    let mut g = MushGame::new("tavern", Default::default());
    g.metadata.namespace = Some(NS.into());
    g.metadata.uid = Some("0b6f1a6e-game".into());
    g.metadata.generation = Some(1);
    g
}
