//! What the rendered objects promise: the rollout settings, hardening, ownership, configuration
//! contract with the servers, and which changes restart what.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, PodSpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::crd::{
    ExternalKafka, ExternalRedis, GatewayTls, KafkaSasl, KafkaTls, MushGame, SaslMechanism, SecretKeyRef,
};

fn game() -> MushGame {
    let mut g = MushGame::new("tavern", Default::default());
    g.metadata.namespace = Some("games".into());
    g.metadata.uid = Some("uid-1".into());
    g
}

fn deployment<'a>(r: &'a Rendered, name: &str) -> &'a Deployment {
    match r.find("Deployment", name) {
        Some(Child::Deployment(d)) => d,
        _ => panic!("Deployment {name} rendered"),
    }
}

fn stateful_set<'a>(r: &'a Rendered, name: &str) -> &'a StatefulSet {
    match r.find("StatefulSet", name) {
        Some(Child::StatefulSet(s)) => s,
        _ => panic!("StatefulSet {name} rendered"),
    }
}

fn config_map<'a>(r: &'a Rendered, name: &str) -> &'a ConfigMap {
    match r.find("ConfigMap", name) {
        Some(Child::ConfigMap(c)) => c,
        _ => panic!("ConfigMap {name} rendered"),
    }
}

fn job(r: &Rendered) -> &Job {
    r.children
        .iter()
        .find_map(|c| match c {
            Child::Job(j) => Some(j),
            _ => None,
        })
        .expect("topic Job rendered")
}

fn pod_spec(d: &Deployment) -> &PodSpec {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn container(d: &Deployment) -> &Container {
    &pod_spec(d).containers[0]
}

fn env_of(c: &Container) -> BTreeMap<String, EnvVar> {
    c.env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.clone()))
        .collect()
}

fn value(c: &Container, name: &str) -> Option<String> {
    env_of(c).get(name).and_then(|e| e.value.clone())
}

fn all_pod_specs(r: &Rendered) -> Vec<(String, &PodSpec)> {
    r.children
        .iter()
        .filter_map(|c| {
            let spec = match c {
                Child::Deployment(d) => d.spec.as_ref()?.template.spec.as_ref(),
                Child::StatefulSet(s) => s.spec.as_ref()?.template.spec.as_ref(),
                Child::Job(j) => j.spec.as_ref()?.template.spec.as_ref(),
                _ => None,
            }?;
            Some((c.name().to_owned(), spec))
        })
        .collect()
}

#[test]
fn gateways_roll_out_without_ever_dropping_below_the_wanted_count_and_drain_before_exit() {
    let mut g = game();
    g.spec.connection_server.drain_seconds = 120;
    g.spec.connection_server.max_surge = 2;
    let r = render(&g).unwrap();
    let d = deployment(&r, "tavern-gateway");
    let strategy = d.spec.as_ref().unwrap().strategy.as_ref().unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let ru = strategy.rolling_update.as_ref().unwrap();
    assert_eq!(ru.max_unavailable, Some(IntOrString::Int(0)));
    assert_eq!(ru.max_surge, Some(IntOrString::Int(2)));
    // The kubelet waits for preStop + the whole drain + a margin before it kills a gateway.
    assert_eq!(pod_spec(d).termination_grace_period_seconds, Some(3 + 120 + 15));
    let c = container(d);
    assert_eq!(value(c, "MUSH_DRAIN_SECONDS").as_deref(), Some("120"));
    let pre_stop = c.lifecycle.as_ref().unwrap().pre_stop.as_ref().unwrap();
    assert_eq!(pre_stop.sleep.as_ref().unwrap().seconds, 3);
    let readiness = c.readiness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(readiness.path.as_deref(), Some("/readyz"));
    let liveness = c.liveness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(liveness.path.as_deref(), Some("/livez"));
    assert_eq!(readiness.port, IntOrString::String("health".into()));
}

