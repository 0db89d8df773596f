//! Pure: which of the objects a MushGame owns are no longer asked for by its spec.
//!
//! Server-side apply only adds and updates. A child the spec stops asking for (Redis or Kafka
//! turned from managed to external, the ServiceMonitor or the dashboards turned off, the topic
//! Job of old partition counts) would keep running, so after applying, the controller lists what
//! the game owns of every kind it can create and deletes what [`unwanted`] names. Only objects
//! whose controlling owner reference is this very MushGame (by uid) are candidates: an object
//! someone made by hand with the game's labels, or one of an earlier MushGame of the same name,
//! is never touched. The data volumes of Redis and Redpanda are not among them: their
//! PersistentVolumeClaims come from claim templates and are kept (see `render::kafka`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::render::Rendered;

/// Every kind the operator creates, so every kind it may have to remove.
pub const KINDS: [&str; 9] = [
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
    "Job",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
];

/// An object of the game in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owned {
    pub kind: &'static str,
    pub name: String,
}

impl Owned {
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// The object's controlling owner reference is the MushGame with `uid`.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|o| {
        o.controller == Some(true)
            && o.uid == uid
            && o.kind == crate::crd::KIND
            && o.api_version.starts_with(crate::crd::GROUP)
    })
}

/// The owned objects `rendered` does not contain, in a stable order.
pub fn unwanted(rendered: &Rendered, owned: &[Owned]) -> Vec<Owned> {
    let mut out: Vec<Owned> = owned
        .iter()
        .filter(|o| rendered.find(o.kind, &o.name).is_none())
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;
    use crate::crd::{ExternalKafka, ExternalRedis, MushGame, SecretKeyRef};
    use crate::render::render;

    fn game() -> MushGame {
        let mut g = MushGame::new("tavern", Default::default());
        g.metadata.namespace = Some("games".into());
        g.metadata.uid = Some("uid-1".into());
        g
    }

    fn all_of(r: &Rendered) -> Vec<Owned> {
        r.children
            .iter()
            .map(|c| Owned::new(KINDS.iter().find(|k| **k == c.kind()).unwrap(), c.name()))
            .collect()
    }

    #[test]
    fn what_the_spec_stops_asking_for_is_pruned_and_nothing_else() {
        let mut before = game();
        before.spec.observability.service_monitor = true;
        before.spec.observability.dashboards = true;
        let old = render(&before).unwrap();
        let mut owned = all_of(&old);
        assert!(unwanted(&old, &owned).is_empty(), "the desired set is kept");

        // Topic Job of earlier partition counts, left from a previous pass.
        owned.push(Owned::new("Job", "tavern-topics-0ld0ld00"));
        let mut after = before.clone();
        after.spec.observability.service_monitor = false;
        after.spec.observability.dashboards = false;
        after.spec.redis.managed = None;
        after.spec.redis.external = Some(ExternalRedis {
            url_secret: SecretKeyRef {
                name: "redis-url".into(),
                key: "url".into(),
            },
        });
        after.spec.kafka.managed = None;
        after.spec.kafka.external = Some(ExternalKafka {
            bootstrap_servers: "k.example:9092".into(),
            create_topics: true,
            tls: None,
            sasl: None,
        });
        let new = render(&after).unwrap();
        let topics = old.topics_job.clone().unwrap();
        let mut want = vec![
            Owned::new("ConfigMap", "tavern-dashboards"),
            Owned::new("Job", "tavern-topics-0ld0ld00"),
            Owned::new("Job", topics),
            Owned::new("NetworkPolicy", "tavern-kafka"),
            Owned::new("NetworkPolicy", "tavern-redis"),
            Owned::new("PodDisruptionBudget", "tavern-kafka"),
            Owned::new("PodDisruptionBudget", "tavern-redis"),
            Owned::new("Service", "tavern-kafka"),
            Owned::new("Service", "tavern-redis"),
            Owned::new("ServiceMonitor", "tavern"),
            Owned::new("StatefulSet", "tavern-kafka"),
            Owned::new("StatefulSet", "tavern-redis"),
        ];
        want.sort();
        assert_eq!(unwanted(&new, &owned), want);
        // The same name of another kind is another object: the metrics Service stays.
        assert!(!unwanted(&new, &owned).contains(&Owned::new("Service", "tavern-metrics")));
    }

    #[test]
    fn every_kind_the_operator_renders_can_be_pruned() {
        let mut g = game();
        g.spec.observability.service_monitor = true;
        g.spec.observability.dashboards = true;
        for child in render(&g).unwrap().children {
            assert!(KINDS.contains(&child.kind()), "{} is never pruned", child.kind());
        }
    }

    #[test]
    fn only_objects_this_game_controls_are_candidates() {
        let owner = |uid: &str, controller: bool| ObjectMeta {
            owner_references: Some(vec![OwnerReference {
                api_version: "mush.dev/v1alpha1".into(),
                kind: "MushGame".into(),
                name: "tavern".into(),
                uid: uid.into(),
                controller: Some(controller),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        };
        assert!(controlled_by(&owner("uid-1", true), "uid-1"));
        assert!(
            !controlled_by(&owner("uid-0", true), "uid-1"),
            "an earlier game of the same name"
        );
        assert!(
            !controlled_by(&owner("uid-1", false), "uid-1"),
            "not the controller"
        );
        assert!(!controlled_by(&ObjectMeta::default(), "uid-1"), "made by hand");
    }
}
