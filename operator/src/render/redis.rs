//! Managed Redis: one replica of the official image with an append-only file on a persistent
//! volume, a password from the generated Secret `<game>-redis-auth`, a memory ceiling below the
//! container's limit, `redis-cli ping` probes, and a Service the servers connect to.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ExecAction, PersistentVolumeClaim, PodTemplateSpec, Probe, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::kafka::{claim_template, quantity_bytes};
use super::{Component, Ctx, REDIS_PASSWORD_KEY, REDIS_PORT, container_security, env_secret_key, mount};
use crate::crd::ManagedRedis;

/// The `redis` user of the official image.
const REDIS_UID: i64 = 999;
/// The password inside the Redis container (from the Secret), expanded into `--requirepass`.
pub const PASSWORD_ENV: &str = "REDIS_PASSWORD";

pub fn service(ctx: &Ctx) -> Service {
    Service {
        metadata: ctx.meta(ctx.names.redis(), Component::Redis),
        spec: Some(ServiceSpec {
            selector: Some(ctx.selector(Component::Redis)),
            ports: Some(vec![ServicePort {
                name: Some("redis".into()),
                port: REDIS_PORT,
                target_port: Some(IntOrString::String("redis".into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ping_probe(period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec![
                "sh".into(),
                "-c".into(),
                "redis-cli ping | grep -q PONG".into(),
            ]),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

/// `maxmemory` for Redis: 80% of the container's memory limit, `None` without a readable limit.
///
/// Redis counts only its data against `maxmemory`; fragmentation, client and replication buffers
/// and the copy-on-write of the fork that rewrites the append-only file come on top. The fifth
/// left over keeps those inside the limit, so Redis refuses a write before the kernel kills it.
pub fn redis_maxmemory_bytes(r: &ManagedRedis) -> Option<u64> {
    let limit = r
        .resources
        .limits
        .as_ref()
        .and_then(|l| l.get("memory"))
        .and_then(|q| quantity_bytes(&q.0))?;
    Some(limit / 5 * 4)
}

pub fn redis_args(r: &ManagedRedis) -> Vec<String> {
    let mut args: Vec<String> = vec!["redis-server".into(), "--dir".into(), "/data".into()];
    if r.append_only {
        args.extend(["--appendonly", "yes", "--appendfsync", "everysec"].map(String::from));
    } else {
        args.extend(["--appendonly", "no"].map(String::from));
    }
    if let Some(bytes) = redis_maxmemory_bytes(r) {
        args.extend(["--maxmemory".to_owned(), bytes.to_string()]);
    }
    // Redis holds the game's state (the world, connections, the lease, applied offsets), not a
    // cache: evicting a key would silently lose or corrupt it. `noeviction` makes a full Redis
    // refuse writes with an OOM error instead, which the servers report loudly.
    args.extend(["--maxmemory-policy", "noeviction"].map(String::from));
    // Kubernetes expands `$(REDIS_PASSWORD)` from the container's environment (a secretKeyRef),
    // so the password is not in the pod spec; Redis then overwrites its process title, so it is
    // not in the process list either.
    args.extend(["--requirepass".to_owned(), format!("$({PASSWORD_ENV})")]);
    // Clients must authenticate; the NetworkPolicy admits only the game's own pods as well.
    args.extend(["--protected-mode", "no"].map(String::from));
    args
}

pub fn stateful_set(ctx: &Ctx, r: &ManagedRedis) -> StatefulSet {
    let container = Container {
        name: "redis".into(),
        image: Some(r.image.clone()),
        args: Some(redis_args(r)),
        ports: Some(vec![ContainerPort {
            name: Some("redis".into()),
            container_port: REDIS_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(ping_probe(5, 2)),
        liveness_probe: Some(ping_probe(10, 6)),
        env: Some(vec![
            env_secret_key(PASSWORD_ENV, &ctx.names.redis_auth(), REDIS_PASSWORD_KEY, false),
            // redis-cli (the probes) authenticates with REDISCLI_AUTH: no password on its command line.
            env_secret_key(
                "REDISCLI_AUTH",
                &ctx.names.redis_auth(),
                REDIS_PASSWORD_KEY,
                false,
            ),
        ]),
        resources: Some(r.resources.clone()),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![mount("data", "/data"), mount("tmp", "/tmp")]),
        ..Default::default()
    };
    let pod = ctx.pod_spec(REDIS_UID, vec![container], Vec::new());
    StatefulSet {
        metadata: ctx.meta(ctx.names.redis(), Component::Redis),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(ctx.names.redis()),
            selector: LabelSelector {
                match_labels: Some(ctx.selector(Component::Redis)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.pod_labels(Component::Redis)),
                    annotations: ctx.pod_annotations(),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![claim(ctx, r)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn claim(ctx: &Ctx, r: &ManagedRedis) -> PersistentVolumeClaim {
    claim_template(ctx, Component::Redis, &r.storage)
}
