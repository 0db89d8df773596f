//! ServiceAccount, PodDisruptionBudgets and the NetworkPolicy that keeps Redis and Kafka to the
//! game's own pods.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{COMPONENT_LABEL, Component, Ctx, GAME_LABEL};

/// The identity of the game's pods. They never call the Kubernetes API, so no token is mounted.
pub fn service_account(ctx: &Ctx) -> ServiceAccount {
    ServiceAccount {
        metadata: ctx.meta(ctx.names.service_account(), Component::Game),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// At most one pod of the component evicted at a time by voluntary disruptions (node drains):
/// gateways leave one by one, each draining; the game-server and its standby never go together.
/// (A budget that forbids evicting a single game-server would block node drains for good.)
pub fn pdb(ctx: &Ctx, c: Component) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ctx.meta(ctx.names.of(c), c),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(ctx.selector(c)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
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
