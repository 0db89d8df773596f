//! The shipped install (`manifests/install.yaml`, rendered from the Helm chart) binds the
//! operator's identity to its roles, and runs the operator the way `main.rs` expects.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::Role;

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

/// The name of the role `kind` the binding `binding_kind` gives the operator's ServiceAccount.
fn bound_role(binding_kind: &str, role_kind: &str) -> String {
    let binding = docs()
        .into_iter()
        .find(|d| {
            d["kind"] == binding_kind
                && d["subjects"][0]["kind"] == "ServiceAccount"
                && d["subjects"][0]["name"] == "mush-operator"
                && d["roleRef"]["kind"] == role_kind
        })
        .unwrap_or_else(|| panic!("a {binding_kind} for the operator's ServiceAccount"));
    binding["roleRef"]["name"]
        .as_str()
        .expect("a role name")
        .to_owned()
}

/// What the roles grant is checked elsewhere: `src/permissions.rs` derives it from the requests
/// the operator's tests make (and the chart's rule files must grant exactly that), and
/// tests/install_manifests.rs keeps install.yaml's rules equal to the chart's. Here: those roles
/// are the ones the operator's identity is bound to.
#[test]
fn the_operators_service_account_is_bound_to_its_roles() {
    for (binding, role) in [("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")] {
        let name = bound_role(binding, role);
        let found = docs()
            .into_iter()
            .find(|d| d["kind"] == role && d["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("the {role} {name} the {binding} names"));
        let rules: Vec<k8s_openapi::api::rbac::v1::PolicyRule> =
            serde_yaml::from_value(found["rules"].clone()).expect("rules");
        assert!(!rules.is_empty(), "the {role} {name} grants something");
    }
    let leader: Role = serde_yaml::from_value(of_kind("Role")).unwrap();
    let leases = leader.rules.unwrap_or_default();
    assert!(
        leases
            .iter()
            .any(|r| r.resources.iter().flatten().any(|x| x == "leases")),
        "the Role is leader election's"
    );
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
