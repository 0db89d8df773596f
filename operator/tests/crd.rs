//! The CRD in `crds/` is the one the code generates; its schema carries the same defaults as the
//! code; and the shipped example is a valid MushGame under that schema.

use mush_operator::crd::{
    KafkaSpec, ManagedKafka, ManagedRedis, MushGame, MushGameSpec, RedisSpec, crd, crd_yaml,
};
use mush_operator::render::{render, spec_errors};
use serde_json::Value;

fn repo_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

fn schema() -> Value {
    let crd = serde_json::to_value(crd()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

#[test]
fn the_committed_crd_is_the_generated_one() {
    let committed = repo_file("crds/mushgames.mush.dev.yaml");
    assert!(
        committed == crd_yaml(),
        "crds/mushgames.mush.dev.yaml differs from the code; regenerate it with\n  \
         cargo run -p mush-operator -- crd > crds/mushgames.mush.dev.yaml"
    );
}

#[test]
fn the_crd_names_and_columns_are_what_users_type_and_see() {
    let crd = crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("mushgames.mush.dev"));
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["mg".to_owned()]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(
        version.subresources.as_ref().unwrap().status.is_some(),
        "status subresource"
    );
    let columns: Vec<&str> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Ready", "Players", "Game", "Gateways", "Age"]);
}

#[test]
fn schema_defaults_are_the_codes_defaults() {
    // What the API server fills in must be what the operator assumes for a missing field.
    let s = schema();
    let spec_props = &s["properties"]["spec"]["properties"];
    let defaults = serde_json::to_value(MushGameSpec::default()).unwrap();
    for key in [
        "logLevel",
        "connectionServer",
        "gameServer",
        "kafka",
        "redis",
        "observability",
        "podTemplate",
    ] {
        assert_eq!(spec_props[key]["default"], defaults[key], "default of spec.{key}");
    }
    // An empty spec is a complete, valid game.
    let game: MushGame = serde_yaml::from_str(
        "apiVersion: mush.dev/v1alpha1\nkind: MushGame\nmetadata: {name: g}\nspec: {}\n",
    )
    .unwrap();
    assert_eq!(game.spec, MushGameSpec::default());
    assert!(spec_errors(&game.spec).is_empty());
}

#[test]
fn rules_spanning_fields_are_cel_validations_with_messages() {
    let s = schema();
    let rules = |v: &Value| -> Vec<(String, String)> {
        v["x-kubernetes-validations"]
            .as_array()
            .unwrap_or_else(|| panic!("validations in {v}"))
            .iter()
            .map(|r| {
                (
                    r["rule"].as_str().unwrap().to_owned(),
                    r["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let spec = &s["properties"]["spec"];
    let kafka = rules(&spec["properties"]["kafka"]);
    assert!(
        kafka
            .iter()
            .any(|(r, m)| r == "!(has(self.managed) && has(self.external))"
                && m.contains("exclude each other"))
    );
    assert!(
        kafka.iter().any(|(r, _)| r.contains("oldSelf.outputPartitions")),
        "partitions never shrink"
    );
    let redis = rules(&spec["properties"]["redis"]);
    assert!(
        redis
            .iter()
            .any(|(r, _)| r == "!(has(self.managed) && has(self.external))")
    );
    let storage = rules(&spec["properties"]["redis"]["properties"]["managed"]["properties"]["storage"]);
    assert!(
        storage
            .iter()
            .any(|(r, m)| r == "self == oldSelf" && m.contains("immutable"))
    );
    let root = rules(spec);
    assert!(
        root.iter()
            .any(|(r, m)| r.contains("self.kafka.outputPartitions") && m.contains("outputPartitions"))
    );
    // Ranges and enums are plain schema.
    let cs = &spec["properties"]["connectionServer"]["properties"];
    assert_eq!(cs["replicas"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(cs["drainSeconds"]["maximum"].as_f64(), Some(3600.0));
    assert_eq!(
        cs["serviceType"]["enum"],
        serde_json::json!(["ClusterIP", "NodePort", "LoadBalancer"])
    );
}

/// Checks `value` against a structural OpenAPI schema: known fields only, types, enums, ranges,
/// lengths and required fields (what the API server checks before CEL).
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != true {
            errors.push(format!("{path}: null not allowed"));
        }
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_string() || value.is_i64()) {
            errors.push(format!("{path}: must be an integer or a string"));
        }
        return;
    }
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(obj) = value.as_object() else {
                errors.push(format!("{path}: must be an object"));
                return;
            };
            for req in schema["required"].as_array().into_iter().flatten() {
                if !obj.contains_key(req.as_str().unwrap()) {
                    errors.push(format!("{path}.{}: required", req.as_str().unwrap()));
                }
            }
            for (k, v) in obj {
                let sub = if let Some(p) = schema["properties"].get(k) {
                    p
                } else if schema["additionalProperties"].is_object() {
                    &schema["additionalProperties"]
                } else {
                    errors.push(format!("{path}.{k}: unknown field"));
                    continue;
                };
                validate(sub, v, &format!("{path}.{k}"), errors);
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    validate(&schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{path}: must be a list")),
        },
        Some("string") => match value.as_str() {
            Some(s) => {
                if schema["minLength"]
                    .as_u64()
                    .is_some_and(|m| (s.chars().count() as u64) < m)
                {
                    errors.push(format!("{path}: too short"));
                }
                if schema["maxLength"]
                    .as_u64()
                    .is_some_and(|m| (s.chars().count() as u64) > m)
                {
                    errors.push(format!("{path}: too long"));
                }
            }
            None => errors.push(format!("{path}: must be a string")),
        },
        Some("integer") => match value.as_i64() {
            Some(n) => {
                if schema["minimum"].as_f64().is_some_and(|m| (n as f64) < m) {
                    errors.push(format!("{path}: {n} is below the minimum {}", schema["minimum"]));
                }
                if schema["maximum"].as_f64().is_some_and(|m| (n as f64) > m) {
                    errors.push(format!("{path}: {n} is above the maximum {}", schema["maximum"]));
                }
            }
            None => errors.push(format!("{path}: must be an integer")),
        },
        Some("boolean") if !value.is_boolean() => errors.push(format!("{path}: must be true or false")),
        _ => {}
    }
}

fn example() -> Value {
    serde_yaml::from_str(&repo_file("manifests/mushgame.yaml")).expect("the example is YAML")
}

fn check(value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(
        &schema()["properties"]["spec"],
        &value["spec"],
        "spec",
        &mut errors,
    );
    errors
}

#[test]
fn the_example_is_a_valid_mushgame_a_newcomer_can_apply() {
    let value = example();
    assert_eq!(value["apiVersion"], "mush.dev/v1alpha1");
    assert_eq!(value["kind"], "MushGame");
    let errors = check(&value);
    assert!(errors.is_empty(), "the example breaks the schema: {errors:#?}");
    let game: MushGame = serde_json::from_value(value).expect("the example is a MushGame");
    assert!(
        spec_errors(&game.spec).is_empty(),
        "{:?}",
        spec_errors(&game.spec)
    );
    let mut game = game;
    game.metadata.namespace = Some("default".into());
    let rendered = render(&game).expect("the example renders");
    assert!(rendered.children.len() >= 14);
}

#[test]
fn the_schema_check_catches_typos_ranges_and_enums() {
    let mut value = example();
    value["spec"]["connectionServer"]["replicaz"] = 3.into();
    value["spec"]["connectionServer"]["drainSeconds"] = 99999.into();
    value["spec"]["connectionServer"]["serviceType"] = "Ingress".into();
    value["spec"]["kafka"]["external"] = serde_json::json!({});
    value["spec"]["connectionServer"]["webPort"] = 70000.into();
    value["spec"]["connectionServer"]["tls"] = serde_json::json!({ "telnetPort": 0 });
    let errors = check(&value).join("\n");
    assert!(
        errors.contains("spec.connectionServer.webPort: 70000 is above the maximum"),
        "{errors}"
    );
    assert!(
        errors.contains("spec.connectionServer.tls.telnetPort: 0 is below the minimum"),
        "{errors}"
    );
    assert!(
        errors.contains("spec.connectionServer.tls.secretName: required"),
        "{errors}"
    );
    assert!(
        errors.contains("spec.connectionServer.replicaz: unknown field"),
        "{errors}"
    );
    assert!(
        errors.contains("spec.connectionServer.drainSeconds: 99999 is above the maximum"),
        "{errors}"
    );
    assert!(errors.contains("spec.connectionServer.serviceType"), "{errors}");
    assert!(
        errors.contains("spec.kafka.external.bootstrapServers: required"),
        "{errors}"
    );
}

#[test]
fn kafka_and_redis_are_managed_unless_external_is_given() {
    let value: Value = serde_yaml::from_str(
        "apiVersion: mush.dev/v1alpha1\nkind: MushGame\nmetadata: {name: tavern, namespace: games}\nspec:\n  \
         kafka: {inputPartitions: 16}\n  redis: {keyNamespace: tavern}\n",
    )
    .unwrap();
    assert!(check(&value).is_empty(), "{:?}", check(&value));
    let game: MushGame = serde_json::from_value(value).unwrap();
    assert_eq!(game.spec.kafka.managed, Some(ManagedKafka::default()));
    assert_eq!(
        (
            game.spec.kafka.input_partitions,
            game.spec.kafka.output_partitions
        ),
        (16, 16)
    );
    assert_eq!(game.spec.redis.managed, Some(ManagedRedis::default()));
    assert_eq!(game.spec.redis.key_namespace, "tavern");
    assert!(
        spec_errors(&game.spec).is_empty(),
        "{:?}",
        spec_errors(&game.spec)
    );
    let rendered = render(&game).unwrap();
    assert!(rendered.find("StatefulSet", "tavern-kafka").is_some());
    assert!(rendered.find("StatefulSet", "tavern-redis").is_some());

    // Given `external`, nothing is managed.
    let game: MushGame = serde_yaml::from_str(
        "apiVersion: mush.dev/v1alpha1\nkind: MushGame\nmetadata: {name: tavern}\nspec:\n  \
         kafka: {external: {bootstrapServers: 'k.example:9092'}}\n  \
         redis: {external: {urlSecret: {name: redis-url, key: url}}}\n",
    )
    .unwrap();
    assert_eq!(game.spec.kafka.managed, None);
    assert_eq!(game.spec.redis.managed, None);

    // Written empty, each is its default, as the schema's defaults say.
    assert_eq!(
        serde_json::from_value::<KafkaSpec>(serde_json::json!({})).unwrap(),
        KafkaSpec::default()
    );
    assert_eq!(
        serde_json::from_value::<RedisSpec>(serde_json::json!({})).unwrap(),
        RedisSpec::default()
    );
}
