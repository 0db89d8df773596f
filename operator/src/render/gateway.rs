//! The connection-servers (gateways): a Deployment that never removes a gateway before its
//! replacement is ready, and drains each old one before it goes; and the players' Service.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Lifecycle, LifecycleHandler, Service, ServicePort, ServiceSpec, SleepAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::shared_env;
use super::{
    Component, Ctx, HEALTH_PORT, MUSH_UID, TELNET_PORT, container_security, env, env_field, http_probe, mount,
};

/// Seconds the preStop hook waits before the gateway gets SIGTERM, so the endpoint removal has
/// reached every node before the gateway starts draining.
pub const PRESTOP_SECONDS: i64 = 3;
/// Margin after the drain for the gateway to close what remains and exit.
pub const EXIT_MARGIN_SECONDS: i64 = 15;

/// Grace period the kubelet gives a gateway: preStop pause + drain time + margin.
pub fn termination_grace_seconds(drain_seconds: i32) -> i64 {
    PRESTOP_SECONDS + i64::from(drain_seconds) + EXIT_MARGIN_SECONDS
}

pub fn deployment(ctx: &Ctx, settings_hash: &str) -> Deployment {
    let cs = &ctx.spec.connection_server;
    let shared = shared_env(ctx);
    let mut env_vars = vec![
        env_field("MUSH_GATEWAY_NAME", "metadata.name"),
        env("MUSH_TELNET_ADDR", format!("0.0.0.0:{TELNET_PORT}")),
        // One slot per output partition: each live gateway reads a partition of its own.
        env("MUSH_GATEWAY_SLOTS", ctx.spec.kafka.output_partitions.to_string()),
        env("MUSH_DRAIN_SECONDS", cs.drain_seconds.to_string()),
        env(
            "MUSH_LOGIN_IDLE_TIMEOUT_SECONDS",
            cs.login_idle_timeout_seconds.to_string(),
        ),
        env("MUSH_IDLE_TIMEOUT_SECONDS", cs.idle_timeout_seconds.to_string()),
        env("MUSH_MAX_LINE_BYTES", cs.limits.max_line_bytes.to_string()),
        env(
            "MUSH_COMMANDS_PER_SECOND",
            cs.limits.commands_per_second.to_string(),
        ),
        env("MUSH_COMMAND_BURST", cs.limits.command_burst.to_string()),
        env(
            "MUSH_MAX_CONNECTIONS_PER_IP",
            cs.limits.max_connections_per_ip.to_string(),
        ),
        env(
            "MUSH_INPUT_BYTES_PER_SECOND",
            cs.limits.input_bytes_per_second.to_string(),
        ),
        // Four seconds' worth, and never less than the default: a pasted block arrives whole.
        env(
            "MUSH_INPUT_BYTES_BURST",
            (i64::from(cs.limits.input_bytes_per_second) * 4)
                .clamp(65_536, i64::from(i32::MAX))
                .to_string(),
        ),
        env(
            "MUSH_LOGIN_COMMANDS_PER_SECOND",
            cs.limits.login_commands_per_second.to_string(),
        ),
        env(
            "MUSH_LOGIN_DEADLINE_SECONDS",
            cs.limits.login_deadline_seconds.to_string(),
        ),
        env(
            "MUSH_OUTPUT_QUEUE_BYTES",
            cs.limits.output_queue_bytes.to_string(),
        ),
        env(
            "MUSH_MEMORY_BUDGET_BYTES",
            cs.limits.memory_budget_bytes.to_string(),
        ),
    ];
    env_vars.extend(shared.env);
    let mut mounts = vec![mount("tmp", "/tmp")];
    mounts.extend(shared.mounts);

    let container = Container {
        name: "connection-server".into(),
        image: Some(cs.image.clone()),
        ports: Some(vec![
            ContainerPort {
                name: Some("telnet".into()),
                container_port: TELNET_PORT,
                protocol: Some("TCP".into()),
                ..Default::default()
            },
            ContainerPort {
                name: Some("health".into()),
                container_port: HEALTH_PORT,
                protocol: Some("TCP".into()),
                ..Default::default()
            },
        ]),
        env_from: Some(shared.env_from),
        env: Some(env_vars),
        readiness_probe: Some(http_probe("/readyz", 5, 2)),
        liveness_probe: Some(http_probe("/livez", 10, 3)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: PRESTOP_SECONDS,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(cs.resources.clone()),
        security_context: Some(container_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let mut pod = ctx.pod_spec(MUSH_UID, vec![container], shared.volumes);
    pod.termination_grace_period_seconds = Some(termination_grace_seconds(cs.drain_seconds));

    let (template, metadata) =
        ctx.revisioned_template(Component::Gateway, ctx.names.gateway(), pod, settings_hash, &[]);
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(cs.replicas),
            selector: LabelSelector {
                match_labels: Some(ctx.selector(Component::Gateway)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    // A gateway leaves only once its replacement is ready.
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(cs.max_surge)),
                }),
            }),
            min_ready_seconds: Some(5),
            progress_deadline_seconds: Some(600 + cs.drain_seconds),
            revision_history_limit: Some(5),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The players' endpoint: `spec.connectionServer.telnetPort` on the Service, 4201 in the pod.
pub fn service(ctx: &Ctx) -> Service {
    let cs = &ctx.spec.connection_server;
    let mut metadata = ctx.meta(ctx.names.gateway(), Component::Gateway);
    if !cs.service_annotations.is_empty() {
        metadata.annotations = Some(cs.service_annotations.clone());
    }
    let external = !matches!(cs.service_type, crate::crd::ServiceType::ClusterIP);
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(cs.service_type.as_str().into()),
            selector: Some(ctx.selector(Component::Gateway)),
            ports: Some(vec![ServicePort {
                name: Some("telnet".into()),
                port: cs.telnet_port,
                target_port: Some(IntOrString::String("telnet".into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            // Keep the players' addresses visible to the gateways (per-IP limits need them).
            external_traffic_policy: external.then(|| "Local".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
