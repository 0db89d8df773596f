//! ServiceAccount, PodDisruptionBudgets and the NetworkPolicy that keeps Redis and Kafka to the
//! game's own pods.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::game::game_server_replicas;
use super::{COMPONENT_LABEL, Component, Ctx, GAME_LABEL};
use crate::crd::MushGameSpec;

/// The identity of the game's pods. They never call the Kubernetes API, so no token is mounted.
pub fn service_account(ctx: &Ctx) -> ServiceAccount {
    ServiceAccount {
        metadata: ctx.meta(ctx.names.service_account(), Component::Game),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// The voluntary-disruption budget (node drains) of one component, chosen so that a drain can
/// always go on: the disruption controller allows `ready pods - (pods - maxUnavailable)`
/// evictions, and a budget that leaves 0 in the steady state blocks every drain for good.
///
/// * Gateways: `maxUnavailable: 1`, all of them ready in the steady state, so one is always
///   evictable, and gateways leave one by one, each draining its players.
/// * Game-server: `maxUnavailable` is its pod count (1, or 2 with a standby). The standby is live
///   but never Ready (it waits for the lease), so `maxUnavailable: 1` over two pods would leave 0
///   evictions and hang every drain of the active pod's node. The pair is not protected by the
///   budget but by the game-server itself: the Redis lease with fencing means two game-servers
///   never act at once, the standby takes the lease when the active one goes, and a lone
///   game-server evicted is recreated by its Deployment while input waits in Kafka.
///
/// `unhealthyPodEvictionPolicy: AlwaysAllow`: a pod that is not Ready (a standby, a crash loop)
/// serves no one, so evicting it never waits on the budget.
pub fn pdb(ctx: &Ctx, c: Component) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ctx.meta(ctx.names.of(c), c),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(max_unavailable(ctx.spec, c))),
            selector: Some(LabelSelector {
                match_labels: Some(ctx.selector(c)),
                ..Default::default()
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `maxUnavailable` of a component's budget (see [`pdb`]).
pub fn max_unavailable(spec: &MushGameSpec, c: Component) -> i32 {
    match c {
        Component::Game => game_server_replicas(&spec.game_server),
        _ => 1,
    }
}

/// Only pods of this game reach its managed Redis and Kafka. `None` when both are external.
pub fn backends_network_policy(ctx: &Ctx) -> Option<NetworkPolicy> {
    let mut components = Vec::new();
    if ctx.spec.redis.managed.is_some() {
        components.push(Component::Redis.as_str().to_owned());
    }
    if ctx.spec.kafka.managed.is_some() {
        components.push(Component::Kafka.as_str().to_owned());
    }
    if components.is_empty() {
        return None;
    }
    Some(NetworkPolicy {
        metadata: ctx.meta(ctx.names.backends_policy(), Component::Game),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some([(GAME_LABEL.to_owned(), ctx.names.game.clone())].into()),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: COMPONENT_LABEL.into(),
                    operator: "In".into(),
                    values: Some(components),
                }]),
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_labels: Some([(GAME_LABEL.to_owned(), ctx.names.game.clone())].into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ports: None,
            }]),
            egress: None,
        }),
    })
}
