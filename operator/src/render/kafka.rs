//! Managed Kafka API: a single Redpanda broker (StatefulSet, headless Service, persistent volume)
//! and the Job that creates the game's topics at the spec's partition counts.
//!
//! Topics are created by a Job running `rpk` in the Redpanda image rather than through the
//! Kafka Admin API from the operator: the Admin API would need librdkafka (a C build) in the
//! operator for one call per topic. The Job's name carries a hash of what it does, so a change of
//! partition counts runs a new Job; the operator waits for it before calling Kafka ready.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodTemplateSpec, Probe, Service, ServicePort, ServiceSpec, TCPSocketAction, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::managed_brokers;
use super::{Component, Ctx, KAFKA_PORT, container_security, empty_dir, env, hash_json, mount};
use crate::crd::{ManagedKafka, Storage};

/// The `redpanda` user of the Redpanda image.
const REDPANDA_UID: i64 = 101;
const ADMIN_PORT: i32 = 9644;
const RPC_PORT: i32 = 33145;

pub fn service(ctx: &Ctx) -> Service {
    let port = |name: &str, port: i32| ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    Service {
        metadata: ctx.meta(ctx.names.kafka(), Component::Kafka),
        spec: Some(ServiceSpec {
            // Headless: the broker advertises its own stable DNS name through it.
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(ctx.selector(Component::Kafka)),
            ports: Some(vec![
                port("kafka", KAFKA_PORT),
                port("admin", ADMIN_PORT),
                port("rpc", RPC_PORT),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Bytes in a memory quantity (`1536Mi`, `2Gi`, `1G`, `512000000`), or `None` if unreadable.
pub fn quantity_bytes(q: &str) -> Option<u64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor) as u64)
}

/// `--memory` for Redpanda: 80% of the container's memory limit (Seastar would otherwise take the
/// node's memory and be killed), 1G when no limit is readable.
pub fn redpanda_memory_flag(k: &ManagedKafka) -> String {
    let limit = k
        .resources
        .limits
        .as_ref()
        .and_then(|l| l.get("memory"))
        .and_then(|q| quantity_bytes(&q.0));
    match limit {
        Some(bytes) => format!("{}M", (bytes as f64 * 0.8 / (1024.0 * 1024.0)) as u64),
        None => "1G".into(),
    }
}

pub fn stateful_set(ctx: &Ctx, k: &ManagedKafka) -> StatefulSet {
    let advertised = managed_brokers(ctx);
    let svc = ctx.names.kafka();
    let args: Vec<String> = vec![
        "redpanda".into(),
        "start".into(),
        "--mode=dev-container".into(),
        "--smp=1".into(),
        format!("--memory={}", redpanda_memory_flag(k)),
        "--reserve-memory=0M".into(),
        "--default-log-level=info".into(),
        format!("--kafka-addr=internal://0.0.0.0:{KAFKA_PORT}"),
        format!("--advertise-kafka-addr=internal://{advertised}"),
        format!("--rpc-addr=0.0.0.0:{RPC_PORT}"),
        format!(
            "--advertise-rpc-addr={svc}-0.{svc}.{}.svc:{RPC_PORT}",
            ctx.namespace
        ),
    ];
    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let container = Container {
        name: "redpanda".into(),
        image: Some(k.image.clone()),
        args: Some(args),
        ports: Some(vec![
            port("kafka", KAFKA_PORT),
            port("admin", ADMIN_PORT),
            port("rpc", RPC_PORT),
        ]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/v1/status/ready".into()),
                port: IntOrString::String("admin".into()),
                ..Default::default()
            }),
            period_seconds: Some(5),
            failure_threshold: Some(3),
            timeout_seconds: Some(3),
            ..Default::default()
        }),
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("kafka".into()),
                ..Default::default()
            }),
            initial_delay_seconds: Some(30),
            period_seconds: Some(10),
            failure_threshold: Some(6),
            ..Default::default()
        }),
        resources: Some(k.resources.clone()),
        security_context: Some(container_security()),
        // rpk writes its configuration at start: give it a writable /etc/redpanda.
        volume_mounts: Some(vec![
            mount("data", "/var/lib/redpanda/data"),
            mount("config", "/etc/redpanda"),
            mount("tmp", "/tmp"),
        ]),
        env: Some(vec![env("HOME", "/tmp")]),
        ..Default::default()
    };
    let pod = ctx.pod_spec(REDPANDA_UID, vec![container], vec![empty_dir("config")]);
    StatefulSet {
        metadata: ctx.meta(ctx.names.kafka(), Component::Kafka),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(ctx.names.kafka()),
            selector: LabelSelector {
                match_labels: Some(ctx.selector(Component::Kafka)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.pod_labels(Component::Kafka)),
                    annotations: ctx.pod_annotations(),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![claim_template(ctx, Component::Kafka, &k.storage)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A `data` volume claim template (the PVCs outlive the MushGame: world data is never deleted
/// by deleting the resource).
pub(super) fn claim_template(ctx: &Ctx, c: Component, storage: &Storage) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(ctx.selector(c)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), storage.size.clone())])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates each topic if missing, and grows its partitions to the wanted count if fewer.
pub fn topics_script() -> &'static str {
    r#"set -eu
until rpk cluster info -X brokers="$BROKERS" >/dev/null 2>&1; do
  echo "waiting for the broker at $BROKERS"; sleep 3
done
ensure() {
  topic="$1"; want="$2"
  if rpk topic describe "$topic" -X brokers="$BROKERS" >/dev/null 2>&1; then
    have=$(rpk topic describe "$topic" -p -X brokers="$BROKERS" | tail -n +2 | grep -c .)
    if [ "$have" -lt "$want" ]; then
      rpk topic add-partitions "$topic" --num $((want - have)) -X brokers="$BROKERS"
    fi
    echo "topic $topic: $want partitions (had $have)"
  else
    rpk topic create "$topic" -p "$want" -r 1 -X brokers="$BROKERS"
  fi
}
ensure "$PREFIX.input" "$INPUT_PARTITIONS"
ensure "$PREFIX.output" "$OUTPUT_PARTITIONS"
"#
}

pub fn topics_job(ctx: &Ctx, k: &ManagedKafka) -> Job {
    let kafka = &ctx.spec.kafka;
    let container = Container {
        name: "create-topics".into(),
        image: Some(k.image.clone()),
        command: Some(vec!["/bin/bash".into(), "-c".into(), topics_script().into()]),
        env: Some(vec![
            env("BROKERS", managed_brokers(ctx)),
            env("PREFIX", kafka.topic_prefix.clone()),
            env("INPUT_PARTITIONS", kafka.input_partitions.to_string()),
            env("OUTPUT_PARTITIONS", kafka.output_partitions.to_string()),
            env("HOME", "/tmp"),
        ]),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![mount("tmp", "/tmp")]),
        ..Default::default()
    };
    let mut pod = ctx.pod_spec(REDPANDA_UID, vec![container], Vec::new());
    pod.restart_policy = Some("OnFailure".into());
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(ctx.pod_labels(Component::Topics)),
            annotations: ctx.pod_annotations(),
            ..Default::default()
        }),
        spec: Some(pod),
    };
    // A Job's template cannot change: a different job gets a different name.
    let name = format!("{}-topics-{}", ctx.names.game, &hash_json(&template)[..8]);
    Job {
        metadata: ctx.meta(name, Component::Topics),
        spec: Some(JobSpec {
            backoff_limit: Some(10),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}
