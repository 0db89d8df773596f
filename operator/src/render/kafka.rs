//! Managed Kafka API: a single Redpanda broker (StatefulSet, headless Service, persistent volume)
//! and the Job that creates the game's topics at the spec's partition counts.
//!
//! The broker runs in Redpanda's production mode, with durable writes: an acknowledged message
//! has been fsynced. `rpk redpanda start` without a configuration file takes rpk's development
//! defaults (`developer_mode: true`), and with them the `dev-container` mode, which bypasses fsync
//! (`--unsafe-bypass-fsync`) and acknowledges before the disk has the data (write caching). So an
//! init container first writes the production configuration (`rpk redpanda mode production`:
//! `developer_mode: false`; its tuners only run with `--tune`, which is not given), the broker is
//! started with `--unsafe-bypass-fsync=false`, and the topic Job turns write caching off on the
//! cluster and on both topics (a broker first started in development mode keeps that mode's
//! cluster settings in its data).
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
use crate::crd::{ManagedKafka, Storage, duration_ms};

/// The `redpanda` user of the Redpanda image.
const REDPANDA_UID: i64 = 101;
pub(super) const ADMIN_PORT: i32 = 9644;
const RPC_PORT: i32 = 33145;
/// Memory Redpanda needs per core outside developer mode (it refuses to start with less).
pub const REDPANDA_MIN_MIB_PER_CORE: u64 = 1024;

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

/// Thousandths of a core in a CPU quantity (`250m`, `1`, `1.5`), or `None` if unreadable.
pub fn cpu_millis(q: &str) -> Option<u64> {
    let q = q.trim();
    match q.strip_suffix('m') {
        Some(millis) => millis.parse().ok(),
        None => q.parse::<f64>().ok().map(|cores| (cores * 1000.0) as u64),
    }
}

/// Redpanda's memory in MiB: 80% of the container's memory limit (Seastar would otherwise take
/// the node's memory and be killed; the rest is for Seastar's own overhead), `None` without a
/// readable limit.
pub fn redpanda_memory_mib(k: &ManagedKafka) -> Option<u64> {
    let limit = k
        .resources
        .limits
        .as_ref()
        .and_then(|l| l.get("memory"))
        .and_then(|q| quantity_bytes(&q.0))?;
    Some((limit as f64 * 0.8 / (1024.0 * 1024.0)) as u64)
}

/// `--memory` for Redpanda ([`redpanda_memory_mib`]), 1G when no limit is readable.
pub fn redpanda_memory_flag(k: &ManagedKafka) -> String {
    match redpanda_memory_mib(k) {
        Some(mib) => format!("{mib}M"),
        None => "1G".into(),
    }
}

/// The broker's CPU: its limit, else its request, in thousandths of a core.
fn redpanda_cpu_millis(k: &ManagedKafka) -> Option<u64> {
    let r = &k.resources;
    [&r.limits, &r.requests]
        .into_iter()
        .find_map(|m| m.as_ref()?.get("cpu"))
        .and_then(|q| cpu_millis(&q.0))
}

/// `--smp`: Redpanda runs one thread per core it is given, so the whole cores of its CPU (at least
/// one), and no more than its memory allows at [`REDPANDA_MIN_MIB_PER_CORE`] each.
pub fn redpanda_smp(k: &ManagedKafka) -> u64 {
    let cores = redpanda_cpu_millis(k).map_or(1, |m| m / 1000).max(1);
    let by_memory = redpanda_memory_mib(k)
        .map_or(1, |mib| mib / REDPANDA_MIN_MIB_PER_CORE)
        .max(1);
    cores.min(by_memory)
}

/// `--overprovisioned` when the broker has less than a whole core (or no CPU given): its thread
/// then shares a core, so it must not pin itself or busy-poll (as the Redpanda Helm chart does
/// below one core).
pub fn redpanda_overprovisioned(k: &ManagedKafka) -> bool {
    redpanda_cpu_millis(k).is_none_or(|m| m < 1000)
}

