//! The connection-servers (gateways): a Deployment that never removes a gateway before its
//! replacement is ready, and drains each old one before it goes; and the players' Service.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Lifecycle, LifecycleHandler, Service, ServicePort, ServiceSpec, SleepAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::{read_only, secret_volume, shared_env};
use super::{
    Component, Ctx, HEALTH_PORT, MUSH_UID, TELNET_PORT, TELNET_TLS_PORT, WEB_PORT, WEB_TLS_PORT,
    container_security, env, env_field, http_probe, mount,
};
use crate::crd::ConnectionServerSpec;

/// Where the TLS Secret is mounted in the gateway (a whole-Secret volume, not `subPath`, so the
/// kubelet updates the files when the Secret changes and the gateway picks them up).
pub const TLS_DIR: &str = "/etc/mush/tls";

/// The players' ports: name (of the container port and of the Service port), port in the pod,
/// and the gateway's variable for the address it listens on.
const PLAYER_PORTS: [(&str, i32, &str); 4] = [
    ("telnet", TELNET_PORT, "MUSH_TELNET_ADDR"),
    ("web", WEB_PORT, "MUSH_WEB_ADDR"),
    ("telnet-tls", TELNET_TLS_PORT, "MUSH_TELNET_TLS_ADDR"),
    ("web-tls", WEB_TLS_PORT, "MUSH_WEB_TLS_ADDR"),
];

/// The players' ports in the gateway pod, as (name, port, listener variable): those of
/// [`ConnectionServerSpec::service_ports`], the ones the Service exposes.
pub fn player_ports(cs: &ConnectionServerSpec) -> Vec<(&'static str, i32, &'static str)> {
    cs.service_ports()
        .into_iter()
        .filter_map(|(name, _)| PLAYER_PORTS.into_iter().find(|(n, _, _)| *n == name))
        .collect()
}

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
    let mut env_vars = vec![env_field("MUSH_GATEWAY_NAME", "metadata.name")];
    env_vars.extend(
        player_ports(cs)
            .into_iter()
            .map(|(_, port, var)| env(var, format!("0.0.0.0:{port}"))),
    );
    if cs.web && !cs.web_allowed_origins.is_empty() {
        env_vars.push(env("MUSH_WEB_ALLOWED_ORIGINS", cs.web_allowed_origins.join(",")));
    }
    if cs.tls.is_some() {
        env_vars.push(env("MUSH_TLS_CERT_FILE", format!("{TLS_DIR}/tls.crt")));
        env_vars.push(env("MUSH_TLS_KEY_FILE", format!("{TLS_DIR}/tls.key")));
    }
    env_vars.extend([
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
    ]);
    env_vars.extend(shared.env);
    let mut mounts = vec![mount("tmp", "/tmp")];
    mounts.extend(shared.mounts);
    let mut volumes = shared.volumes;
    if let Some(tls) = &cs.tls {
        let mut volume = secret_volume("tls", &tls.secret_name, None);
        if let Some(secret) = volume.secret.as_mut() {
            // The key is readable by the gateway's group (fsGroup) only.
            secret.default_mode = Some(0o440);
        }
        volumes.push(volume);
        mounts.push(read_only(mount("tls", TLS_DIR)));
    }
    let mut ports: Vec<ContainerPort> = player_ports(cs)
        .into_iter()
        .map(|(name, port, _)| container_port(name, port))
        .collect();
    ports.push(container_port("health", HEALTH_PORT));

    let container = Container {
        name: "connection-server".into(),
        image: Some(cs.image.clone()),
        ports: Some(ports),
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
    let mut pod = ctx.pod_spec(MUSH_UID, vec![container], volumes);
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

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The players' endpoint: `telnet` (`spec.connectionServer.telnetPort` on the Service, 4201 in the
/// pod), `web` (`webPort`, 4280) unless the web client is off, and with TLS `telnet-tls`
/// (`tls.telnetPort`, 4202) and `web-tls` (`tls.webPort`, 4243, unless the web client is off),
/// each targeting the container port of its name.
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
            ports: Some(
                cs.service_ports()
                    .into_iter()
                    .map(|(name, port)| ServicePort {
                        name: Some(name.into()),
                        port,
                        target_port: Some(IntOrString::String(name.into())),
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            // Keep the players' addresses visible to the gateways (per-IP limits need them).
            external_traffic_policy: external.then(|| "Local".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}