#[test]
fn gateway_environment_follows_the_server_contract() {
    let r = render(&game()).unwrap();
    let c = container(deployment(&r, "tavern-gateway"));
    let env = env_of(c);
    let name_ref = env["MUSH_GATEWAY_NAME"]
        .value_from
        .as_ref()
        .unwrap()
        .field_ref
        .as_ref()
        .unwrap();
    assert_eq!(name_ref.field_path, "metadata.name");
    assert_eq!(value(c, "MUSH_TELNET_ADDR").as_deref(), Some("0.0.0.0:4201"));
    assert_eq!(
        value(c, "MUSH_GATEWAY_SLOTS").as_deref(),
        Some("16"),
        "one slot per output partition"
    );
    for (k, v) in [
        ("MUSH_LOGIN_IDLE_TIMEOUT_SECONDS", "300"),
        ("MUSH_IDLE_TIMEOUT_SECONDS", "0"),
        ("MUSH_MAX_LINE_BYTES", "8192"),
        ("MUSH_COMMANDS_PER_SECOND", "20"),
        ("MUSH_COMMAND_BURST", "60"),
        ("MUSH_MAX_CONNECTIONS_PER_IP", "20"),
    ] {
        assert_eq!(value(c, k).as_deref(), Some(v), "{k}");
    }
    let from = c.env_from.as_ref().unwrap()[0].config_map_ref.as_ref().unwrap();
    assert_eq!(from.name, "tavern-settings");
    let settings = config_map(&r, "tavern-settings").data.as_ref().unwrap();
    let want: BTreeMap<&str, &str> = [
        ("MUSH_REDIS_NAMESPACE", "mush"),
        ("MUSH_KAFKA_BROKERS", "tavern-kafka-0.tavern-kafka.games.svc:9092"),
        ("MUSH_TOPIC_PREFIX", "mush"),
        ("MUSH_INPUT_PARTITIONS", "8"),
        ("MUSH_OUTPUT_PARTITIONS", "16"),
        ("MUSH_CREATE_TOPICS", "false"),
        ("MUSH_LOG_FORMAT", "json"),
        ("MUSH_HEALTH_ADDR", "0.0.0.0:9100"),
        ("MUSH_GAME_NAME", "tavern"),
        ("RUST_LOG", "info"),
    ]
    .into();
    for (k, v) in want {
        assert_eq!(settings.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert!(
        !settings.contains_key("MUSH_REDIS_URL"),
        "the URL carries the password: never in a ConfigMap"
    );
}

#[test]
fn the_master_room_reaches_the_game_server_only_when_set() {
    let r = render(&game()).unwrap();
    assert_eq!(
        value(container(deployment(&r, "tavern-game")), "MUSH_MASTER_ROOM"),
        None
    );
    let mut g = game();
    g.spec.game_server.master_room = Some("#2".to_owned());
    let r = render(&g).unwrap();
    assert_eq!(
        value(container(deployment(&r, "tavern-game")), "MUSH_MASTER_ROOM").as_deref(),
        Some("#2")
    );
}

#[test]
fn the_game_server_never_runs_old_and_new_side_by_side() {
    let r = render(&game()).unwrap();
    let d = deployment(&r, "tavern-game");
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.strategy.as_ref().unwrap().type_.as_deref(), Some("Recreate"));
    assert_eq!(spec.replicas, Some(1));
    let c = container(d);
    assert_eq!(
        value(c, "MUSH_WELCOME_FILE").as_deref(),
        Some("/etc/mush/welcome/welcome.txt")
    );
    assert_eq!(value(c, "MUSH_LEASE_TTL_MS").as_deref(), Some("5000"));
    let instance = &env_of(c)["MUSH_INSTANCE_NAME"];
    assert_eq!(
        instance
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.name"
    );
    let welcome = config_map(&r, "tavern-welcome").data.as_ref().unwrap();
    assert!(welcome["welcome.txt"].contains("Welcome"));

    let mut g = game();
    g.spec.game_server.standby = true;
    let r = render(&g).unwrap();
    assert_eq!(
        deployment(&r, "tavern-game").spec.as_ref().unwrap().replicas,
        Some(2),
        "active + standby"
    );
}

/// Evictions the disruption controller allows for `pdb` over `pods` pods of which `ready` are Ready
/// (`disruptionsAllowed = ready - (pods - maxUnavailable)`, or `ready - minAvailable`).
fn disruptions_allowed(pdb: &PodDisruptionBudget, pods: i32, ready: i32) -> i32 {
    let spec = pdb.spec.as_ref().unwrap();
    let desired_healthy = match (&spec.max_unavailable, &spec.min_available) {
        (Some(IntOrString::Int(max)), None) => pods - max,
        (None, Some(IntOrString::Int(min))) => *min,
        other => panic!("an integer budget, not {other:?}"),
    };
    (ready - desired_healthy).max(0)
}

/// Every budget the operator renders lets a node drain evict a pod in the steady state of every
/// configuration; otherwise a drain hangs until someone deletes the budget by hand.
#[test]
fn every_disruption_budget_lets_a_node_drain_evict_a_pod() {
    let mut configurations = Vec::new();
    for standby in [false, true] {
        for replicas in [1, 2, 5] {
            for external in [false, true] {
                let mut g = game();
                g.spec.game_server.standby = standby;
                g.spec.connection_server.replicas = replicas;
                if external {
                    g.spec.redis.managed = None;
                    g.spec.redis.external = Some(ExternalRedis {
                        url_secret: SecretKeyRef {
                            name: "redis-url".into(),
                            key: "url".into(),
                        },
                    });
                    g.spec.kafka.managed = None;
                    g.spec.kafka.external = Some(ExternalKafka {
                        bootstrap_servers: "k.example:9092".into(),
                        create_topics: true,
                        tls: None,
                        sasl: None,
                    });
                }
                configurations.push(g);
            }
        }
    }
    for g in configurations {
        let r = render(&g).unwrap();
        let what = format!(
            "standby {}, {} gateways, managed {}",
            g.spec.game_server.standby,
            g.spec.connection_server.replicas,
            g.spec.redis.managed.is_some()
        );
        let budgets: Vec<&PodDisruptionBudget> = r
            .children
            .iter()
            .filter_map(|c| match c {
                Child::PodDisruptionBudget(p) => Some(p),
                _ => None,
            })
            .collect();
        let covered: Vec<&str> = budgets
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        let mut want = vec!["tavern-gateway", "tavern-game"];
        if g.spec.redis.managed.is_some() {
            want.extend(["tavern-redis", "tavern-kafka"]);
        }
        assert_eq!(covered, want, "{what}: one budget per workload");
        for pdb in budgets {
            let selector = pdb.spec.as_ref().unwrap().selector.as_ref().unwrap();
            let component = selector.match_labels.as_ref().unwrap()[COMPONENT_LABEL].as_str();
            // The workload the budget covers: its pod count, and how many are Ready when all is well
            // (a standby is live but never Ready: it waits for the lease).
            let (pods, ready) = match component {
                "gateway" => {
                    let n = deployment(&r, "tavern-gateway")
                        .spec
                        .as_ref()
                        .unwrap()
                        .replicas
                        .unwrap();
                    (n, n)
                }
                "game" => {
                    let n = deployment(&r, "tavern-game")
                        .spec
                        .as_ref()
                        .unwrap()
                        .replicas
                        .unwrap();
                    (n, 1)
                }
                "redis" | "kafka" => {
                    let n = stateful_set(&r, &format!("tavern-{component}"))
                        .spec
                        .as_ref()
                        .unwrap()
                        .replicas
                        .unwrap();
                    (n, n)
                }
                other => panic!("a budget for an unknown component {other}"),
            };
            assert!(
                disruptions_allowed(pdb, pods, ready) >= 1,
                "{}: {what}: {pods} pods, {ready} ready, budget {:?} allows no eviction",
                pdb.metadata.name.as_deref().unwrap(),
                pdb.spec
            );
            assert_eq!(
                pdb.spec
                    .as_ref()
                    .unwrap()
                    .unhealthy_pod_eviction_policy
                    .as_deref(),
                Some("AlwaysAllow"),
                "a pod that is not Ready never waits on the budget"
            );
        }
    }
}

#[test]
fn every_pod_runs_as_non_root_on_a_read_only_root_with_no_capabilities() {
    let r = render(&game()).unwrap();
    let pods = all_pod_specs(&r);
    assert_eq!(pods.len(), 5, "gateway, game, redis, redpanda, topics job");
    for (name, spec) in pods {
        let psc = spec.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true), "{name}");
        assert!(psc.run_as_user.unwrap() > 0, "{name}");
        assert_eq!(spec.automount_service_account_token, Some(false), "{name}");
        assert_eq!(spec.service_account_name.as_deref(), Some("tavern"), "{name}");
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let sc = c.security_context.as_ref().unwrap();
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{name}");
            assert_eq!(sc.allow_privilege_escalation, Some(false), "{name}");
            assert_eq!(
                sc.capabilities.as_ref().unwrap().drop,
                Some(vec!["ALL".to_owned()]),
                "{name}"
            );
        }
    }
}

#[test]
fn children_are_owned_by_the_game_in_cluster_and_unowned_offline() {
    let r = render(&game()).unwrap();
    for c in &r.children {
        let owners = c.meta().owner_references.as_ref().expect("owner reference");
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].uid, "uid-1", "{} {}", c.kind(), c.name());
        assert_eq!(owners[0].controller, Some(true));
        assert_eq!(c.meta().namespace.as_deref(), Some("games"));
        assert_eq!(c.meta().labels.as_ref().unwrap()[GAME_LABEL], "tavern");
    }
    let mut offline = game();
    offline.metadata.uid = None;
    let r = render(&offline).unwrap();
    assert!(r.children.iter().all(|c| c.meta().owner_references.is_none()));
}