/// The arguments of `rpk` for the broker (after the image's entrypoint).
pub fn redpanda_args(ctx: &Ctx, k: &ManagedKafka) -> Vec<String> {
    let advertised = managed_brokers(ctx);
    let svc = ctx.names.kafka();
    let mut args: Vec<String> = vec![
        "redpanda".into(),
        "start".into(),
        format!("--smp={}", redpanda_smp(k)),
        format!("--memory={}", redpanda_memory_flag(k)),
        // Only used when --memory is not given; explicit so the whole --memory is Redpanda's.
        "--reserve-memory=0M".into(),
    ];
    if redpanda_overprovisioned(k) {
        args.push("--overprovisioned".into());
    }
    args.extend([
        // Durable writes: every fsync reaches the disk (the development mode skips them).
        "--unsafe-bypass-fsync=false".into(),
        // rpk's pre-start checks inspect the node (XFS, NTP, swappiness, AIO limits), which a
        // non-root container can neither tune nor fix; they do not change what is written.
        "--check=false".into(),
        "--default-log-level=info".into(),
        format!("--kafka-addr=internal://0.0.0.0:{KAFKA_PORT}"),
        format!("--advertise-kafka-addr=internal://{advertised}"),
        format!("--rpc-addr=0.0.0.0:{RPC_PORT}"),
        format!(
            "--advertise-rpc-addr={svc}-0.{svc}.{}.svc:{RPC_PORT}",
            ctx.namespace
        ),
    ]);
    args
}

pub fn stateful_set(ctx: &Ctx, k: &ManagedKafka) -> StatefulSet {
    let args = redpanda_args(ctx, k);
    // Writes /etc/redpanda/redpanda.yaml with `developer_mode: false` before the broker starts
    // (without the file, `rpk redpanda start` would fall back to the development mode).
    let production_mode = Container {
        name: "production-mode".into(),
        image: Some(k.image.clone()),
        args: Some(vec!["redpanda".into(), "mode".into(), "production".into()]),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![mount("config", "/etc/redpanda"), mount("tmp", "/tmp")]),
        env: Some(vec![env("HOME", "/tmp")]),
        ..Default::default()
    };
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
    let mut pod = ctx.pod_spec(REDPANDA_UID, vec![container], vec![empty_dir("config")]);
    pod.init_containers = Some(vec![production_mode]);
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

/// Turns write caching off (acknowledged means fsynced), creates each topic if missing with the
/// spec's replication and retention, grows its partitions to the wanted count if fewer, and sets
/// the retention of an existing topic to the spec's.
pub fn topics_script() -> &'static str {
    r#"set -eu
until rpk cluster info -X brokers="$BROKERS" >/dev/null 2>&1; do
  echo "waiting for the broker at $BROKERS"; sleep 3
done
rpk cluster config set write_caching_default false -X admin.hosts="$ADMIN"
ensure() {
  topic="$1"; want="$2"; retention="$3"
  if rpk topic describe "$topic" -X brokers="$BROKERS" >/dev/null 2>&1; then
    have=$(rpk topic describe "$topic" -p -X brokers="$BROKERS" | tail -n +2 | grep -c .)
    if [ "$have" -lt "$want" ]; then
      rpk topic add-partitions "$topic" --num $((want - have)) -X brokers="$BROKERS"
    fi
    rpk topic alter-config "$topic" --set retention.ms="$retention" --set write.caching=false -X brokers="$BROKERS"
    echo "topic $topic: $want partitions (had $have), retention.ms=$retention"
  else
    rpk topic create "$topic" -p "$want" -r "$REPLICATION" -c retention.ms="$retention" \
      -c write.caching=false -X brokers="$BROKERS"
  fi
}
ensure "$PREFIX.input" "$INPUT_PARTITIONS" "$INPUT_RETENTION_MS"
ensure "$PREFIX.output" "$OUTPUT_PARTITIONS" "$OUTPUT_RETENTION_MS"
"#
}

pub fn topics_job(ctx: &Ctx, k: &ManagedKafka) -> Job {
    let kafka = &ctx.spec.kafka;
    let svc = ctx.names.kafka();
    // Checked by `spec_errors` before rendering.
    let ms = |d: &str| duration_ms(d).unwrap_or_default().to_string();
    let container = Container {
        name: "create-topics".into(),
        image: Some(k.image.clone()),
        command: Some(vec!["/bin/bash".into(), "-c".into(), topics_script().into()]),
        env: Some(vec![
            env("BROKERS", managed_brokers(ctx)),
            env(
                "ADMIN",
                format!("{svc}-0.{svc}.{}.svc:{ADMIN_PORT}", ctx.namespace),
            ),
            env("PREFIX", kafka.topic_prefix.clone()),
            env("INPUT_PARTITIONS", kafka.input_partitions.to_string()),
            env("OUTPUT_PARTITIONS", kafka.output_partitions.to_string()),
            env("REPLICATION", kafka.topics.replication_factor.to_string()),
            env("INPUT_RETENTION_MS", ms(&kafka.topics.input_retention)),
            env("OUTPUT_RETENTION_MS", ms(&kafka.topics.output_retention)),
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
