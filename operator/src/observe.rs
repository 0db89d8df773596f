//! Observe: every read one reconciliation makes, gathered into [`Observed`], which with the
//! MushGame is all the pure [`plan`](crate::plan) decides from. The API server's answers to the
//! writes of the pass are recorded there too ([`Answers`]): they are the freshest view of the
//! children (the restart gate judges Redis and Kafka from them) and say what was refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, Resource, ResourceExt};
use mush_protocol::figures::{self, STATUS_PATH, StatusDocument};
use serde::de::DeserializeOwned;
use tracing::debug;

use crate::controller::{Context, Error};
use crate::crd::MushGame;
use crate::plan::{Desired, wanted_game_revision};
use crate::prune::{self, Owned};
use crate::render::{Component, FIELD_MANAGER, GAME_LABEL, HEALTH_PORT, Names};
use crate::status::{pod_name, pod_ready, pod_revision, pod_terminating, pods_of};

/// The cluster state the decisions are made from.
#[derive(Debug, Default)]
pub struct Observed {
    pub gateway: Option<Deployment>,
    pub game: Option<Deployment>,
    pub redis: Option<StatefulSet>,
    pub kafka: Option<StatefulSet>,
    pub topics: Option<Job>,
    /// Every pod of the game (gateways, game-server, Redis, Redpanda, topic Job).
    pub pods: Vec<Pod>,
    /// Figures read from the pods' status documents (`/status`).
    pub figures: Figures,
    /// The Secrets the spec names that do not exist.
    pub missing_secrets: Vec<String>,
    /// The Secrets the operator generates (`render::secrets`), in render order, and whether each
    /// exists. Reading stops at the first one that cannot be read: [`Self::unreadable_secret`].
    pub generated_secrets: Vec<(String, bool)>,
    pub unreadable_secret: Option<Error>,
    /// What the game controls of every kind in [`prune::KINDS`] (listed only with a valid spec
    /// and a uid: there is nothing to prune otherwise), and the kinds that could not be listed.
    pub owned: Vec<Owned>,
    pub unlistable: Vec<Error>,
    /// What the API server answered to this pass's writes so far.
    pub answers: Answers,
}

/// The API server's answers to the writes of one pass.
#[derive(Debug, Default)]
pub struct Answers {
    /// The generated Secrets created (one another writer created first is not among them).
    pub secrets_created: Vec<String>,
    /// The creation of a generated Secret that failed (the ones after it were not tried).
    pub secret_refused: Option<Error>,
    /// Each child's apply, in order (the game-server's, when applied, last).
    pub applies: Vec<ApplyAnswer>,
    /// Each delete of an object the spec no longer asks for; already gone counts as deleted.
    pub deletes: Vec<(Owned, Result<(), Error>)>,
}

/// The API server's answer to one apply.
#[derive(Debug)]
pub enum ApplyAnswer {
    Applied,
    /// A ServiceMonitor whose API (the Prometheus Operator's) is not installed: skipped.
    NoServiceMonitorApi,
    Refused(Error),
}

impl Observed {
    /// What failed this pass, in the order it is reported: the generated Secrets (a refused
    /// creation, else one that could not be read), the applies, the listing of owned objects, the
    /// deletes.
    pub fn failures(&self) -> Vec<&Error> {
        let a = &self.answers;
        let secret = a.secret_refused.as_ref().or(self.unreadable_secret.as_ref());
        let refused = a.applies.iter().filter_map(|answer| match answer {
            ApplyAnswer::Refused(e) => Some(e),
            _ => None,
        });
        let deletes = a.deletes.iter().filter_map(|(_, r)| r.as_ref().err());
        secret
            .into_iter()
            .chain(refused)
            .chain(&self.unlistable)
            .chain(deletes)
            .collect()
    }

    /// The first of [`Self::failures`]: the reconciliation's error.
    pub fn into_first_failure(self) -> Option<Error> {
        let Observed {
            unreadable_secret,
            unlistable,
            answers,
            ..
        } = self;
        let Answers {
            secret_refused,
            applies,
            deletes,
            ..
        } = answers;
        secret_refused
            .or(unreadable_secret)
            .or_else(|| {
                applies.into_iter().find_map(|answer| match answer {
                    ApplyAnswer::Refused(e) => Some(e),
                    _ => None,
                })
            })
            .or_else(|| unlistable.into_iter().next())
            .or_else(|| deletes.into_iter().find_map(|(_, r)| r.err()))
    }
}