#[test]
fn managed_redis_keeps_an_append_only_file_on_a_volume_and_is_probed_with_ping() {
    let r = render(&game()).unwrap();
    let s = stateful_set(&r, "tavern-redis");
    let spec = s.spec.as_ref().unwrap();
    let c = &spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(c.image.as_deref(), Some("redis:7.2"));
    let args = c.args.clone().unwrap().join(" ");
    assert!(args.contains("--appendonly yes"), "{args}");
    let probe = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .exec
        .as_ref()
        .unwrap()
        .command
        .clone()
        .unwrap();
    assert!(probe.join(" ").contains("redis-cli ping"));
    let claim = &spec.volume_claim_templates.as_ref().unwrap()[0];
    let size = &claim
        .spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["storage"];
    assert_eq!(size, &Quantity("1Gi".into()));
}

#[test]
fn managed_kafka_gets_a_broker_and_a_topic_job_with_the_spec_partitions() {
    let mut g = game();
    g.spec.kafka.input_partitions = 12;
    g.spec.kafka.output_partitions = 24;
    let r = render(&g).unwrap();
    let s = stateful_set(&r, "tavern-kafka");
    let args = s
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .args
        .clone()
        .unwrap();
    assert!(
        args.contains(&"--advertise-kafka-addr=internal://tavern-kafka-0.tavern-kafka.games.svc:9092".into())
    );
    assert!(
        args.contains(&"--memory=1228M".into()),
        "80% of the 1536Mi limit: {args:?}"
    );
    assert!(
        !args.iter().any(|a| a.starts_with("--mode")),
        "no development mode: {args:?}"
    );
    let j = job(&r);
    let c = &j
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    let env: BTreeMap<_, _> = c
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.as_str(), e.value.clone().unwrap()))
        .collect();
    assert_eq!(env["INPUT_PARTITIONS"], "12");
    assert_eq!(env["OUTPUT_PARTITIONS"], "24");
    assert_eq!(env["PREFIX"], "mush");
    assert_eq!(env["REPLICATION"], "1");
    assert_eq!(env["INPUT_RETENTION_MS"], "604800000", "7d");
    assert_eq!(env["OUTPUT_RETENTION_MS"], "86400000", "1d");
    assert_eq!(env["ADMIN"], "tavern-kafka-0.tavern-kafka.games.svc:9644");
    assert_eq!(r.topics_job.as_deref(), j.metadata.name.as_deref());

    // A Job cannot be changed: new partition counts get a new Job.
    let mut g2 = g.clone();
    g2.spec.kafka.input_partitions = 16;
    assert_ne!(render(&g2).unwrap().topics_job, r.topics_job);
    assert_eq!(
        render(&g).unwrap().topics_job,
        r.topics_job,
        "stable across renders"
    );
}

#[test]
fn external_kafka_and_redis_take_their_secrets_through_env_references() {
    let mut g = game();
    g.spec.kafka.managed = None;
    g.spec.kafka.external = Some(ExternalKafka {
        bootstrap_servers: "k1.example:9093,k2.example:9093".into(),
        create_topics: true,
        tls: Some(KafkaTls {
            ca_secret: Some(SecretKeyRef {
                name: "kafka-ca".into(),
                key: "ca.crt".into(),
            }),
            client_cert_secret_name: None,
        }),
        sasl: Some(KafkaSasl {
            mechanism: SaslMechanism::ScramSha512,
            username_secret: SecretKeyRef {
                name: "kafka-user".into(),
                key: "username".into(),
            },
            password_secret: SecretKeyRef {
                name: "kafka-user".into(),
                key: "password".into(),
            },
        }),
    });
    g.spec.redis.managed = None;
    g.spec.redis.external = Some(ExternalRedis {
        url_secret: SecretKeyRef {
            name: "redis-url".into(),
            key: "url".into(),
        },
    });
    let r = render(&g).unwrap();
    assert!(r.find("StatefulSet", "tavern-kafka").is_none());
    assert!(r.find("StatefulSet", "tavern-redis").is_none());
    assert!(r.topics_job.is_none());
    for name in ["tavern-redis", "tavern-kafka"] {
        assert!(r.find("NetworkPolicy", name).is_none(), "nothing to protect");
        assert!(r.find("PodDisruptionBudget", name).is_none());
    }
    assert_eq!(
        r.secrets.iter().map(|s| s.name()).collect::<Vec<_>>(),
        ["tavern-input-key"],
        "no Redis password to generate"
    );

    for name in ["tavern-gateway", "tavern-game"] {
        let c = container(deployment(&r, name));
        let env = c.env.clone().unwrap();
        let pos = |n: &str| {
            env.iter()
                .position(|e| e.name == n)
                .unwrap_or_else(|| panic!("{n} in {name}"))
        };
        let url = env[pos("MUSH_REDIS_URL")]
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .clone()
            .unwrap();
        assert_eq!((url.name.as_str(), url.key.as_str()), ("redis-url", "url"));
        let options = env[pos("MUSH_KAFKA_OPTIONS")].value.clone().unwrap();
        assert_eq!(
            options,
            "security.protocol=SASL_SSL,ssl.ca.location=/etc/mush/kafka-ca/ca.crt,sasl.mechanism=SCRAM-SHA-512,\
             sasl.username=$(MUSH_KAFKA_SASL_USERNAME),sasl.password=$(MUSH_KAFKA_SASL_PASSWORD)"
        );
        // `$(VAR)` only expands variables defined before it.
        assert!(pos("MUSH_KAFKA_SASL_PASSWORD") < pos("MUSH_KAFKA_OPTIONS"));
        let mounts = c.volume_mounts.clone().unwrap();
        assert!(mounts.iter().any(|m| m.mount_path == "/etc/mush/kafka-ca"));
    }
    let settings = config_map(&r, "tavern-settings").data.as_ref().unwrap();
    assert_eq!(settings["MUSH_KAFKA_BROKERS"], "k1.example:9093,k2.example:9093");
    assert_eq!(settings["MUSH_CREATE_TOPICS"], "true");
    assert!(
        !settings.contains_key("MUSH_REDIS_URL"),
        "the URL stays in its Secret"
    );
    assert!(!settings.values().any(|v| v.contains("password")));
    // The servers create the topics on the external cluster, with the spec's settings.
    assert_eq!(settings["MUSH_TOPIC_REPLICATION"], "1");
    assert_eq!(settings["MUSH_INPUT_RETENTION_MS"], "604800000");
    assert_eq!(settings["MUSH_OUTPUT_RETENTION_MS"], "86400000");
}

