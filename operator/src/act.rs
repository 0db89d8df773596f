//! Act: carries out a [`Plan`](crate::plan::Plan): server-side apply with one field manager, the
//! generated Secrets, the deletes of what the spec no longer asks for, the gateways' deletion
//! costs, the status and the Events. Nothing is decided here; what the API server answers is
//! recorded in [`Observed`] for the next plan.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use crate::controller::{Context, Error};
use crate::crd::{API_VERSION, KIND, MushGame, MushGameStatus};
use crate::observe::{Answers, ApplyAnswer, Observed};
use crate::prune::Owned;
use crate::render::{Child, FIELD_MANAGER, GeneratedSecret, Names, RANDOM_BYTES, hex};
use crate::rollout::{self, Note};

async fn apply<K>(client: &Client, ns: &str, obj: &K) -> Result<K, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    Api::<K>::namespaced(client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await
        .map_err(|source| Error::Apply {
            kind: K::kind(&()).to_string(),
            name,
            source,
        })
}

/// What the API server answered to an apply, where the plan can use it.
enum Applied {
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    Job(Job),
    Other,
    /// A ServiceMonitor whose API is not installed: skipped.
    NoServiceMonitorApi,
}

/// Applies one child.
async fn apply_child(client: &Client, ns: &str, child: &Child) -> Result<Applied, Error> {
    match child {
        Child::ServiceAccount(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::ConfigMap(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::Service(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::Deployment(o) => apply(client, ns, o).await.map(Applied::Deployment),
        Child::StatefulSet(o) => apply(client, ns, o).await.map(Applied::StatefulSet),
        Child::Job(o) => apply(client, ns, o).await.map(Applied::Job),
        Child::PodDisruptionBudget(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::NetworkPolicy(o) => apply(client, ns, o).await.map(|_| Applied::Other),
        Child::ServiceMonitor(o) => {
            let ar = crate::render::service_monitor_resource();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            let name = child.name().to_owned();
            match api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(o),
                )
                .await
            {
                Ok(_) => Ok(Applied::Other),
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(Applied::NoServiceMonitorApi),
                Err(source) => Err(Error::Apply {
                    kind: "ServiceMonitor".into(),
                    name,
                    source,
                }),
            }
        }
    }
}

/// Applies `children` in order, keeping the API server's answers for the workloads in `seen`
/// (they are the freshest view: the status and the restart gate are planned from them). A
/// refused child is recorded and the others still go.
pub async fn apply_children(
    client: &Client,
    ns: &str,
    names: &Names,
    children: &[&Child],
    seen: &mut Observed,
) {
    for child in children {
        let answer = match apply_child(client, ns, child).await {
            Ok(Applied::Deployment(d)) if child.name() == names.gateway() => {
                seen.gateway = Some(d);
                ApplyAnswer::Applied
            }
            Ok(Applied::StatefulSet(s)) if child.name() == names.redis() => {
                seen.redis = Some(s);
                ApplyAnswer::Applied
            }
            Ok(Applied::StatefulSet(s)) => {
                seen.kafka = Some(s);
                ApplyAnswer::Applied
            }
            Ok(Applied::Job(j)) => {
                seen.topics = Some(j);
                ApplyAnswer::Applied
            }
            Ok(Applied::NoServiceMonitorApi) => ApplyAnswer::NoServiceMonitorApi,
            Ok(Applied::Deployment(_) | Applied::Other) => ApplyAnswer::Applied,
            Err(e) => ApplyAnswer::Refused(e),
        };
        seen.answers.applies.push(answer);
    }
}

/// Applies the game-server. Its answer is not kept: the restart was decided on the Deployment
/// as it was before, and the next plans of this pass must come to the same decision.
pub async fn apply_game_server(client: &Client, ns: &str, child: &Child, answers: &mut Answers) {
    answers.applies.push(match apply_child(client, ns, child).await {
        Ok(_) => ApplyAnswer::Applied,
        Err(e) => ApplyAnswer::Refused(e),
    });
}

/// `n` random bytes from the kernel (the operator runs on Linux).
fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A fresh value for a generated Secret: [`RANDOM_BYTES`] random bytes in hexadecimal.
fn random_value() -> Result<String, kube::Error> {
    random_bytes(RANDOM_BYTES)
        .map(|b| hex(&b))
        .map_err(|e| kube::Error::Service(Box::new(e)))
}

/// Creates each generated Secret with a new random value, stopping at the first failure. One
/// that exists is left exactly as it is (never read, never rewritten: see `render::secrets`);
/// a creation that loses a race with another writer (409 AlreadyExists) is fine too.
pub async fn create_secrets(client: &Client, ns: &str, wanted: &[&GeneratedSecret], answers: &mut Answers) {
    let api = Api::<Secret>::namespaced(client.clone(), ns);
    for g in wanted {
        let name = g.name().to_owned();
        let created = match random_value() {
            Ok(value) => api.create(&PostParams::default(), &g.with_value(&value)).await,
            Err(e) => Err(e),
        };
        match created {
            Ok(_) => answers.secrets_created.push(name),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(source) => {
                answers.secret_refused = Some(Error::CreateSecret { name, source });
                return;
            }
        }
    }
}

async fn delete_named<K>(client: &Client, ns: &str, name: &str) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    Api::<K>::namespaced(client.clone(), ns)
        .delete(name, &DeleteParams::background())
        .await
        .map(|_| ())
}

/// Deletes one owned object; its own dependents (a Job's pods, a StatefulSet's pods) follow in
/// the background. Already gone is fine.
async fn delete_owned(client: &Client, ns: &str, o: &Owned) -> Result<(), kube::Error> {
    let name = o.name.as_str();
    let result = match o.kind {
        "ServiceAccount" => delete_named::<ServiceAccount>(client, ns, name).await,
        "ConfigMap" => delete_named::<ConfigMap>(client, ns, name).await,
        "Service" => delete_named::<Service>(client, ns, name).await,
        "Deployment" => delete_named::<Deployment>(client, ns, name).await,
        "StatefulSet" => delete_named::<StatefulSet>(client, ns, name).await,
        "Job" => delete_named::<Job>(client, ns, name).await,
        "PodDisruptionBudget" => delete_named::<PodDisruptionBudget>(client, ns, name).await,
        "NetworkPolicy" => delete_named::<NetworkPolicy>(client, ns, name).await,
        "ServiceMonitor" => {
            let ar = crate::render::service_monitor_resource();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            api.delete(name, &DeleteParams::background()).await.map(|_| ())
        }
        other => unreachable!("{other} is not among prune::KINDS"),
    };
    match result {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other,
    }
}

/// Deletes what the plan prunes, each one's outcome recorded.
pub async fn prune(client: &Client, ns: &str, unwanted: &[Owned], answers: &mut Answers) {
    for o in unwanted {
        let result = delete_owned(client, ns, o).await.map_err(|source| Error::Delete {
            kind: o.kind.to_owned(),
            name: o.name.clone(),
            source,
        });
        answers.deletes.push((o.clone(), result));
    }
}

/// Marks each gateway with its pod-deletion cost (see [`rollout::gateway_deletion_cost`]), so a
/// scale-down removes the emptiest gateway first. Best effort: a pod that cannot be patched keeps
/// its old cost, and the next reconciliation tries again.
pub async fn mark_deletion_costs(client: &Client, ns: &str, costs: &[(String, i32)]) {
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    for (name, cost) in costs {
        let patch = serde_json::json!({
            "metadata": { "annotations": { rollout::POD_DELETION_COST: cost.to_string() } }
        });
        if let Err(e) = pods
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            warn!(pod = name, error = %e, "could not set the gateway's pod-deletion cost");
        }
    }
}

pub async fn patch_status(
    client: &Client,
    ns: &str,
    name: &str,
    status: &MushGameStatus,
) -> Result<(), Error> {
    let patch = serde_json::json!({ "apiVersion": API_VERSION, "kind": KIND, "status": status });
    Api::<MushGame>::namespaced(client.clone(), ns)
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            name: name.to_owned(),
            source,
        })?;
    Ok(())
}

pub async fn publish(ctx: &Context, game: &MushGame, notes: &[Note]) {
    let reference = game.object_ref(&());
    for note in notes {
        info!(reason = note.reason, message = %note.message, "event");
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.into(),
            note: Some(note.message.chars().take(1000).collect()),
            action: note.action.into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            warn!(reason = note.reason, error = %e, "could not publish an event");
        }
    }
}