/// Figures read from the pods' metrics.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    pub players: Option<i64>,
    pub input_lag: Option<i64>,
    pub restored: Option<i64>,
    pub reconciliation_seconds: Option<f64>,
    /// Open connections over all gateways, only when every ready gateway answered.
    pub gateway_connections: Option<i64>,
    /// Open connections of each ready gateway that answered, by pod name.
    pub connections_by_gateway: BTreeMap<String, i64>,
}

/// The Secrets the spec names (TLS, external Redis and Kafka credentials).
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

/// Reads everything the plan needs. A failed read of a workload, the pods or a Secret the spec
/// names fails the reconciliation; one of a generated Secret or of the owned objects is kept in
/// [`Observed`] and reported like a refused write, so the rest still goes ahead.
pub async fn observe(ctx: &Context, game: &MushGame, ns: &str, desired: &Desired) -> Result<Observed, Error> {
    let client = &ctx.client;
    let names = Names::new(&game.name_any());
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
        if let Some(job) = desired.rendered.as_ref().and_then(|r| r.topics_job.as_deref()) {
            o.topics = get_opt(client, ns, job).await?;
        }
    }
    o.pods = list_pods(client, ns, &names).await?;
    o.missing_secrets = missing_secrets(client, ns, game).await?;
    if ctx.scrape_pod_metrics {
        let revision = wanted_game_revision(desired, o.game.as_ref());
        o.figures = read_figures(client, ns, ctx.scrape_timeout, &o.pods, &revision).await;
    }
    if let Some(rendered) = &desired.rendered {
        let wanted = rendered.secrets.iter().map(|s| s.name().to_owned());
        (o.generated_secrets, o.unreadable_secret) = generated_secrets(client, ns, wanted).await;
        if let Some(uid) = game.metadata.uid.as_deref() {
            (o.owned, o.unlistable) = owned(client, ns, game, uid).await;
        }
    }
    Ok(o)
}

async fn list_pods(client: &Client, ns: &str, names: &Names) -> Result<Vec<Pod>, Error> {
    let selector = format!("{GAME_LABEL}={}", names.game);
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::Read {
            kind: "Pod".into(),
            name: selector,
            source,
        })?;
    Ok(pods.items)
}

/// The Secrets the spec names that do not exist. Only metadata: the operator checks that a
/// Secret exists, never reads its values.
async fn missing_secrets(client: &Client, ns: &str, game: &MushGame) -> Result<Vec<String>, Error> {
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let mut missing = Vec::new();
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
            missing.push(name);
        }
    }
    Ok(missing)
}

/// Whether each generated Secret exists (metadata only), up to the first that cannot be read.
async fn generated_secrets(
    client: &Client,
    ns: &str,
    wanted: impl Iterator<Item = String>,
) -> (Vec<(String, bool)>, Option<Error>) {
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let mut found = Vec::new();
    for name in wanted {
        match secrets.get_metadata_opt(&name).await {
            Ok(meta) => found.push((name, meta.is_some())),
            Err(source) => return (found, Some(Error::CreateSecret { name, source })),
        }
    }
    (found, None)
}

