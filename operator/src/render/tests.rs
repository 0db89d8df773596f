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
use crate::crd::{ExternalKafka, ExternalRedis, KafkaSasl, KafkaTls, MushGame, SaslMechanism, SecretKeyRef};

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
        ("MUSH_REDIS_URL", "redis://tavern-redis:6379"),
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
        assert!(!budgets.is_empty());
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
        for c in &spec.containers {
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
fn the_network_policy_admits_only_the_games_own_pods_to_redis_and_kafka() {
    let r = render(&game()).unwrap();
    let Some(Child::NetworkPolicy(np)) = r.find("NetworkPolicy", "tavern-backends") else {
        panic!("NetworkPolicy rendered")
    };
    let spec = np.spec.as_ref().unwrap();
    let target = spec.pod_selector.as_ref().unwrap();
    assert_eq!(target.match_labels.as_ref().unwrap()[GAME_LABEL], "tavern");
    let expr = &target.match_expressions.as_ref().unwrap()[0];
    assert_eq!(
        expr.values.as_deref(),
        Some(&["redis".to_owned(), "kafka".to_owned()][..])
    );
    let from = &spec.ingress.as_ref().unwrap()[0].from.as_ref().unwrap()[0];
    let peer = from.pod_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
    assert_eq!(
        peer,
        &BTreeMap::from([(GAME_LABEL.to_owned(), "tavern".to_owned())])
    );
    assert!(from.namespace_selector.is_none(), "same namespace only");
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
    assert!(
        r.find("NetworkPolicy", "tavern-backends").is_none(),
        "nothing to protect"
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