#[test]
fn what_restarts_the_game_server_and_what_only_rolls_the_gateways() {
    let base = render(&game()).unwrap();
    let changed = |f: &dyn Fn(&mut MushGame)| {
        let mut g = game();
        f(&mut g);
        let r = render(&g).unwrap();
        (
            r.game_revision != base.game_revision,
            r.gateway_revision != base.gateway_revision,
        )
    };
    assert_eq!(
        changed(&|g| g.spec.game_server.image = "game:2".into()),
        (true, false)
    );
    assert_eq!(
        changed(&|g| g.spec.game_server.restart_request = Some("now".into())),
        (true, false)
    );
    assert_eq!(
        changed(&|g| {
            g.metadata.annotations =
                Some([(crate::crd::RESTART_ANNOTATION.to_owned(), "x".to_owned())].into());
        }),
        (true, false)
    );
    assert_eq!(
        changed(&|g| g.spec.connection_server.image = "gw:2".into()),
        (false, true)
    );
    assert_eq!(
        changed(&|g| g.spec.connection_server.replicas = 3),
        (false, false),
        "scaling is no rollout"
    );
    // Shared settings change both.
    assert_eq!(changed(&|g| g.spec.log_level = "debug".into()), (true, true));
    // The welcome text is read from its mounted file: no restart.
    assert_eq!(
        changed(&|g| g.spec.game_server.welcome = "hi".into()),
        (false, false)
    );
    // TLS and the web client are the gateways' own; a Service port is not the pods'.
    assert_eq!(
        changed(&|g| g.spec.connection_server.tls = Some(GatewayTls::from_secret("tavern-tls"))),
        (false, true)
    );
    assert_eq!(changed(&|g| g.spec.connection_server.web = false), (false, true));
    assert_eq!(
        changed(&|g| g.spec.connection_server.web_port = 80),
        (false, false)
    );
}

fn service<'a>(r: &'a Rendered, name: &str) -> &'a k8s_openapi::api::core::v1::Service {
    match r.find("Service", name) {
        Some(Child::Service(s)) => s,
        _ => panic!("Service {name} rendered"),
    }
}

/// The gateway Service's ports as (name, port, target port name).
fn service_ports(r: &Rendered) -> Vec<(String, i32, String)> {
    service(r, "tavern-gateway")
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .map(|p| {
            assert_eq!(p.protocol.as_deref(), Some("TCP"));
            let target = match &p.target_port {
                Some(IntOrString::String(name)) => name.clone(),
                other => panic!("a named target port, not {other:?}"),
            };
            (p.name.clone().unwrap(), p.port, target)
        })
        .collect()
}

/// The gateway container's ports as (name, port).
fn container_ports(r: &Rendered) -> Vec<(String, i32)> {
    container(deployment(r, "tavern-gateway"))
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap(), p.container_port))
        .collect()
}

/// The ports the gateway NetworkPolicy opens to everyone.
fn open_to_all(r: &Rendered) -> Vec<i32> {
    rules_of(network_policy(r, "tavern-gateway"))
        .into_iter()
        .filter(|(_, from)| from.is_none())
        .flat_map(|(ports, _)| ports.expect("numbered ports"))
        .collect()
}

fn owned(v: &[(&str, i32)]) -> Vec<(String, i32)> {
    v.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect()
}

fn owned3(v: &[(&str, i32, &str)]) -> Vec<(String, i32, String)> {
    v.iter()
        .map(|(n, p, t)| ((*n).to_owned(), *p, (*t).to_owned()))
        .collect()
}

#[test]
fn players_reach_the_web_client_by_default_and_tls_only_with_a_secret() {
    // Default: telnet and the web client over plain HTTP, no TLS.
    let r = render(&game()).unwrap();
    let c = container(deployment(&r, "tavern-gateway"));
    assert_eq!(
        container_ports(&r),
        owned(&[("telnet", 4201), ("web", 4280), ("health", 9100)])
    );
    assert_eq!(value(c, "MUSH_WEB_ADDR").as_deref(), Some("0.0.0.0:4280"));
    for absent in [
        "MUSH_TELNET_TLS_ADDR",
        "MUSH_WEB_TLS_ADDR",
        "MUSH_TLS_CERT_FILE",
        "MUSH_TLS_KEY_FILE",
    ] {
        assert!(!env_of(c).contains_key(absent), "{absent} without TLS");
    }
    let pod = pod_spec(deployment(&r, "tavern-gateway"));
    assert!(!pod.volumes.iter().flatten().any(|v| v.name == "tls"));
    assert!(!c.volume_mounts.iter().flatten().any(|m| m.name == "tls"));
    assert_eq!(
        service_ports(&r),
        owned3(&[("telnet", 4201, "telnet"), ("web", 4280, "web")])
    );
    assert_eq!(open_to_all(&r), [4201, 4280]);

    // TLS from a cert-manager Secret, on other Service ports.
    let mut g = game();
    g.spec.connection_server.telnet_port = 23;
    g.spec.connection_server.web_port = 80;
    g.spec.connection_server.tls = Some(GatewayTls {
        secret_name: "tavern-tls".into(),
        telnet_port: 992,
        web_port: 443,
    });
    let r = render(&g).unwrap();
    let d = deployment(&r, "tavern-gateway");
    let c = container(d);
    assert_eq!(
        container_ports(&r),
        owned(&[
            ("telnet", 4201),
            ("web", 4280),
            ("telnet-tls", 4202),
            ("web-tls", 4243),
            ("health", 9100)
        ]),
        "the pod's ports do not follow the Service's"
    );
    for (k, v) in [
        ("MUSH_TELNET_ADDR", "0.0.0.0:4201"),
        ("MUSH_WEB_ADDR", "0.0.0.0:4280"),
        ("MUSH_TELNET_TLS_ADDR", "0.0.0.0:4202"),
        ("MUSH_WEB_TLS_ADDR", "0.0.0.0:4243"),
        ("MUSH_TLS_CERT_FILE", "/etc/mush/tls/tls.crt"),
        ("MUSH_TLS_KEY_FILE", "/etc/mush/tls/tls.key"),
    ] {
        assert_eq!(value(c, k).as_deref(), Some(v), "{k}");
    }
    let volume = pod_spec(d)
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "tls")
        .expect("a tls volume");
    let secret = volume.secret.as_ref().expect("from a Secret");
    assert_eq!(secret.secret_name.as_deref(), Some("tavern-tls"));
    assert_eq!(secret.items, None, "the whole Secret: tls.crt and tls.key");
    assert_eq!(secret.optional, None, "the gateway waits for the Secret");
    assert_eq!(secret.default_mode, Some(0o440), "the key is not world-readable");
    let tls_mount = c
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == "tls")
        .expect("the tls volume mounted");
    assert_eq!(tls_mount.mount_path, "/etc/mush/tls");
    assert_eq!(tls_mount.read_only, Some(true));
    assert_eq!(
        tls_mount.sub_path, None,
        "a subPath mount would never see a renewed certificate"
    );
    assert_eq!(
        service_ports(&r),
        owned3(&[
            ("telnet", 23, "telnet"),
            ("web", 80, "web"),
            ("telnet-tls", 992, "telnet-tls"),
            ("web-tls", 443, "web-tls"),
        ])
    );
    assert_eq!(open_to_all(&r), [4201, 4280, 4202, 4243]);
    // Every Service port targets a port the container names.
    let names: Vec<String> = container_ports(&r).into_iter().map(|(n, _)| n).collect();
    for (_, _, target) in service_ports(&r) {
        assert!(names.contains(&target), "{target} in {names:?}");
    }

    // The web client off: telnet and telnet over TLS only.
    g.spec.connection_server.web = false;
    let r = render(&g).unwrap();
    let c = container(deployment(&r, "tavern-gateway"));
    assert_eq!(
        container_ports(&r),
        owned(&[("telnet", 4201), ("telnet-tls", 4202), ("health", 9100)])
    );
    for absent in ["MUSH_WEB_ADDR", "MUSH_WEB_TLS_ADDR"] {
        assert!(
            !env_of(c).contains_key(absent),
            "{absent} with the web client off"
        );
    }
    assert!(env_of(c).contains_key("MUSH_TLS_CERT_FILE"));
    assert_eq!(
        service_ports(&r),
        owned3(&[("telnet", 23, "telnet"), ("telnet-tls", 992, "telnet-tls")])
    );
    assert_eq!(open_to_all(&r), [4201, 4202]);
    g.spec.connection_server.tls = None;
    let r = render(&g).unwrap();
    assert_eq!(service_ports(&r), owned3(&[("telnet", 23, "telnet")]));
    assert_eq!(open_to_all(&r), [4201]);
}

