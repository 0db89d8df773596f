//! The game-server: a Deployment with the `Recreate` strategy, so an old game-server has exited
//! before a new one is created. The leadership lease (with fencing) inside the game-server is the
//! hard guarantee against two active writers; `Recreate` keeps the restart orderly. With `standby`
//! a second pod waits, live but not ready, to take over the lease if the active one dies.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, Container, ContainerPort, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;

use super::config::{WELCOME_DIR, WELCOME_KEY, shared_env};
use super::{
    Component, Ctx, HEALTH_PORT, INPUT_KEY_PREVIOUS_KEY, MUSH_UID, container_security, env, env_field,
    env_secret_key, http_probe, mount,
};
use crate::crd::{GameServerSpec, MushGame, RESTART_ANNOTATION};

/// Annotation on the game-server's pod template carrying the restart request it was started for.
pub const RESTART_TOKEN_ANNOTATION: &str = "mush.dev/restart-token";

/// The restart request in force: `spec.gameServer.restartRequest` and the MushGame's
/// `mush.dev/restart-request` annotation. A change in either restarts the game-server.
pub fn restart_token(game: &MushGame) -> String {
    let spec = game
        .spec
        .game_server
        .restart_request
        .as_deref()
        .unwrap_or_default();
    let annotation = game
        .annotations()
        .get(RESTART_ANNOTATION)
        .map(String::as_str)
        .unwrap_or_default();
    if annotation.is_empty() {
        spec.to_owned()
    } else {
        format!("{spec}/{annotation}")
    }
}

/// Game-server pods: the active one, and the standby when asked for.
pub fn game_server_replicas(gs: &GameServerSpec) -> i32 {
    if gs.standby { 2 } else { 1 }
}

pub fn deployment(ctx: &Ctx, settings_hash: &str) -> Deployment {
    let gs = &ctx.spec.game_server;
    let shared = shared_env(ctx);
    let mut env_vars = vec![
        env_field("MUSH_INSTANCE_NAME", "metadata.name"),
        env("MUSH_WELCOME_FILE", format!("{WELCOME_DIR}/{WELCOME_KEY}")),
        env("MUSH_LEASE_TTL_MS", gs.lease_ttl_ms.to_string()),
        env("MUSH_FUEL_PER_LINE", gs.budgets.fuel_per_line.to_string()),
        env("MUSH_FUEL_PER_SECOND", gs.budgets.fuel_per_second.to_string()),
        env(
            "MUSH_FUEL_BURST",
            (gs.budgets.fuel_per_line.max(gs.budgets.fuel_per_second) * 2).to_string(),
        ),
        env(
            "MUSH_OUTPUT_BYTES_PER_LINE",
            gs.budgets.output_bytes_per_line.to_string(),
        ),
        env("MUSH_OBJECT_QUOTA", gs.budgets.object_quota.to_string()),
        env("MUSH_LINE_TIME_MS", gs.budgets.line_time_ms.to_string()),
        env("MUSH_POISON_ATTEMPTS", gs.budgets.poison_attempts.to_string()),
    ];
    if let Some(room) = &gs.master_room {
        env_vars.push(env("MUSH_MASTER_ROOM", room.clone()));
    }
    env_vars.extend(shared.env);
    // During a rotation of the input key: the key before the current one, still opened (the
    // gateways seal with `MUSH_INPUT_KEY` only).
    env_vars.push(env_secret_key(
        "MUSH_INPUT_KEY_PREVIOUS",
        &ctx.names.input_key(),
        INPUT_KEY_PREVIOUS_KEY,
        true,
    ));
    let mut mounts = vec![mount("tmp", "/tmp"), {
        let mut m = mount("welcome", WELCOME_DIR);
        m.read_only = Some(true);
        m
    }];
    mounts.extend(shared.mounts);
    let mut volumes = vec![Volume {
        name: "welcome".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: ctx.names.welcome(),
            ..Default::default()
        }),
        ..Default::default()
    }];
    volumes.extend(shared.volumes);

    let container = Container {
        name: "game-server".into(),
        image: Some(gs.image.clone()),
        ports: Some(vec![ContainerPort {
            name: Some("health".into()),
            container_port: HEALTH_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        env_from: Some(shared.env_from),
        env: Some(env_vars),
        // Ready only once it holds the lease and has rebuilt its connection view from Redis.
        readiness_probe: Some(http_probe("/readyz", 2, 1)),
        liveness_probe: Some(http_probe("/livez", 10, 3)),
        resources: Some(gs.resources.clone()),
        security_context: Some(container_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let mut pod = ctx.pod_spec(MUSH_UID, vec![container], volumes);
    // On SIGTERM it stops taking input, finishes, commits, releases the lease and exits.
    pod.termination_grace_period_seconds = Some(30);

    let (template, metadata) = ctx.revisioned_template(
        Component::Game,
        ctx.names.game_server(),
        pod,
        settings_hash,
        &[(RESTART_TOKEN_ANNOTATION, restart_token(ctx.game))],
    );
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(game_server_replicas(gs)),
            selector: LabelSelector {
                match_labels: Some(ctx.selector(Component::Game)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            // A new version not ready within this is reported as failed (ProgressDeadlineExceeded).
            progress_deadline_seconds: Some(300),
            revision_history_limit: Some(5),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}