/// What the game controls of every kind it may have created, and the kinds that could not be
/// listed.
async fn owned(client: &Client, ns: &str, game: &MushGame, uid: &str) -> (Vec<Owned>, Vec<Error>) {
    let selector = format!(
        "{GAME_LABEL}={},app.kubernetes.io/managed-by={FIELD_MANAGER}",
        game.name_any()
    );
    let mut owned = Vec::new();
    let mut unlistable = Vec::new();
    for kind in prune::KINDS {
        match owned_of_kind(client, ns, kind, &selector, uid).await {
            Ok(names) => owned.extend(names.into_iter().flatten().map(|n| Owned::new(kind, n))),
            Err(source) => unlistable.push(Error::Read {
                kind: kind.to_owned(),
                name: selector.clone(),
                source,
            }),
        }
    }
    (owned, unlistable)
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

/// GET a pod's status document (`/status` on its health port) through the API server's pod
/// proxy, giving up after `timeout`.
async fn read_status(client: &Client, ns: &str, pod: &str, timeout: Duration) -> Option<StatusDocument> {
    let url = format!("/api/v1/namespaces/{ns}/pods/{pod}:{HEALTH_PORT}/proxy{STATUS_PATH}");
    let request = http::Request::get(url).body(Vec::new()).ok()?;
    let text = match tokio::time::timeout(timeout, client.request_text(request)).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => {
            debug!(pod, error = %e, "could not read the pod's status");
            return None;
        }
        Err(_) => {
            debug!(pod, ?timeout, "the pod's status did not answer in time");
            return None;
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| debug!(pod, error = %e, "the pod's status is not a status document"))
        .ok()
}

/// Reads the figures from the pods' status documents: the ready game-server (preferring the wanted
/// revision) and every ready gateway, all at once, so the slowest pod costs one timeout.
async fn read_figures(
    client: &Client,
    ns: &str,
    timeout: Duration,
    pods: &[Pod],
    game_revision: &str,
) -> Figures {
    let ready_game = pods_of(pods, Component::Game)
        .into_iter()
        .filter(|p| pod_ready(p) && !pod_terminating(p))
        .max_by_key(|p| pod_revision(p) == Some(game_revision))
        .map(pod_name);
    let ready_gateways: Vec<String> = pods_of(pods, Component::Gateway)
        .into_iter()
        .filter(|p| pod_ready(p))
        .map(pod_name)
        .collect();
    let game_status = async {
        match &ready_game {
            Some(pod) => read_status(client, ns, pod, timeout).await,
            None => None,
        }
    };
    let gateway_statuses = futures::future::join_all(
        ready_gateways
            .iter()
            .map(|pod| async move { (pod.clone(), read_status(client, ns, pod, timeout).await) }),
    );
    let (game_status, gateway_statuses) = futures::join!(game_status, gateway_statuses);
    let mut f = game_status.map(|doc| game_figures(&doc)).unwrap_or_default();
    for (pod, doc) in gateway_statuses {
        if let Some(n) = doc.and_then(|doc| doc.get(&figures::GATEWAY_CONNECTIONS)) {
            f.connections_by_gateway.insert(pod, n as i64);
        }
    }
    // The total only when every ready gateway answered: a partial sum would read as a drop.
    if !ready_gateways.is_empty() && f.connections_by_gateway.len() == ready_gateways.len() {
        f.gateway_connections = Some(f.connections_by_gateway.values().sum());
    }
    f
}

/// The figures of the game-server's status document.
fn game_figures(doc: &StatusDocument) -> Figures {
    Figures {
        players: doc.get(&figures::GAME_LOGGED_IN_PLAYERS).map(|v| v as i64),
        input_lag: doc.get(&figures::GAME_INPUT_LAG).map(|v| v as i64),
        restored: doc.get(&figures::GAME_RESTORED_CONNECTIONS).map(|v| v as i64),
        reconciliation_seconds: doc.get(&figures::GAME_RECONCILIATION_SECONDS),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(what: &str) -> kube::Error {
        kube::Error::Service(Box::new(std::io::Error::other(what.to_owned())))
    }

    fn apply_error(name: &str) -> Error {
        Error::Apply {
            kind: "Service".into(),
            name: name.into(),
            source: failed(name),
        }
    }

    /// The status lists what failed in this order, and the reconciliation fails with the first.
    #[test]
    fn failures_are_reported_in_the_order_of_the_pass_and_the_first_is_the_error() {
        let mut seen = Observed {
            unreadable_secret: Some(Error::CreateSecret {
                name: "tavern-input-key".into(),
                source: failed("read"),
            }),
            unlistable: vec![Error::Read {
                kind: "Job".into(),
                name: "selector".into(),
                source: failed("list"),
            }],
            ..Default::default()
        };
        seen.answers.applies = vec![
            ApplyAnswer::Applied,
            ApplyAnswer::Refused(apply_error("a")),
            ApplyAnswer::NoServiceMonitorApi,
            ApplyAnswer::Refused(apply_error("b")),
        ];
        seen.answers.deletes = vec![(
            Owned::new("ConfigMap", "old"),
            Err(Error::Delete {
                kind: "ConfigMap".into(),
                name: "old".into(),
                source: failed("delete"),
            }),
        )];
        let order =
            |seen: &Observed| -> Vec<String> { seen.failures().iter().map(|e| e.to_string()).collect() };
        let listed = order(&seen);
        assert_eq!(listed.len(), 5);
        assert!(listed[0].contains("tavern-input-key"), "{listed:?}");
        assert!(
            listed[1].contains("Service a") && listed[2].contains("Service b"),
            "{listed:?}"
        );
        assert!(listed[3].contains("reading Job"), "{listed:?}");
        assert!(listed[4].contains("deleting ConfigMap old"), "{listed:?}");

        // A refused creation of a generated Secret comes before one that could not be read.
        seen.answers.secret_refused = Some(Error::CreateSecret {
            name: "tavern-redis-auth".into(),
            source: failed("create"),
        });
        let first = order(&seen)[0].clone();
        assert!(first.contains("tavern-redis-auth"), "{first}");
        assert_eq!(seen.into_first_failure().map(|e| e.to_string()), Some(first));
    }
}