#[test]
fn only_the_listed_origins_open_websockets_once_a_list_is_given() {
    let r = render(&game()).unwrap();
    let c = container(deployment(&r, "tavern-gateway"));
    assert!(
        !env_of(c).contains_key("MUSH_WEB_ALLOWED_ORIGINS"),
        "any page by default"
    );
    let mut g = game();
    g.spec.connection_server.web_allowed_origins = vec![
        "https://play.example.org".to_owned(),
        "http://localhost:4280".to_owned(),
    ];
    let r = render(&g).unwrap();
    let c = container(deployment(&r, "tavern-gateway"));
    assert_eq!(
        value(c, "MUSH_WEB_ALLOWED_ORIGINS").as_deref(),
        Some("https://play.example.org,http://localhost:4280")
    );
    for bad in [
        "play.example.org",
        "https://play.example.org/client",
        "https://a.org,https://b.org",
        "https://",
        "https://play.example.org:99999",
        "javascript:alert(1)",
    ] {
        let mut g = game();
        g.spec.connection_server.web_allowed_origins = vec![bad.to_owned()];
        let err = spec_errors(&g.spec).join("; ");
        assert!(err.contains("is not an origin"), "{bad} accepted: {err}");
    }
    let mut g = game();
    g.spec.connection_server.web_allowed_origins = vec![
        "https://play.example.org:8443/".to_owned(),
        "http://[::1]:4280".to_owned(),
    ];
    assert_eq!(spec_errors(&g.spec), Vec::<String>::new());
}

#[test]
fn the_gateway_service_ports_must_differ_and_be_ports() {
    let refused = |f: &dyn Fn(&mut MushGame)| {
        let mut g = game();
        f(&mut g);
        spec_errors(&g.spec).join("; ")
    };
    let err = refused(&|g| g.spec.connection_server.web_port = 4201);
    assert!(
        err.contains("connectionServer.telnetPort and connectionServer.webPort are both 4201"),
        "{err}"
    );
    let err = refused(&|g| {
        let mut tls = GatewayTls::from_secret("tavern-tls");
        tls.web_port = tls.telnet_port;
        g.spec.connection_server.tls = Some(tls);
    });
    assert!(
        err.contains("connectionServer.tls.telnetPort and connectionServer.tls.webPort are both 4202"),
        "{err}"
    );
    assert!(render(&game()).is_ok());
    // With the web client off its ports are unused, so they may be anything.
    let err = refused(&|g| {
        g.spec.connection_server.web = false;
        g.spec.connection_server.web_port = 4201;
        let mut tls = GatewayTls::from_secret("tavern-tls");
        tls.web_port = 4201;
        g.spec.connection_server.tls = Some(tls);
    });
    assert_eq!(err, "");

    // The API server refuses what is not a port, and the rules above as CEL.
    let crd = serde_json::to_value(crate::crd::crd()).unwrap();
    let cs = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["connectionServer"];
    let props = &cs["properties"];
    for port in [
        &props["telnetPort"],
        &props["webPort"],
        &props["tls"]["properties"]["telnetPort"],
        &props["tls"]["properties"]["webPort"],
    ] {
        assert_eq!(port["type"], "integer", "{port}");
        assert_eq!(port["minimum"].as_f64(), Some(1.0), "{port}");
        assert_eq!(port["maximum"].as_f64(), Some(65535.0), "{port}");
    }
    assert_eq!(props["webPort"]["default"], 4280);
    assert_eq!(props["web"]["default"], true);
    assert_eq!(props["tls"]["properties"]["telnetPort"]["default"], 4202);
    assert_eq!(props["tls"]["properties"]["webPort"]["default"], 4243);
    assert_eq!(props["tls"]["required"], serde_json::json!(["secretName"]));
    assert_eq!(props["tls"]["properties"]["secretName"]["minLength"], 1);
    let rules: Vec<&str> = cs["x-kubernetes-validations"]
        .as_array()
        .expect("CEL rules on connectionServer")
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"!self.web || self.webPort != self.telnetPort"),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.contains("self.tls.telnetPort != self.telnetPort")),
        "{rules:?}"
    );
}

