//! The shipped install (`manifests/install.yaml`, rendered from the Helm chart) grants every call
//! the controller makes, and runs the operator the way `main.rs` expects.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};

fn docs() -> Vec<serde_yaml::Value> {
    let path = format!("{}/../manifests/install.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn of_kind(kind: &str) -> serde_yaml::Value {
    docs()
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind} in the manifest"))
}

fn allows(rules: &[k8s_openapi::api::rbac::v1::PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        r.api_groups.iter().flatten().any(|g| g == group)
            && r.resources.iter().flatten().any(|x| x == resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

/// The ClusterRole bound to the operator's ServiceAccount.
fn operator_rules() -> Vec<k8s_openapi::api::rbac::v1::PolicyRule> {
    let binding = docs()
        .into_iter()
        .find(|d| {
            d["kind"] == "ClusterRoleBinding"
                && d["subjects"][0]["name"] == "mush-operator"
                && d["roleRef"]["kind"] == "ClusterRole"
        })
        .expect("a ClusterRoleBinding for the operator's ServiceAccount");
    let role_name = binding["roleRef"]["name"].clone();
    let role = docs()
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == role_name)
        .expect("the bound ClusterRole");
    let role: ClusterRole = serde_yaml::from_value(role).unwrap();
    role.rules.unwrap_or_default()
}

#[test]
fn the_cluster_role_grants_every_call_the_controller_makes() {
    let rules = operator_rules();
    // Server-side apply is a PATCH that may create; owned kinds are watched.
    let applied = [
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("", "services"),
        ("", "configmaps"),
        ("", "serviceaccounts"),
        ("batch", "jobs"),
        ("policy", "poddisruptionbudgets"),
        ("networking.k8s.io", "networkpolicies"),
    ];
    for (group, resource) in applied {
        // ... and deleted when the spec no longer asks for them.
        for verb in ["list", "watch", "create", "patch", "delete"] {
            assert!(allows(&rules, group, resource, verb), "{verb} {group}/{resource}");
        }
    }
    // Read before deciding (the game-server restart gate, dependency readiness).
    for (group, resource) in [
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("batch", "jobs"),
    ] {
        assert!(allows(&rules, group, resource, "get"), "get {group}/{resource}");
    }
    for (group, resource, verb) in [
        ("mush.dev", "mushgames", "list"),
        ("mush.dev", "mushgames", "watch"),
        ("mush.dev", "mushgames/status", "patch"),
        ("mush.dev", "mushgames/finalizers", "update"),
        ("", "pods", "list"),
        ("", "pods", "watch"),
        ("", "pods", "patch"),
        ("", "pods/proxy", "get"),
        ("", "secrets", "get"),
        // The generated Secrets (Redis password, input key) are created when missing.
        ("", "secrets", "create"),
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
        ("monitoring.coreos.com", "servicemonitors", "patch"),
        ("monitoring.coreos.com", "servicemonitors", "list"),
        ("monitoring.coreos.com", "servicemonitors", "delete"),
    ] {
        assert!(allows(&rules, group, resource, verb), "{verb} {group}/{resource}");
    }
    let leader: Role = serde_yaml::from_value(of_kind("Role")).unwrap();
    let leader_rules = leader.rules.unwrap_or_default();
    for verb in ["get", "create", "update"] {
        assert!(
            allows(&leader_rules, "coordination.k8s.io", "leases", verb),
            "{verb} leases"
        );
    }
}

#[test]
fn the_operator_runs_hardened_with_its_identity_and_health_probes() {
    let d: Deployment = serde_yaml::from_value(of_kind("Deployment")).unwrap();
    let spec = d.spec.unwrap();
    let pod = spec.template.spec.unwrap();
    let c = &pod.containers[0];
    // The container's arguments are ones this binary accepts (`--help` last: clap stops at the
    // first unknown argument before it).
    let mut args = c.args.clone().unwrap_or_default();
    args.push("--help".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mush-operator"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the install runs `mush-operator {}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        c.image.as_deref(),
        Some(mush_operator::crd::DEFAULT_OPERATOR_IMAGE)
    );
    let env: Vec<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
    assert!(env.contains(&"POD_NAME") && env.contains(&"POD_NAMESPACE"));
    assert_eq!(
        c.readiness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .as_deref(),
        Some("/readyz")
    );
    assert_eq!(
        c.liveness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .as_deref(),
        Some("/livez")
    );
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
}
