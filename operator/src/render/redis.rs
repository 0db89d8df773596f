//! Managed Redis: one replica of the official image with an append-only file on a persistent
//! volume, `redis-cli ping` probes, and a Service the servers connect to.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ExecAction, PersistentVolumeClaim, PodTemplateSpec, Probe, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::kafka::claim_template;
use super::{Component, Ctx, REDIS_PORT, container_security, mount};
use crate::crd::ManagedRedis;

/// The `redis` user of the official image.
const REDIS_UID: i64 = 999;

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

pub fn redis_args(r: &ManagedRedis) -> Vec<String> {
    let mut args: Vec<String> = vec!["redis-server".into(), "--dir".into(), "/data".into()];
    if r.append_only {
        args.extend(["--appendonly", "yes", "--appendfsync", "everysec"].map(String::from));
    } else {
        args.extend(["--appendonly", "no"].map(String::from));
    }
    // Reached only by the game's own pods (NetworkPolicy); no AUTH inside the namespace.
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