#[test]
fn observability_extras_appear_only_when_asked_for() {
    let r = render(&game()).unwrap();
    assert!(!r.children.iter().any(|c| c.kind() == "ServiceMonitor"));
    assert!(r.find("ConfigMap", "tavern-dashboards").is_none());
    let mut g = game();
    g.spec.observability.service_monitor = true;
    g.spec.observability.dashboards = true;
    g.spec.observability.otlp_endpoint = Some("http://otel:4318/v1/traces".into());
    let r = render(&g).unwrap();
    let Some(Child::ServiceMonitor(sm)) = r.find("ServiceMonitor", "tavern") else {
        panic!("ServiceMonitor")
    };
    assert_eq!(sm.types.as_ref().unwrap().api_version, "monitoring.coreos.com/v1");
    assert_eq!(sm.data["spec"]["endpoints"][0]["port"], "metrics");
    let dash = config_map(&r, "tavern-dashboards");
    assert_eq!(dash.metadata.labels.as_ref().unwrap()["grafana_dashboard"], "1");
    let json: serde_json::Value =
        serde_json::from_str(&dash.data.as_ref().unwrap()["mush-tavern.json"]).unwrap();
    assert!(json["panels"].as_array().unwrap().len() >= 4);
    let settings = config_map(&r, "tavern-settings").data.as_ref().unwrap();
    assert_eq!(
        settings["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
        "http://otel:4318/v1/traces"
    );
}

#[test]
fn pod_overrides_reach_every_pod_without_touching_selectors() {
    let mut g = game();
    g.spec.pod_template.node_selector = [("pool".to_owned(), "games".to_owned())].into();
    g.spec.pod_template.labels = [
        ("team".to_owned(), "story".to_owned()),
        (COMPONENT_LABEL.to_owned(), "hijack".to_owned()),
    ]
    .into();
    let r = render(&g).unwrap();
    for (name, spec) in all_pod_specs(&r) {
        assert_eq!(spec.node_selector.as_ref().unwrap()["pool"], "games", "{name}");
    }
    let d = deployment(&r, "tavern-gateway");
    let labels = d
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(labels["team"], "story");
    assert_eq!(labels[COMPONENT_LABEL], "gateway", "our labels win");
}

#[test]
fn rendered_objects_read_back_as_the_same_kubernetes_objects() {
    let r = render(&game()).unwrap();
    let yaml = r.to_yaml();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), r.children.len());
    for (doc, child) in docs.into_iter().zip(&r.children) {
        let back = match child {
            Child::ServiceAccount(_) => Child::ServiceAccount(serde_yaml::from_value(doc).unwrap()),
            Child::ConfigMap(_) => Child::ConfigMap(serde_yaml::from_value(doc).unwrap()),
            Child::Service(_) => Child::Service(serde_yaml::from_value(doc).unwrap()),
            Child::Deployment(_) => Child::Deployment(serde_yaml::from_value(doc).unwrap()),
            Child::StatefulSet(_) => Child::StatefulSet(serde_yaml::from_value(doc).unwrap()),
            Child::Job(_) => Child::Job(serde_yaml::from_value(doc).unwrap()),
            Child::PodDisruptionBudget(_) => Child::PodDisruptionBudget(serde_yaml::from_value(doc).unwrap()),
            Child::NetworkPolicy(_) => Child::NetworkPolicy(serde_yaml::from_value(doc).unwrap()),
            Child::ServiceMonitor(_) => Child::ServiceMonitor(serde_yaml::from_value(doc).unwrap()),
        };
        assert_eq!(&back, child, "{} {}", child.kind(), child.name());
    }
}

#[test]
fn invalid_combinations_are_refused_with_what_to_fix() {
    let mut g = game();
    g.spec.kafka.external = Some(ExternalKafka {
        bootstrap_servers: "k.example:9092".into(),
        create_topics: true,
        tls: None,
        sasl: None,
    });
    let err = render(&g).unwrap_err().to_string();
    assert!(
        err.contains("kafka.managed and kafka.external exclude each other"),
        "{err}"
    );
    let mut g = game();
    g.spec.connection_server.replicas = 16;
    let err = render(&g).unwrap_err().to_string();
    assert!(
        err.contains("kafka.outputPartitions (16) must be at least"),
        "{err}"
    );
}

#[test]
fn memory_quantities_are_read_for_redpanda() {
    use super::kafka::quantity_bytes;
    assert_eq!(quantity_bytes("1536Mi"), Some(1536 * 1024 * 1024));
    assert_eq!(quantity_bytes("2Gi"), Some(2 * 1024 * 1024 * 1024));
    assert_eq!(quantity_bytes("1G"), Some(1_000_000_000));
    assert_eq!(quantity_bytes("512000000"), Some(512_000_000));
    assert_eq!(quantity_bytes("lots"), None);
}

fn network_policy<'a>(r: &'a Rendered, name: &str) -> &'a k8s_openapi::api::networking::v1::NetworkPolicy {
    match r.find("NetworkPolicy", name) {
        Some(Child::NetworkPolicy(np)) => np,
        _ => panic!("NetworkPolicy {name} rendered"),
    }
}

/// One ingress rule, as (ports, sources): `None` ports admit every port, `None` sources everyone.
type Rule = (Option<Vec<i32>>, Option<Vec<serde_json::Value>>);

fn rules_of(np: &k8s_openapi::api::networking::v1::NetworkPolicy) -> Vec<Rule> {
    let spec = np.spec.as_ref().unwrap();
    assert_eq!(spec.policy_types.as_deref(), Some(&["Ingress".to_owned()][..]));
    spec.ingress
        .iter()
        .flatten()
        .map(|r| {
            let ports = r.ports.as_ref().map(|ps| {
                ps.iter()
                    .map(|p| {
                        assert_eq!(p.protocol.as_deref(), Some("TCP"));
                        match p.port {
                            Some(IntOrString::Int(n)) => n,
                            ref other => panic!("a numbered port, not {other:?}"),
                        }
                    })
                    .collect()
            });
            let from = r
                .from
                .as_ref()
                .map(|f| f.iter().map(|p| serde_json::to_value(p).unwrap()).collect());
            (ports, from)
        })
        .collect()
}

fn pods_of(components: &[&str]) -> serde_json::Value {
    serde_json::json!({ "podSelector": {
        "matchLabels": { "mush.dev/game": "tavern" },
        "matchExpressions": [{ "key": COMPONENT_LABEL, "operator": "In", "values": components }],
    }})
}

