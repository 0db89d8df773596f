//! ServiceAccount, PodDisruptionBudgets and the NetworkPolicies that admit to each component only
//! what it serves.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::game::game_server_replicas;
use super::gateway::player_ports;
use super::kafka::ADMIN_PORT;
use super::{COMPONENT_LABEL, Component, Ctx, GAME_LABEL, HEALTH_PORT, KAFKA_PORT, REDIS_PORT};
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
/// * Managed Redis and Redpanda: `maxUnavailable: 1` over their one pod, so a drain is never
///   blocked (a budget of 0 would hang it until someone deletes the budget). It does not keep the
///   pod from being evicted, and one pod could not be kept: what survives the eviction is the data
///   on the PersistentVolume (Redis's append-only file, Redpanda's fsynced log); the StatefulSet
///   recreates the pod wherever the volume can follow, and meanwhile the servers wait for it. The
///   budget states that one pod at a time may go, for tools and policies that expect a budget on
///   every workload, and stays right should there ever be more pods.
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

/// One NetworkPolicy per component, each admitting only what that component serves (ingress;
/// egress is left open):
///
/// * gateways: the players' ports from anywhere (telnet, the web client unless it is off, and
///   with TLS their TLS ports); the health and metrics port from the metrics sources
///   ([`metrics_sources`]);
/// * game-server: the health and metrics port from the metrics sources, nothing else;
/// * managed Redis: its port from the game's gateways and game-server;
/// * managed Redpanda: the Kafka port from the game's gateways, game-server and topic Job (which
///   also uses the admin port), and everything from the broker itself.
///
/// The kubelet's probes come from the pod's own node, which a NetworkPolicy never blocks.
pub fn network_policies(ctx: &Ctx) -> Vec<NetworkPolicy> {
    let metrics = metrics_sources(ctx);
    let mut out = vec![
        policy(
            ctx,
            Component::Gateway,
            vec![
                rule(
                    player_ports(&ctx.spec.connection_server)
                        .into_iter()
                        .map(|(_, number, _)| port(number))
                        .collect(),
                    None,
                ),
                rule(vec![port(HEALTH_PORT)], Some(metrics.clone())),
            ],
        ),
        policy(
            ctx,
            Component::Game,
            vec![rule(vec![port(HEALTH_PORT)], Some(metrics))],
        ),
    ];
    if ctx.spec.redis.managed.is_some() {
        out.push(policy(
            ctx,
            Component::Redis,
            vec![rule(
                vec![port(REDIS_PORT)],
                Some(vec![game_pods(ctx, &[Component::Gateway, Component::Game])]),
            )],
        ));
    }
    if ctx.spec.kafka.managed.is_some() {
        out.push(policy(
            ctx,
            Component::Kafka,
            vec![
                rule(
                    vec![port(KAFKA_PORT)],
                    Some(vec![game_pods(
                        ctx,
                        &[Component::Gateway, Component::Game, Component::Topics],
                    )]),
                ),
                rule(
                    vec![port(ADMIN_PORT)],
                    Some(vec![game_pods(ctx, &[Component::Topics])]),
                ),
                rule(Vec::new(), Some(vec![game_pods(ctx, &[Component::Kafka])])),
            ],
        ));
    }
    out
}

/// Who may read the gateways' and game-server's health and metrics port: the operator's own
/// namespace (by the `kubernetes.io/metadata.name` label Kubernetes gives every namespace), then
/// `observability.metricsFrom`.
pub fn metrics_sources(ctx: &Ctx) -> Vec<NetworkPolicyPeer> {
    let mut peers = vec![NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some([(NAMESPACE_NAME_LABEL.to_owned(), ctx.operator_namespace.clone())].into()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    peers.extend(ctx.spec.observability.metrics_from.iter().cloned());
    peers
}

/// The label Kubernetes sets on every namespace to its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn policy(ctx: &Ctx, c: Component, ingress: Vec<NetworkPolicyIngressRule>) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ctx.meta(ctx.names.of(c), c),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(ctx.selector(c)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(ingress),
            egress: None,
        }),
    }
}

/// `from: None` admits every source; `ports` empty admits every port.
fn rule(ports: Vec<NetworkPolicyPort>, from: Option<Vec<NetworkPolicyPeer>>) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from,
        ports: (!ports.is_empty()).then_some(ports),
    }
}

fn port(number: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(number)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// Pods of this game (same namespace) of the given components.
fn game_pods(ctx: &Ctx, components: &[Component]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some([(GAME_LABEL.to_owned(), ctx.names.game.clone())].into()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: COMPONENT_LABEL.into(),
                operator: "In".into(),
                values: Some(components.iter().map(|c| c.as_str().to_owned()).collect()),
            }]),
        }),
        ..Default::default()
    }
}