fn namespace_named(name: &str) -> serde_json::Value {
    serde_json::json!({ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": name } } })
}

#[test]
fn each_component_admits_only_what_it_serves() {
    let mut g = game();
    g.spec.observability.metrics_from = vec![serde_json::from_value(namespace_named("monitoring")).unwrap()];
    let r = render_with(
        &g,
        &RenderOptions {
            operator_namespace: "ops".into(),
        },
    )
    .unwrap();
    let metrics = vec![namespace_named("ops"), namespace_named("monitoring")];
    let policies: Vec<&str> = r
        .children
        .iter()
        .filter(|c| c.kind() == "NetworkPolicy")
        .map(|c| c.name())
        .collect();
    assert_eq!(
        policies,
        ["tavern-gateway", "tavern-game", "tavern-redis", "tavern-kafka"]
    );
    for (name, component) in [
        ("tavern-gateway", "gateway"),
        ("tavern-game", "game"),
        ("tavern-redis", "redis"),
        ("tavern-kafka", "kafka"),
    ] {
        let target = network_policy(&r, name)
            .spec
            .as_ref()
            .unwrap()
            .pod_selector
            .clone()
            .unwrap();
        assert_eq!(
            target.match_labels.unwrap(),
            BTreeMap::from([
                (GAME_LABEL.to_owned(), "tavern".to_owned()),
                (COMPONENT_LABEL.to_owned(), component.to_owned()),
            ]),
            "{name} selects its own pods only"
        );
    }
    // Players reach telnet and the web client from anywhere; metrics only from the operator and
    // monitoring.
    assert_eq!(
        rules_of(network_policy(&r, "tavern-gateway")),
        vec![
            (Some(vec![4201, 4280]), None),
            (Some(vec![9100]), Some(metrics.clone())),
        ]
    );
    assert_eq!(
        rules_of(network_policy(&r, "tavern-game")),
        vec![(Some(vec![9100]), Some(metrics))],
        "the game-server serves nothing but its health and metrics"
    );
    assert_eq!(
        rules_of(network_policy(&r, "tavern-redis")),
        vec![(Some(vec![6379]), Some(vec![pods_of(&["gateway", "game"])]))]
    );
    assert_eq!(
        rules_of(network_policy(&r, "tavern-kafka")),
        vec![
            (
                Some(vec![9092]),
                Some(vec![pods_of(&["gateway", "game", "topics"])])
            ),
            (Some(vec![9644]), Some(vec![pods_of(&["topics"])])),
            (None, Some(vec![pods_of(&["kafka"])])),
        ]
    );
    // Every source inside the cluster is this game's own pods (same namespace) or a namespace
    // named on purpose: no rule but the players' admits the whole cluster.
    for c in &r.children {
        let Child::NetworkPolicy(np) = c else { continue };
        for (ports, from) in rules_of(np) {
            if from.is_none() {
                assert_eq!(
                    ports,
                    Some(vec![4201, 4280]),
                    "{}: open to all only for players",
                    c.name()
                );
            }
        }
    }

    // Without metricsFrom, only the operator's namespace; the default is where install.yaml puts it.
    let r = render(&game()).unwrap();
    assert_eq!(
        rules_of(network_policy(&r, "tavern-game")),
        vec![(Some(vec![9100]), Some(vec![namespace_named("mush-system")]))]
    );
}

#[test]
fn managed_redpanda_runs_in_production_mode_with_durable_writes() {
    let r = render(&game()).unwrap();
    let pod = stateful_set(&r, "tavern-kafka")
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .clone()
        .unwrap();
    let broker = &pod.containers[0];
    let args = broker.args.clone().unwrap();
    assert_eq!(args[..2], ["redpanda", "start"]);
    for flag in [
        "--smp=1",
        "--memory=1228M",
        "--reserve-memory=0M",
        "--overprovisioned",
        "--unsafe-bypass-fsync=false",
        "--default-log-level=info",
    ] {
        assert!(args.contains(&flag.to_owned()), "{flag} in {args:?}");
    }
    assert!(
        !args
            .iter()
            .any(|a| a.contains("dev-container") || a.starts_with("--mode")),
        "{args:?}"
    );
    // Before the broker, its configuration is written in production mode (developer_mode: false)
    // where the broker reads it.
    let init = pod.init_containers.as_ref().expect("an init container");
    assert_eq!(init.len(), 1);
    assert_eq!(
        init[0].args.as_deref().unwrap(),
        ["redpanda", "mode", "production"]
    );
    assert_eq!(init[0].image, broker.image);
    let config_mount = |c: &Container| {
        c.volume_mounts
            .iter()
            .flatten()
            .find(|m| m.mount_path == "/etc/redpanda")
            .map(|m| m.name.clone())
    };
    assert_eq!(config_mount(&init[0]), Some("config".into()));
    assert_eq!(config_mount(broker), Some("config".into()));
    assert!(
        pod.volumes
            .iter()
            .flatten()
            .any(|v| v.name == "config" && v.empty_dir.is_some())
    );

    // The topic Job turns write caching (acknowledgement before fsync) off for good.
    let script = job(&r)
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .command
        .clone()
        .unwrap()
        .join(" ");
    assert!(
        script.contains("rpk cluster config set write_caching_default false"),
        "{script}"
    );
    assert!(script.contains("-c write.caching=false"), "new topics: {script}");
    assert!(
        script.contains("--set write.caching=false"),
        "existing topics: {script}"
    );
    assert!(script.contains(r#"-r "$REPLICATION""#), "{script}");
    assert!(script.contains(r#"retention.ms="$retention""#), "{script}");
}

#[test]
fn redpanda_cores_follow_the_cpu_and_memory_it_is_given() {
    use crate::crd::resources;
    let smp_and_shared = |cpu: &str, memory_limit: &str, cpu_limit: Option<&str>| {
        let mut k = crate::crd::ManagedKafka {
            resources: resources(cpu, "1Gi", memory_limit),
            ..Default::default()
        };
        if let Some(l) = cpu_limit {
            k.resources
                .limits
                .as_mut()
                .unwrap()
                .insert("cpu".into(), Quantity(l.into()));
        }
        (
            super::redpanda_smp(&k),
            super::kafka::redpanda_overprovisioned(&k),
        )
    };
    assert_eq!(
        smp_and_shared("250m", "1536Mi", None),
        (1, true),
        "the default shares a core"
    );
    assert_eq!(smp_and_shared("2", "4Gi", None), (2, false));
    assert_eq!(
        smp_and_shared("500m", "8Gi", Some("3")),
        (3, false),
        "the limit counts"
    );
    assert_eq!(
        smp_and_shared("4", "2Gi", None),
        (1, false),
        "1638Mi is memory for one core at 1Gi each"
    );
    assert_eq!(smp_and_shared("1500m", "4Gi", None), (1, false));
}

#[test]
fn topic_replication_and_retention_are_settings_the_job_applies() {
    let base = render(&game()).unwrap();
    let mut g = game();
    g.spec.kafka.topics.input_retention = "3d".into();
    g.spec.kafka.topics.output_retention = "90m".into();
    let r = render(&g).unwrap();
    let env = env_of(
        &job(&r)
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0],
    );
    assert_eq!(env["INPUT_RETENTION_MS"].value.as_deref(), Some("259200000"));
    assert_eq!(env["OUTPUT_RETENTION_MS"].value.as_deref(), Some("5400000"));
    assert_ne!(
        r.topics_job, base.topics_job,
        "a new Job applies the new retention"
    );
    assert_eq!(
        r.game_revision, base.game_revision,
        "the servers are not restarted for it"
    );
    assert_eq!(r.gateway_revision, base.gateway_revision);

    // One managed broker holds one replica.
    let mut g = game();
    g.spec.kafka.topics.replication_factor = 3;
    let err = render(&g).unwrap_err().to_string();
    assert!(err.contains("kafka.topics.replicationFactor must be 1"), "{err}");
    // An external cluster may have three.
    g.spec.kafka.managed = None;
    g.spec.kafka.external = Some(ExternalKafka {
        bootstrap_servers: "k.example:9092".into(),
        create_topics: true,
        tls: None,
        sasl: None,
    });
    let r = render(&g).unwrap();
    assert_eq!(
        config_map(&r, "tavern-settings").data.as_ref().unwrap()["MUSH_TOPIC_REPLICATION"],
        "3"
    );
    g.spec.kafka.topics.input_retention = "a week".into();
    let err = render(&g).unwrap_err().to_string();
    assert!(err.contains("kafka.topics.inputRetention"), "{err}");

    assert_eq!(crate::crd::duration_ms("7d"), Some(604_800_000));
    assert_eq!(crate::crd::duration_ms("250ms"), Some(250));
    assert_eq!(crate::crd::duration_ms("0d"), None);
    assert_eq!(crate::crd::duration_ms("7"), None);
    assert_eq!(crate::crd::duration_ms("7w"), None);
}

#[test]
fn redpanda_with_less_than_a_gib_per_core_is_refused() {
    let mut g = game();
    g.spec.kafka.managed.as_mut().unwrap().resources = crate::crd::resources("250m", "512Mi", "1Gi");
    let err = render(&g).unwrap_err().to_string();
    assert!(
        err.contains("kafka.managed.resources.limits.memory is too small"),
        "{err}"
    );
    g.spec.kafka.managed.as_mut().unwrap().resources = crate::crd::resources("250m", "512Mi", "1280Mi");
    render(&g).expect("1280Mi leaves Redpanda 1Gi");
}

#[test]
fn managed_redis_requires_its_password_and_never_evicts_under_its_memory_limit() {
    let r = render(&game()).unwrap();
    let c = &stateful_set(&r, "tavern-redis")
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    let args = c.args.clone().unwrap();
    let after = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} in {args:?}"));
        args[i + 1].clone()
    };
    assert_eq!(
        after("--maxmemory"),
        (512u64 * 1024 * 1024 / 5 * 4).to_string(),
        "80% of 512Mi"
    );
    assert_eq!(after("--maxmemory-policy"), "noeviction");
    assert_eq!(
        after("--requirepass"),
        "$(REDIS_PASSWORD)",
        "expanded by Kubernetes, not written in the pod spec"
    );
    let env = env_of(c);
    for name in ["REDIS_PASSWORD", "REDISCLI_AUTH"] {
        let from = env[name]
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.clone())
            .unwrap_or_else(|| panic!("{name} from a Secret"));
        assert_eq!(
            (from.name.as_str(), from.key.as_str()),
            ("tavern-redis-auth", "password")
        );
        assert!(env[name].value.is_none());
    }
    // Without a memory limit there is no ceiling to derive, but still no eviction.
    let mut g = game();
    g.spec.redis.managed.as_mut().unwrap().resources.limits = None;
    let args = super::redis::redis_args(g.spec.redis.managed.as_ref().unwrap());
    assert!(!args.contains(&"--maxmemory".to_owned()));
    assert!(args.join(" ").contains("--maxmemory-policy noeviction"));
}

#[test]
fn servers_get_the_redis_password_and_input_key_by_reference_only() {
    let r = render(&game()).unwrap();
    for name in ["tavern-gateway", "tavern-game"] {
        let c = container(deployment(&r, name));
        let env = c.env.clone().unwrap();
        let pos = |n: &str| {
            env.iter()
                .position(|e| e.name == n)
                .unwrap_or_else(|| panic!("{n} in {name}"))
        };
        let secret = |n: &str| {
            let e = &env[pos(n)];
            assert!(e.value.is_none(), "{n} in clear in {name}");
            let r = e.value_from.as_ref().unwrap().secret_key_ref.clone().unwrap();
            (r.name, r.key, r.optional)
        };
        assert_eq!(
            secret("MUSH_REDIS_PASSWORD"),
            ("tavern-redis-auth".into(), "password".into(), Some(false))
        );
        assert_eq!(
            env[pos("MUSH_REDIS_URL")].value.as_deref(),
            Some("redis://:$(MUSH_REDIS_PASSWORD)@tavern-redis:6379")
        );
        assert!(
            pos("MUSH_REDIS_PASSWORD") < pos("MUSH_REDIS_URL"),
            "$(VAR) expands only variables defined before it"
        );
        assert_eq!(
            secret("MUSH_INPUT_KEY"),
            ("tavern-input-key".into(), "key".into(), Some(false))
        );
        // Only the game-server opens lines with the previous key, and only while one is set.
        assert_eq!(
            env.iter().any(|e| e.name == "MUSH_INPUT_KEY_PREVIOUS"),
            name == "tavern-game",
            "{name}"
        );
        if name == "tavern-game" {
            assert_eq!(
                secret("MUSH_INPUT_KEY_PREVIOUS"),
                ("tavern-input-key".into(), "previous".into(), Some(true))
            );
        }
    }
}

#[test]
fn generated_secrets_are_named_and_owned_but_never_rendered_with_a_value() {
    let r = render(&game()).unwrap();
    let names: Vec<(&str, &str)> = r.secrets.iter().map(|s| (s.name(), s.key)).collect();
    assert_eq!(
        names,
        [("tavern-redis-auth", "password"), ("tavern-input-key", "key")]
    );
    for s in &r.secrets {
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.uid, "uid-1", "removed with the game");
        assert_eq!(s.metadata.namespace.as_deref(), Some("games"));
    }
    assert!(
        !r.children.iter().any(|c| c.to_json()["kind"] == "Secret"),
        "a random value is never applied"
    );
    let yaml = r.to_yaml();
    assert!(yaml.contains("# Secret tavern-input-key (key key): generated by the operator"));
    let secret = r.secrets[1].with_value("00ff");
    assert_eq!(
        secret.string_data,
        Some(BTreeMap::from([("key".to_owned(), "00ff".to_owned())]))
    );
    assert_eq!(secret.metadata, r.secrets[1].metadata);
    assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    assert_eq!(
        hex(&[7u8; RANDOM_BYTES]).len(),
        64,
        "MUSH_INPUT_KEY is 64 hex characters"
    );
}
