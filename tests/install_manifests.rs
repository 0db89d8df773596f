//! The install material stays consistent with itself and with the code, without a cluster:
//!
//! * `manifests/install.yaml` has the chart's RBAC rules and the generated CRD, and (when `helm`
//!   is on the PATH) is exactly the chart rendered with its defaults;
//! * the chart's CRD is a copy of `crds/mushgames.mush.dev.yaml`;
//! * (that the RBAC covers every Kubernetes call the operator makes is checked in the operator's own
//!   tests, from the requests they record: `operator/src/permissions.rs`);
//! * image names agree between the Dockerfile, the chart, install.yaml, the operator's defaults
//!   and the example MushGame;
//! * every manifest is well-formed (each document has apiVersion, kind, metadata.name; workloads,
//!   Services and policies select the pods they mean), as `kubectl --dry-run` cannot run offline;
//! * dashboards and alert rules use only metric names the binaries define; the ConfigMap and
//!   PrometheusRule copies equal their sources; `promtool check rules` and `promtool test rules`
//!   pass; every alert has a runbook section.

mod observability;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use observability::{read, root};
use serde::Deserialize as _;
use serde_yaml::Value;

const INSTALL: &str = "manifests/install.yaml";
const CRD: &str = "crds/mushgames.mush.dev.yaml";
const CHART: &str = "charts/mush-operator";
const CHART_CRD: &str = "charts/mush-operator/crds/mushgames.mush.dev.yaml";
const RELEASE: &str = "mush-operator";
const NAMESPACE: &str = "mush-system";

/// Every non-empty YAML document of a file.
fn docs(rel: &str) -> Vec<Value> {
    docs_of(&read(rel), rel)
}

fn docs_of(text: &str, what: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .enumerate()
        .map(|(i, d)| {
            Value::deserialize(d).unwrap_or_else(|e| panic!("{what}: document {} is not YAML: {e}", i + 1))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

fn kind_name(v: &Value) -> (String, String) {
    (s(v, &["kind"]).to_owned(), s(v, &["metadata", "name"]).to_owned())
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| s(d, &["kind"]) == kind && s(d, &["metadata", "name"]) == name)
        .unwrap_or_else(|| panic!("{INSTALL} has no {kind} {name}"))
}

/// One RBAC rule in a comparable form: sorted groups, resources, verbs and resource names.
type Rule = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

fn rules_of(rules: &Value) -> BTreeSet<Rule> {
    let list = |v: &Value| -> Vec<String> {
        let mut l: Vec<String> = v
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|x| x.as_str().expect("a string").to_owned())
            .collect();
        l.sort();
        l
    };
    rules
        .as_sequence()
        .expect("a list of rules")
        .iter()
        .map(|r| {
            (
                list(&r["apiGroups"]),
                list(&r["resources"]),
                list(&r["verbs"]),
                list(&r["resourceNames"]),
            )
        })
        .collect()
}

fn rule_file(name: &str) -> BTreeSet<Rule> {
    let rel = format!("{CHART}/files/rbac/{name}");
    rules_of(&serde_yaml::from_str::<Value>(&read(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

/// Does any rule grant `verb` on `group`/`resource`?
fn grants(rules: &BTreeSet<Rule>, group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|(groups, resources, verbs, names)| {
        names.is_empty()
            && (groups.iter().any(|g| g == group || g == "*"))
            && (resources.iter().any(|r| r == resource || r == "*"))
            && (verbs.iter().any(|v| v == verb || v == "*"))
    })
}

// ------------------------------------------------------------------------------------- CRD

#[test]
fn the_charts_crd_is_a_copy_of_the_generated_crd() {
    assert!(
        read(CHART_CRD) == read(CRD),
        "{CHART_CRD} differs from {CRD}; copy it: cp {CRD} {CHART_CRD}"
    );
}

#[test]
fn install_yaml_carries_the_generated_crd() {
    let install = docs(INSTALL);
    let crd = docs(CRD);
    assert_eq!(crd.len(), 1, "{CRD} should hold one document");
    let name = s(&crd[0], &["metadata", "name"]);
    assert!(
        find(&install, "CustomResourceDefinition", name) == &crd[0],
        "the CRD in {INSTALL} differs from {CRD}: regenerate {INSTALL} (see its header)"
    );
}

// ------------------------------------------------------------------------------------ RBAC

/// The RBAC objects of install.yaml and the rule files of the chart they must equal (defaults:
/// scrapePodMetrics, rbac.serviceMonitors and rbac.aggregateToDefaultRoles on).
const ROLES: &[(&str, &str, &[&str])] = &[
    (
        "ClusterRole",
        "mush-operator",
        &["operator.yaml", "pod-metrics.yaml", "servicemonitors.yaml"],
    ),
    ("Role", "mush-operator-leader-election", &["leader-election.yaml"]),
    (
        "ClusterRole",
        "mush-operator-mushgame-editor",
        &["mushgame-editor.yaml"],
    ),
    (
        "ClusterRole",
        "mush-operator-mushgame-viewer",
        &["mushgame-viewer.yaml"],
    ),
];

#[test]
fn install_yaml_has_the_charts_rbac_rules() {
    let install = docs(INSTALL);
    let template = read(&format!("{CHART}/templates/rbac.yaml"));
    for (kind, name, files) in ROLES {
        let expected: BTreeSet<Rule> = files.iter().flat_map(|f| rule_file(f)).collect();
        let got = rules_of(&find(&install, kind, name)["rules"]);
        assert_eq!(
            got, expected,
            "the rules of {kind} {name} in {INSTALL} differ from {CHART}/files/rbac/{files:?}: regenerate {INSTALL}"
        );
        for f in *files {
            assert!(
                template.contains(&format!(".Files.Get \"files/rbac/{f}\"")),
                "{CHART}/templates/rbac.yaml does not include files/rbac/{f}"
            );
        }
    }
    // No other role with rules sneaks in.
    let roles: BTreeSet<(String, String)> = install
        .iter()
        .filter(|d| matches!(s(d, &["kind"]), "Role" | "ClusterRole"))
        .map(kind_name)
        .collect();
    let expected: BTreeSet<(String, String)> = ROLES
        .iter()
        .map(|(k, n, _)| (k.to_string(), n.to_string()))
        .collect();
    assert_eq!(roles, expected, "unexpected roles in {INSTALL}");
}

#[test]
fn install_yaml_binds_each_role_to_the_operators_service_account() {
    let install = docs(INSTALL);
    let sa = find(&install, "ServiceAccount", RELEASE);
    assert_eq!(s(sa, &["metadata", "namespace"]), NAMESPACE);
    let deployment = find(&install, "Deployment", RELEASE);
    assert_eq!(
        s(deployment, &["spec", "template", "spec", "serviceAccountName"]),
        RELEASE
    );
    for (binding, role_kind, role) in [
        ("ClusterRoleBinding", "ClusterRole", RELEASE),
        ("RoleBinding", "Role", "mush-operator-leader-election"),
    ] {
        let b = install
            .iter()
            .find(|d| s(d, &["kind"]) == binding && s(d, &["roleRef", "name"]) == role)
            .unwrap_or_else(|| panic!("no {binding} for {role_kind} {role} in {INSTALL}"));
        assert_eq!(s(b, &["roleRef", "kind"]), role_kind);
        let subjects = b["subjects"].as_sequence().expect("subjects");
        assert!(
            subjects.iter().any(|x| s(x, &["kind"]) == "ServiceAccount"
                && s(x, &["name"]) == RELEASE
                && s(x, &["namespace"]) == NAMESPACE),
            "{binding} for {role} does not name ServiceAccount {NAMESPACE}/{RELEASE}"
        );
        if role_kind == "Role" {
            assert_eq!(s(b, &["metadata", "namespace"]), NAMESPACE);
            assert_eq!(
                s(find(&install, "Role", role), &["metadata", "namespace"]),
                NAMESPACE
            );
        }
    }
}

// That these rules grant every call the operator makes, and nothing more, is checked from the
// requests its tests actually make: operator/src/permissions.rs.

// ---------------------------------------------------------------------------------- images

/// The one Dockerfile, at the root: the build argument `BINARY` picks the image.
const DOCKERFILE: &str = "Dockerfile";

/// (package, binary) of the three images.
const IMAGES: &[(&str, &str)] = &[
    ("mush-connection-server", "connection-server"),
    ("mush-game-server", "game-server"),
    ("mush-operator", "mush-operator"),
];

fn workspace_version() -> String {
    let cargo = read("Cargo.toml");
    let section = &cargo[cargo
        .find("[workspace.package]")
        .expect("[workspace.package] in Cargo.toml")..];
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .expect("a workspace version");
    line.split('"').nth(1).expect("a quoted version").to_owned()
}

/// The lines of the stage `FROM … AS {name}`, up to the next `FROM`.
fn dockerfile_stage<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = text
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.trim_end().ends_with(&format!(" AS {name}"))));
    let from = lines
        .next()
        .unwrap_or_else(|| panic!("{DOCKERFILE} has no stage `FROM … AS {name}`"));
    std::iter::once(from)
        .chain(lines.take_while(|l| !l.starts_with("FROM ")))
        .collect()
}

/// The image built with `--build-arg BINARY={binary}` (its `# Image: <name>:<tag> BINARY={binary}`
/// line), after checking how the Dockerfile builds it.
fn dockerfile_image(package: &str, binary: &str) -> String {
    let file = DOCKERFILE;
    let text = read(file);
    let image = text
        .lines()
        .filter_map(|l| l.strip_prefix("# Image: "))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let image = words.next()?;
            (words.next() == Some(&format!("BINARY={binary}"))).then(|| image.to_owned())
        })
        .unwrap_or_else(|| panic!("{file} has no `# Image: <name>:<tag> BINARY={binary}` line"));

    // The build stage: one package's binary, the package found from the build argument.
    assert!(
        text.contains("FROM rust:1.95-bookworm AS build"),
        "{file}: builder should be rust:1.95-bookworm"
    );
    let build = dockerfile_stage(&text, "build").join("\n");
    assert!(
        build.contains("ARG BINARY"),
        "{file}: the build stage should declare ARG BINARY"
    );
    assert!(
        build.contains(&format!("{binary}) package={package} ;;")),
        "{file}: BINARY={binary} should build the package {package}"
    );
    assert!(
        build.contains(r#"cargo build --release --locked -p "$package" --bin "$BINARY""#),
        "{file} should build `-p \"$package\" --bin \"$BINARY\"`"
    );
    assert!(
        build.contains(r#"install -D -m 0755 "target/release/$BINARY" "/out/$BINARY""#),
        "{file} should put the binary in /out"
    );

    // The run stages: distroless nonroot, not root, the binary as the entry point.
    let runtime = dockerfile_stage(&text, "runtime");
    assert!(
        runtime[0].contains("distroless/cc-debian12:nonroot") || runtime[0].contains("-slim"),
        "{file}: the final image should be distroless cc nonroot or a slim Debian"
    );
    let run = dockerfile_stage(&text, &format!("run-{binary}"));
    assert_eq!(
        run[0].trim_end(),
        format!("FROM runtime AS run-{binary}"),
        "{file}: the stage of {binary} should start from the runtime stage"
    );
    let user = runtime
        .iter()
        .chain(&run)
        .rfind(|l| l.starts_with("USER "))
        .unwrap_or_else(|| panic!("{file} sets no USER for {binary}"));
    assert!(
        !user.contains("root") || user.contains("nonroot"),
        "{file} runs {binary} as root"
    );
    assert!(
        !user.trim_start_matches("USER ").starts_with("0"),
        "{file} runs {binary} as root"
    );
    assert!(
        run.contains(&format!("COPY --from=build /out/{binary} /usr/local/bin/{binary}").as_str()),
        "{file}: the stage of {binary} should copy the built binary"
    );
    assert!(
        run.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]").as_str()),
        "{file}: {binary} should start /usr/local/bin/{binary}"
    );
    let last_from = text
        .lines()
        .rfind(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    assert_eq!(
        last_from.trim_end(),
        "FROM run-${BINARY}",
        "{file}: the image should be the stage of the chosen binary"
    );
    image
}

/// A Rust string constant's value, e.g. `pub const NAME: &str = "value";`.
fn rust_const(text: &str, name: &str) -> String {
    let marker = format!("const {name}: &str = \"");
    let i = text.find(&marker).unwrap_or_else(|| panic!("no const {name}"));
    let rest = &text[i + marker.len()..];
    rest[..rest.find('"').expect("closing quote")].to_owned()
}

#[test]
fn image_names_agree_everywhere() {
    let version = workspace_version();
    let images: BTreeMap<&str, String> = IMAGES.iter().map(|(p, b)| (*b, dockerfile_image(p, b))).collect();
    for (binary, image) in &images {
        assert_eq!(
            image,
            &format!(
                "ghcr.io/mush-dev/mush-{}:{version}",
                binary.trim_start_matches("mush-")
            ),
            "image of {binary}: name or tag (the workspace version {version})"
        );
    }

    let chart: Value = serde_yaml::from_str(&read(&format!("{CHART}/Chart.yaml"))).expect("Chart.yaml");
    let values: Value = serde_yaml::from_str(&read(&format!("{CHART}/values.yaml"))).expect("values.yaml");
    assert_eq!(
        s(&chart, &["appVersion"]),
        version,
        "the chart's appVersion should be the workspace version"
    );
    let tag = match s(&values, &["image", "tag"]) {
        "" => s(&chart, &["appVersion"]).to_owned(),
        t => t.to_owned(),
    };
    let chart_image = format!("{}:{tag}", s(&values, &["image", "repository"]));
    assert_eq!(
        chart_image, images["mush-operator"],
        "the chart's default operator image"
    );

    let install = docs(INSTALL);
    let containers = &find(&install, "Deployment", RELEASE)["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        s(&containers[0], &["image"]),
        images["mush-operator"],
        "the operator image in {INSTALL}"
    );

    let crd_rs = read("operator/src/crd.rs");
    for (constant, binary) in [
        ("DEFAULT_GATEWAY_IMAGE", "connection-server"),
        ("DEFAULT_GAME_IMAGE", "game-server"),
        ("DEFAULT_OPERATOR_IMAGE", "mush-operator"),
    ] {
        assert_eq!(
            rust_const(&crd_rs, constant),
            images[binary],
            "operator/src/crd.rs {constant}"
        );
    }
    let example = docs("manifests/mushgame.yaml");
    let game = example
        .iter()
        .find(|d| s(d, &["kind"]) == "MushGame")
        .expect("a MushGame");
    assert_eq!(
        s(game, &["spec", "connectionServer", "image"]),
        images["connection-server"]
    );
    assert_eq!(s(game, &["spec", "gameServer", "image"]), images["game-server"]);
}

// --------------------------------------------------------------------- manifest structure

const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
];

fn yaml_files() -> Vec<String> {
    let mut files = vec![CRD.to_owned(), CHART_CRD.to_owned()];
    for dir in ["manifests", "manifests/observability"] {
        let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                other => panic!("label {k:?} has a non-string value {other:?}: quote it"),
            };
            (k.as_str().expect("label key").to_owned(), value)
        })
        .collect()
}

fn selects(selector: &Value, pod_labels: &BTreeMap<String, String>) -> bool {
    let wanted = labels(selector);
    !wanted.is_empty() && wanted.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
}

#[test]
fn every_manifest_document_is_well_formed() {
    for file in yaml_files() {
        let documents = docs(&file);
        assert!(!documents.is_empty(), "{file} has no document");
        for d in &documents {
            let (kind, name) = kind_name(d);
            assert!(
                !s(d, &["apiVersion"]).is_empty() && !kind.is_empty() && !name.is_empty(),
                "{file}: a document lacks apiVersion, kind or metadata.name: {d:?}"
            );
            if let Some(l) = d["metadata"].get("labels") {
                labels(l);
            }
        }
    }
}

#[test]
fn install_yaml_objects_fit_together() {
    let install = docs(INSTALL);
    let kinds: Vec<(String, String)> = install.iter().map(kind_name).collect();
    let unique: BTreeSet<&(String, String)> = kinds.iter().collect();
    assert_eq!(unique.len(), kinds.len(), "duplicate objects in {INSTALL}");
    for d in &install {
        let (kind, name) = kind_name(d);
        let ns = s(d, &["metadata", "namespace"]);
        if CLUSTER_SCOPED.contains(&kind.as_str()) {
            assert!(
                ns.is_empty(),
                "{kind} {name} is cluster-scoped but names a namespace"
            );
        } else {
            assert_eq!(ns, NAMESPACE, "{kind} {name} should be in {NAMESPACE}");
        }
    }
    assert_eq!(
        s(&install[0], &["kind"]),
        "Namespace",
        "the Namespace comes first"
    );
    assert_eq!(
        s(&install[1], &["kind"]),
        "CustomResourceDefinition",
        "then the CRD"
    );

    let deployment = find(&install, "Deployment", RELEASE);
    let template = &deployment["spec"]["template"];
    let pod_labels = labels(&template["metadata"]["labels"]);
    assert!(
        selects(&deployment["spec"]["selector"]["matchLabels"], &pod_labels),
        "the Deployment's selector does not select its own pods"
    );
    assert!(
        deployment["spec"]["replicas"].as_u64().unwrap_or(0) >= 2,
        "two replicas, for leader election"
    );
    let pod = &template["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], Value::Bool(true));
    let c = &pod["containers"][0];
    let ports: BTreeSet<&str> = c["ports"]
        .as_sequence()
        .expect("container ports")
        .iter()
        .map(|p| p["name"].as_str().expect("named ports"))
        .collect();
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = s(c, &[probe, "httpGet", "port"]);
        assert!(
            ports.contains(port),
            "{probe} uses port {port:?}, which the container does not name"
        );
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], Value::Bool(false));
    assert_eq!(sc["readOnlyRootFilesystem"], Value::Bool(true));
    assert!(
        c["resources"]["requests"].is_mapping(),
        "the operator container has resource requests"
    );
    let env: BTreeSet<&str> = c["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .map(|e| s(e, &["name"]))
        .collect();
    for needed in ["POD_NAME", "POD_NAMESPACE"] {
        assert!(
            env.contains(needed),
            "the operator needs {needed} for leader election"
        );
    }
    assert!(
        c["args"]
            .as_sequence()
            .expect("args")
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.starts_with("--health-addr="))),
        "the operator is told its health address"
    );

    let service = find(&install, "Service", RELEASE);
    assert!(
        selects(&service["spec"]["selector"], &pod_labels),
        "the Service does not select the operator's pods"
    );
    for p in service["spec"]["ports"].as_sequence().expect("service ports") {
        let target = s(p, &["targetPort"]);
        assert!(
            ports.contains(target),
            "the Service targets port {target:?}, which the container does not name"
        );
    }
    let policy = find(&install, "NetworkPolicy", RELEASE);
    assert!(
        selects(&policy["spec"]["podSelector"]["matchLabels"], &pod_labels),
        "the NetworkPolicy does not select the operator's pods"
    );
    let pdb = find(&install, "PodDisruptionBudget", RELEASE);
    assert!(
        selects(&pdb["spec"]["selector"]["matchLabels"], &pod_labels),
        "the PodDisruptionBudget does not select the operator's pods"
    );
    let namespace = find(&install, "Namespace", NAMESPACE);
    assert_eq!(s(namespace, &["metadata", "name"]), NAMESPACE);
}

/// `helm`, when installed (or named by $HELM).
fn helm() -> Option<String> {
    let bin = std::env::var("HELM").unwrap_or_else(|_| "helm".to_owned());
    Command::new(&bin)
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| bin)
}

/// Drops what differs on purpose between a Helm release and the plain install.
fn normalize(mut v: Value) -> Value {
    if let Some(l) = v
        .get_mut("metadata")
        .and_then(|m| m.get_mut("labels"))
        .and_then(|l| l.as_mapping_mut())
    {
        l.remove("helm.sh/chart");
        l.remove("app.kubernetes.io/managed-by");
    }
    v
}

/// `helm template` of the chart as release mush-operator in mush-system, with more arguments.
fn helm_template(helm: &str, extra: &[&str]) -> std::process::Output {
    Command::new(helm)
        .args(["template", RELEASE])
        .arg(root().join(CHART))
        .args(["--namespace", NAMESPACE, "--include-crds"])
        .args(extra)
        .output()
        .expect("running helm template")
}

/// The documents of the chart rendered with `extra`, which must succeed.
fn render(helm: &str, extra: &[&str]) -> Vec<Value> {
    let out = helm_template(helm, extra);
    assert!(
        out.status.success(),
        "helm template {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    docs_of(&String::from_utf8(out.stdout).expect("UTF-8"), "helm template")
}

fn kinds_of(docs: &[Value]) -> BTreeSet<(String, String)> {
    docs.iter().map(kind_name).collect()
}

fn has(kinds: &BTreeSet<(String, String)>, kind: &str, name: &str) -> bool {
    kinds.contains(&(kind.to_owned(), name.to_owned()))
}

#[test]
fn install_yaml_is_the_chart_rendered_with_its_defaults_when_helm_is_available() {
    let Some(helm) = helm() else {
        eprintln!("helm is not installed: skipped comparing the rendered chart with {INSTALL}");
        return;
    };
    let rendered: BTreeMap<(String, String), Value> = render(&helm, &[])
        .into_iter()
        .map(|d| (kind_name(&d), normalize(d)))
        .collect();
    let install: BTreeMap<(String, String), Value> = docs(INSTALL)
        .into_iter()
        .filter(|d| s(d, &["kind"]) != "Namespace")
        .map(|d| (kind_name(&d), normalize(d)))
        .collect();
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        install.keys().collect::<Vec<_>>(),
        "{INSTALL} and the rendered chart hold different objects: regenerate {INSTALL} (see its header)"
    );
    for (key, doc) in &rendered {
        assert!(
            &install[key] == doc,
            "{key:?} differs between {INSTALL} and the rendered chart: regenerate {INSTALL}"
        );
    }

    // The optional parts render too.
    let all = render(
        &helm,
        &[
            "--set",
            "operator.watchNamespace=games,mushGame.create=true,serviceMonitor.enabled=true,operator.otlpEndpoint=http://otel:4318/v1/traces",
        ],
    );
    let kinds = kinds_of(&all);
    for (kind, name) in [
        ("MushGame", "tavern"),
        ("ServiceMonitor", RELEASE),
        ("RoleBinding", RELEASE),
        ("ClusterRole", "mush-operator-startup"),
        ("ClusterRoleBinding", "mush-operator-startup"),
    ] {
        assert!(
            has(&kinds, kind, name),
            "with the optional values set, the chart renders no {kind} {name}"
        );
    }
    assert!(
        !has(&kinds, "ClusterRoleBinding", RELEASE),
        "one watched namespace: no cluster-wide binding"
    );
    let startup = all
        .iter()
        .find(|d| kind_name(d) == ("ClusterRole".to_owned(), "mush-operator-startup".to_owned()))
        .expect("startup role");
    assert_eq!(rules_of(&startup["rules"]), rule_file("startup.yaml"));
}

// ------------------------------------------------------------------------- permissions

/// The rule files whose rules the operator itself is granted (not the aggregated ones for people).
const OPERATOR_RULE_FILES: &[&str] = &[
    "operator.yaml",
    "pod-metrics.yaml",
    "servicemonitors.yaml",
    "leader-election.yaml",
    "startup.yaml",
];

/// What the operator's ServiceAccount is granted by a set of manifests: the rules bound
/// cluster-wide, and those bound in each namespace.
#[derive(Debug, Default)]
struct Grants {
    cluster: BTreeSet<Rule>,
    namespaces: BTreeMap<String, BTreeSet<Rule>>,
}

fn operator_grants(docs: &[Value]) -> Grants {
    let mut grants = Grants::default();
    for b in docs
        .iter()
        .filter(|d| matches!(s(d, &["kind"]), "ClusterRoleBinding" | "RoleBinding"))
    {
        let ours = b["subjects"].as_sequence().into_iter().flatten().any(|x| {
            s(x, &["kind"]) == "ServiceAccount"
                && s(x, &["name"]) == RELEASE
                && s(x, &["namespace"]) == NAMESPACE
        });
        if !ours {
            continue;
        }
        let (role_kind, role_name) = (s(b, &["roleRef", "kind"]), s(b, &["roleRef", "name"]));
        let binding_ns = s(b, &["metadata", "namespace"]);
        let role = docs
            .iter()
            .find(|d| {
                s(d, &["kind"]) == role_kind
                    && s(d, &["metadata", "name"]) == role_name
                    && (role_kind == "ClusterRole" || s(d, &["metadata", "namespace"]) == binding_ns)
            })
            .unwrap_or_else(|| {
                panic!(
                    "{} {} binds the missing {role_kind} {role_name}",
                    s(b, &["kind"]),
                    s(b, &["metadata", "name"])
                )
            });
        let rules = rules_of(&role["rules"]);
        if s(b, &["kind"]) == "ClusterRoleBinding" {
            grants.cluster.extend(rules);
        } else {
            grants
                .namespaces
                .entry(binding_ns.to_owned())
                .or_default()
                .extend(rules);
        }
    }
    grants
}

fn rule_files(files: &[&str]) -> BTreeSet<Rule> {
    files.iter().flat_map(|f| rule_file(f)).collect()
}

/// Verbs that change or find existing objects. The operator may `create` a Secret (the ones it
/// generates, when missing) but never change, delete or list one.
const CHANGE_VERBS: &[&str] = &[
    "update",
    "patch",
    "delete",
    "deletecollection",
    "list",
    "watch",
    "*",
];

#[test]
fn secrets_are_only_read_by_name_or_created_and_pod_proxy_comes_only_from_pod_metrics() {
    for file in OPERATOR_RULE_FILES {
        let rules = rule_file(file);
        for verb in CHANGE_VERBS {
            assert!(
                !grants(&rules, "", "secrets", verb),
                "files/rbac/{file} grants {verb} on Secrets: the operator only checks they exist (get) and \
                 creates the ones it generates (create)"
            );
        }
        assert!(
            *file == "pod-metrics.yaml" || !grants(&rules, "", "pods/proxy", "get"),
            "files/rbac/{file} grants pods/proxy, which only pod-metrics.yaml (operator.scrapePodMetrics) may"
        );
        assert!(
            !rules
                .iter()
                .any(|(g, r, v, _)| [g, r, v].iter().any(|l| l.iter().any(|x| x == "*"))),
            "files/rbac/{file} has a wildcard"
        );
    }
    assert!(grants(&rule_file("pod-metrics.yaml"), "", "pods/proxy", "get"));
}

#[test]
fn with_one_watched_namespace_the_operators_rules_are_a_role_there_when_helm_is_available() {
    let Some(helm) = helm() else {
        eprintln!("helm is not installed: skipped rendering the chart's RBAC for one watched namespace");
        return;
    };
    let main = rule_files(&["operator.yaml", "pod-metrics.yaml", "servicemonitors.yaml"]);
    let lease = rule_file("leader-election.yaml");

    // All namespaces (the default): one ClusterRole bound cluster-wide.
    let all = operator_grants(&render(&helm, &[]));
    assert_eq!(
        all.cluster, main,
        "all namespaces: the operator's rules, cluster-wide"
    );
    assert_eq!(
        all.namespaces,
        BTreeMap::from([(NAMESPACE.to_owned(), lease.clone())]),
        "all namespaces: only the Lease's Role is namespaced"
    );

    // One namespace: a Role and a RoleBinding there, and cluster-wide only the startup check.
    let docs = render(&helm, &["--set", "operator.watchNamespace=games"]);
    let one = operator_grants(&docs);
    assert_eq!(
        one.cluster,
        rule_file("startup.yaml"),
        "one watched namespace: nothing but the startup check may be bound cluster-wide"
    );
    assert_eq!(
        one.namespaces,
        BTreeMap::from([
            ("games".to_owned(), main.clone()),
            (NAMESPACE.to_owned(), lease.clone()),
        ]),
        "one watched namespace: the operator's rules in games, the Lease's in {NAMESPACE}"
    );
    let named = |kind: &str| {
        docs.iter()
            .find(|d| kind_name(d) == (kind.to_owned(), RELEASE.to_owned()))
            .unwrap_or_else(|| panic!("one watched namespace: the chart renders no {kind} {RELEASE}"))
    };
    assert_eq!(s(named("Role"), &["metadata", "namespace"]), "games");
    let binding = named("RoleBinding");
    assert_eq!(s(binding, &["metadata", "namespace"]), "games");
    assert_eq!(
        s(binding, &["roleRef", "kind"]),
        "Role",
        "a Role, not a ClusterRole bound in the namespace"
    );
    let kinds = kinds_of(&docs);
    assert!(
        !has(&kinds, "ClusterRole", RELEASE) && !has(&kinds, "ClusterRoleBinding", RELEASE),
        "one watched namespace: no ClusterRole or ClusterRoleBinding with the operator's rules"
    );
    for (group, resource, verb) in [
        ("", "secrets", "get"),
        ("", "pods/proxy", "get"),
        ("", "pods", "list"),
        ("apps", "deployments", "patch"),
    ] {
        assert!(
            !grants(&one.cluster, group, resource, verb),
            "one watched namespace: {verb} {resource} is granted cluster-wide"
        );
    }

    // pods/proxy only with scrapePodMetrics, in either mode; ServiceMonitors only when asked.
    for watch in ["", "games"] {
        let off = operator_grants(&render(
            &helm,
            &[
                "--set",
                &format!(
                    "operator.watchNamespace={watch},operator.scrapePodMetrics=false,rbac.serviceMonitors=false"
                ),
            ],
        ));
        let everything: BTreeSet<Rule> = off
            .cluster
            .iter()
            .chain(off.namespaces.values().flatten())
            .cloned()
            .collect();
        assert!(
            !grants(&everything, "", "pods/proxy", "get"),
            "watchNamespace={watch:?}, scrapePodMetrics=false: pods/proxy is still granted"
        );
        assert!(
            !grants(&everything, "monitoring.coreos.com", "servicemonitors", "create"),
            "watchNamespace={watch:?}, rbac.serviceMonitors=false: ServiceMonitors are still granted"
        );
        assert!(grants(&everything, "", "secrets", "get"), "the rest stays");
    }
    let on = operator_grants(&render(&helm, &["--set", "operator.watchNamespace=games"]));
    assert!(grants(&on.namespaces["games"], "", "pods/proxy", "get"));

    // rbac.create=false: no role at all.
    let none = render(&helm, &["--set", "rbac.create=false"]);
    assert!(
        !none
            .iter()
            .any(|d| s(d, &["kind"]).ends_with("Role") || s(d, &["kind"]).ends_with("RoleBinding")),
        "rbac.create=false renders roles"
    );
}

/// The Permissions table of docs/install.md: each resource (without its API group) and its verbs.
fn documented_permissions() -> BTreeMap<String, BTreeSet<String>> {
    let text = read("docs/install.md");
    let start = text
        .find("\n### Permissions\n")
        .expect("docs/install.md has a `### Permissions` section");
    let section = &text[start + 1..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |i| i + 4)];
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let verbs: BTreeSet<String> = cells[2].split(',').map(|v| v.trim().to_owned()).collect();
        for resource in cells[1].split('`').skip(1).step_by(2) {
            // `events.k8s.io/events` names its group; `mushgames/status` is a subresource.
            let resource = match resource.split_once('/') {
                Some((group, rest)) if group.contains('.') => rest,
                _ => resource,
            };
            documented
                .entry(resource.to_owned())
                .or_default()
                .extend(verbs.iter().cloned());
        }
    }
    documented
}

#[test]
fn the_permissions_in_docs_are_the_rules_the_operator_is_granted() {
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, resources, verbs, _) in rule_files(OPERATOR_RULE_FILES) {
        for r in resources {
            granted.entry(r).or_default().extend(verbs.iter().cloned());
        }
    }
    let documented = documented_permissions();
    let differences: Vec<String> = granted
        .keys()
        .chain(documented.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|r| granted.get(*r) != documented.get(*r))
        .map(|r| {
            format!(
                "{r}: the rules grant {:?}, docs/install.md lists {:?}",
                granted.get(r),
                documented.get(r)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "docs/install.md (Permissions) and {CHART}/files/rbac/ disagree:\n  {}",
        differences.join("\n  ")
    );
}

// ------------------------------------------------------------------------ chart values

const SCHEMA: &str = "charts/mush-operator/values.schema.json";

/// Follows a local `$ref` (`#/definitions/name`).
fn deref<'a>(schema: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("{SCHEMA}: only #/definitions/ references are followed, not {r}"));
            let target = &schema["definitions"][name];
            assert!(!target.is_null(), "{SCHEMA}: {r} is not defined");
            deref(schema, target)
        }
        None => node,
    }
}

/// Whether a YAML value has a JSON Schema type.
fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "boolean" => v.is_bool(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        "number" => v.is_number(),
        "object" => v.is_mapping(),
        "array" => v.is_sequence(),
        "null" => v.is_null(),
        other => panic!("{SCHEMA}: unknown type {other}"),
    }
}

/// Walks values.yaml and the schema together: every key of values.yaml is described (where the
/// schema lists properties), every described key is in values.yaml, each default has its type.
fn check_schema(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    let node = deref(schema, node);
    let types: Vec<&str> = match &node["type"] {
        serde_json::Value::String(t) => vec![t.as_str()],
        serde_json::Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => match node["oneOf"].as_array() {
            Some(alternatives) => alternatives
                .iter()
                .filter_map(|a| deref(schema, a)["type"].as_str())
                .collect(),
            None => {
                errors.push(format!("{path}: the schema gives no type"));
                return;
            }
        },
    };
    if !types.iter().any(|t| has_type(value, t)) {
        errors.push(format!(
            "{path}: values.yaml's default {value:?} is not of the schema's type {types:?}"
        ));
    }
    if let Some(allowed) = node["enum"].as_array() {
        let v = serde_json::to_value(value).expect("YAML as JSON");
        if !allowed.contains(&v) {
            errors.push(format!("{path}: the default {v} is not one of {allowed:?}"));
        }
    }
    let Some(properties) = node["properties"].as_object() else {
        return;
    };
    if node["additionalProperties"] != serde_json::Value::Bool(false) {
        errors.push(format!(
            "{path}: lists properties but allows others: add additionalProperties: false"
        ));
    }
    let Some(map) = value.as_mapping() else {
        return;
    };
    for (key, v) in map {
        let key = key.as_str().expect("string keys");
        match properties.get(key) {
            Some(p) => check_schema(schema, p, v, &format!("{path}.{key}"), errors),
            None => errors.push(format!("{path}.{key}: in values.yaml but not in the schema")),
        }
    }
    for key in properties.keys() {
        if key != "global" && !map.contains_key(key.as_str()) {
            errors.push(format!(
                "{path}.{key}: in the schema but not in values.yaml (document it there)"
            ));
        }
    }
}

#[test]
fn the_values_schema_describes_every_key_of_values_yaml() {
    let schema: serde_json::Value = serde_json::from_str(&read(SCHEMA)).expect("values.schema.json is JSON");
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema#",
        "{SCHEMA}: draft-07"
    );
    let values: Value = serde_yaml::from_str(&read(&format!("{CHART}/values.yaml"))).expect("values.yaml");
    let mut errors = Vec::new();
    check_schema(&schema, &schema, &values, "", &mut errors);
    assert!(
        errors.is_empty(),
        "{SCHEMA} and values.yaml disagree:\n  {}",
        errors.join("\n  ")
    );
    // Values whose choices are fixed are enumerated.
    for path in [
        &["image", "pullPolicy"][..],
        &["operator", "logFormat"],
        &["service", "type"],
    ] {
        let mut node = &schema;
        for p in path {
            node = deref(&schema, &node["properties"][*p]);
        }
        assert!(node["enum"].is_array(), "{SCHEMA}: {path:?} should have an enum");
    }
}

#[test]
fn the_chart_refuses_bad_values_misspelt_keys_and_old_clusters_when_helm_is_available() {
    let Some(helm) = helm() else {
        eprintln!("helm is not installed: skipped checking that the chart refuses bad values");
        return;
    };
    // (--set, what the error must name)
    for (set, named) in [
        ("replicaCount=abc", "/replicaCount"),
        ("replicaCont=3", "replicaCont"),
        ("operator.watchNamespac=games", "watchNamespac"),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("operator.logFormat=xml", "/operator/logFormat"),
        ("service.type=ExternalName", "/service/type"),
        ("operator.watchNamespace=Games_1", "/operator/watchNamespace"),
        ("operator.healthPort=70000", "/operator/healthPort"),
        ("serviceMonitor.interval=30 seconds", "/serviceMonitor/interval"),
        ("podLabels.tier=1", "/podLabels/tier"),
        ("dashboards.labelValue=1", "/dashboards/labelValue"),
    ] {
        let out = helm_template(&helm, &["--set", set]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "helm template --set {set} should fail the schema, but rendered"
        );
        assert!(
            err.contains("schema") && err.contains(named),
            "helm template --set {set}: the error should name {named}:\n{err}"
        );
    }
    // Chart.yaml's kubeVersion.
    let old = helm_template(&helm, &["--kube-version", "1.29.9"]);
    assert!(
        !old.status.success() && String::from_utf8_lossy(&old.stderr).contains("kubeVersion"),
        "the chart should refuse Kubernetes 1.29"
    );
    for version in ["1.30.0", "v1.30.4-eks-1234567", "1.36.2"] {
        let out = helm_template(&helm, &["--kube-version", version]);
        assert!(
            out.status.success(),
            "the chart should accept Kubernetes {version}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // helm lint --strict, with the defaults and with every option on.
    for set in [
        None,
        Some(
            "operator.watchNamespace=games,mushGame.create=true,serviceMonitor.enabled=true,\
             prometheusRule.enabled=true,dashboards.enabled=true,operator.scrapePodMetrics=false",
        ),
    ] {
        let mut lint = Command::new(&helm);
        lint.args(["lint", "--strict"]).arg(root().join(CHART));
        if let Some(set) = set {
            lint.args(["--set", set]);
        }
        let out = lint.output().expect("running helm lint");
        assert!(
            out.status.success(),
            "helm lint --strict (--set {set:?}) failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_charts_mushgame_survives_helm_uninstall() {
    let template = read(&format!("{CHART}/templates/mushgame.yaml"));
    assert!(
        template.contains("helm.sh/resource-policy: keep"),
        "{CHART}/templates/mushgame.yaml: the MushGame needs helm.sh/resource-policy: keep"
    );
    let Some(helm) = helm() else {
        eprintln!("helm is not installed: skipped rendering the chart's MushGame");
        return;
    };
    let all = render(&helm, &["--set", "mushGame.create=true"]);
    let game = all
        .iter()
        .find(|d| s(d, &["kind"]) == "MushGame")
        .expect("mushGame.create=true renders a MushGame");
    assert_eq!(
        s(game, &["metadata", "annotations", "helm.sh/resource-policy"]),
        "keep"
    );
    assert!(
        !kinds_of(&render(&helm, &[])).iter().any(|(k, _)| k == "MushGame"),
        "no MushGame by default"
    );
}

// ---------------------------------------------------------------------------- observability

#[test]
fn promql_reading_skips_functions_labels_and_keywords() {
    let e = r#"histogram_quantile(0.99, sum by (namespace, le) (rate(a_bucket{x="y", z=~"$game-.*"}[$__rate_interval]))) > 0.25
        and on (namespace) sum without (pod) (b) > bool 1 or label_replace(c, "kind", "w", "", "") unless d offset 5m"#;
    let names: Vec<String> = observability::promql_metric_names(e).into_iter().collect();
    assert_eq!(names, ["a_bucket", "b", "c", "d"]);
    assert_eq!(
        observability::label_values_metric(r#"label_values(m{namespace="$namespace"}, pod)"#).as_deref(),
        Some("m")
    );
}

#[test]
fn dashboards_and_rules_use_only_metrics_the_binaries_define() {
    let known = observability::known_metrics();
    for expected in [
        "mush_game_input_lag",
        "mush_gateway_connections",
        "mush_game_leader",
        "mush_gateway_state_writes_total",
    ] {
        assert!(
            known.contains_key(expected),
            "reading the metric definitions lost {expected}: {known:?}"
        );
    }
    let mut used = observability::referenced_metrics();
    let tests: Value = serde_yaml::from_str(&read(observability::RULE_TESTS)).expect("rule tests YAML");
    for name in observability::rule_test_series(&tests) {
        used.entry(name)
            .or_default()
            .insert(observability::RULE_TESTS.to_owned());
    }
    let unknown: Vec<String> = used
        .iter()
        .filter(|(name, _)| !known.contains_key(*name) && !observability::is_external(name))
        .map(|(name, places)| {
            format!(
                "{name} (in {})",
                places.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "metric names the binaries do not define (see connection-server/src/metrics.rs, \
         game-server/src/metrics.rs, platform/src/store.rs, platform/src/bus.rs):\n  {}",
        unknown.join("\n  ")
    );
    // And the headline figures are all there.
    for needed in [
        "mush_game_input_lag",
        "mush_game_leader",
        "mush_gateway_draining",
        "mush_game_command_duration_seconds_bucket",
        "mush_gateway_end_to_end_seconds_bucket",
        "mush_gateway_output_queue_depth",
        "mush_game_reconciliation_seconds",
        "mush_gateway_limit_hits_total",
    ] {
        assert!(used.contains_key(needed), "no dashboard or rule uses {needed}");
    }
}

#[test]
fn dashboard_configmaps_and_prometheusrule_are_copies_of_their_sources() {
    let cms = docs("manifests/observability/dashboards-configmaps.yaml");
    let mut seen = BTreeSet::new();
    for cm in &cms {
        assert_eq!(s(cm, &["kind"]), "ConfigMap");
        assert_eq!(
            s(cm, &["metadata", "labels", "grafana_dashboard"]),
            "1",
            "the Grafana sidecar label"
        );
        for (key, json) in cm["data"].as_mapping().expect("data") {
            let key = key.as_str().expect("key");
            let file = format!("manifests/observability/dashboards/{key}");
            let in_cm: serde_json::Value =
                serde_json::from_str(json.as_str().expect("text")).expect("JSON in the ConfigMap");
            let source: serde_json::Value = serde_json::from_str(&read(&file)).expect("dashboard JSON");
            assert!(
                in_cm == source,
                "the ConfigMap copy of {file} differs: regenerate dashboards-configmaps.yaml"
            );
            seen.insert(file);
        }
    }
    let expected: BTreeSet<String> = observability::DASHBOARDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, expected, "every dashboard has a ConfigMap");
    for file in observability::DASHBOARDS {
        let d: serde_json::Value = serde_json::from_str(&read(file)).expect("JSON");
        assert!(
            d["uid"].is_string() && d["title"].is_string(),
            "{file} needs a uid and a title"
        );
    }

    let pr = docs("manifests/observability/prometheusrule.yaml");
    assert_eq!(pr.len(), 1);
    assert_eq!(s(&pr[0], &["kind"]), "PrometheusRule");
    assert_eq!(s(&pr[0], &["apiVersion"]), "monitoring.coreos.com/v1");
    let plain: Value = serde_yaml::from_str(&read(observability::RULES)).expect("rules YAML");
    assert!(
        pr[0]["spec"]["groups"] == plain["groups"],
        "prometheusrule.yaml's spec.groups differs from {}: copy the groups over",
        observability::RULES
    );
}

const CHART_OBSERVABILITY: &str = "charts/mush-operator/files/observability";

/// The files of a folder, relative to it, in order.
fn files_under(dir: &str) -> BTreeSet<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.expect("directory entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under the base");
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    let base = root().join(dir);
    walk(&base, &base, &mut out);
    out
}

#[test]
fn the_charts_dashboards_and_rules_are_copies_of_manifests_observability() {
    let expected: BTreeSet<String> = observability::DASHBOARDS
        .iter()
        .chain([&observability::RULES])
        .map(|f| {
            f.strip_prefix("manifests/observability/")
                .expect("in manifests/observability")
                .to_owned()
        })
        .collect();
    assert_eq!(
        files_under(CHART_OBSERVABILITY),
        expected,
        "{CHART_OBSERVABILITY} should hold the dashboards and the rules of manifests/observability"
    );
    for rel in &expected {
        let (source, copy) = (
            format!("manifests/observability/{rel}"),
            format!("{CHART_OBSERVABILITY}/{rel}"),
        );
        assert!(
            read(&source) == read(&copy),
            "{copy} differs from {source}; copy it: cp {source} {copy}"
        );
    }
}

#[test]
fn the_charts_prometheusrule_and_dashboards_render_when_enabled_when_helm_is_available() {
    let Some(helm) = helm() else {
        eprintln!("helm is not installed: skipped rendering the chart's PrometheusRule and dashboards");
        return;
    };
    let defaults = kinds_of(&render(&helm, &[]));
    assert!(
        !defaults
            .iter()
            .any(|(k, _)| k == "PrometheusRule" || k == "ConfigMap"),
        "the PrometheusRule and the dashboards are off by default"
    );

    let all = render(
        &helm,
        &["--set", "prometheusRule.enabled=true,dashboards.enabled=true"],
    );
    let rule = find(&all, "PrometheusRule", "mush-operator-alerts");
    assert_eq!(s(rule, &["apiVersion"]), "monitoring.coreos.com/v1");
    assert_eq!(s(rule, &["metadata", "namespace"]), NAMESPACE);
    let plain: Value = serde_yaml::from_str(&read(observability::RULES)).expect("rules YAML");
    assert!(
        rule["spec"]["groups"] == plain["groups"],
        "the chart's PrometheusRule holds other rules than {}",
        observability::RULES
    );
    let shipped = docs("manifests/observability/prometheusrule.yaml");
    assert!(rule["spec"] == shipped[0]["spec"]);

    let shipped_cms = docs("manifests/observability/dashboards-configmaps.yaml");
    let cms: Vec<&Value> = all.iter().filter(|d| s(d, &["kind"]) == "ConfigMap").collect();
    assert_eq!(
        cms.len(),
        observability::DASHBOARDS.len(),
        "one ConfigMap per dashboard"
    );
    for file in observability::DASHBOARDS {
        let key = file.rsplit('/').next().expect("a file name");
        let cm = cms
            .iter()
            .find(|cm| cm["data"].get(key).is_some())
            .unwrap_or_else(|| panic!("no ConfigMap of the chart holds {key}"));
        assert_eq!(
            s(cm, &["data", key]),
            read(file),
            "the chart's copy of {file}, byte for byte"
        );
        assert_eq!(s(cm, &["metadata", "namespace"]), NAMESPACE);
        assert_eq!(s(cm, &["metadata", "labels", "grafana_dashboard"]), "1");
        let twin = shipped_cms
            .iter()
            .find(|d| d["data"].get(key).is_some())
            .expect("the shipped ConfigMap");
        assert_eq!(
            cm["metadata"]["annotations"], twin["metadata"]["annotations"],
            "{key}: the same annotations (Grafana folder) as dashboards-configmaps.yaml"
        );
    }

    // The sidecar's label and the namespaces can be chosen.
    let moved = render(
        &helm,
        &[
            "--set",
            "prometheusRule.enabled=true,prometheusRule.namespace=monitoring,prometheusRule.labels.release=kps,\
             dashboards.enabled=true,dashboards.namespace=monitoring,dashboards.label=my_dashboards,dashboards.labelValue=yes",
        ],
    );
    let rule = find(&moved, "PrometheusRule", "mush-operator-alerts");
    assert_eq!(s(rule, &["metadata", "namespace"]), "monitoring");
    assert_eq!(s(rule, &["metadata", "labels", "release"]), "kps");
    for cm in moved.iter().filter(|d| s(d, &["kind"]) == "ConfigMap") {
        assert_eq!(s(cm, &["metadata", "namespace"]), "monitoring");
        assert_eq!(s(cm, &["metadata", "labels", "my_dashboards"]), "yes");
        assert!(cm["metadata"]["labels"].get("grafana_dashboard").is_none());
    }
}

#[test]
fn every_alert_has_a_summary_and_a_runbook_section() {
    let rules: Value = serde_yaml::from_str(&read(observability::RULES)).expect("rules YAML");
    let runbook = read("docs/runbook.md");
    let headings: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_owned())
        .collect();
    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let Some(alert) = rule["alert"].as_str() else {
                continue;
            };
            alerts.insert(alert.to_owned());
            assert!(
                !s(rule, &["annotations", "summary"]).is_empty(),
                "{alert} has no summary"
            );
            assert!(
                !s(rule, &["labels", "severity"]).is_empty(),
                "{alert} has no severity"
            );
            assert!(
                s(rule, &["annotations", "runbook_url"])
                    .ends_with(&format!("docs/runbook.md#{}", alert.to_lowercase())),
                "{alert}'s runbook_url should point at docs/runbook.md#{}",
                alert.to_lowercase()
            );
            assert!(
                headings.contains(alert),
                "docs/runbook.md has no `## {alert}` section"
            );
        }
    }
    for required in [
        "MushGameServerNotReady",
        "MushInputLagGrowing",
        "MushRedisUnreachable",
        "MushStateWriteFailures",
        "MushGatewayDrainStuck",
        "MushCommandLatencyHigh",
        "MushNoLeader",
    ] {
        assert!(alerts.contains(required), "the alert {required} is missing");
    }
}

fn promtool(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    match Command::new("promtool").args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool is not installed: `apt-get install -y prometheus` (Debian's package brings promtool)"
        ),
        Err(e) => panic!("running promtool: {e}"),
    }
}

#[test]
fn alert_rules_pass_promtool_checks_and_unit_tests() {
    let dir = root().join("manifests/observability/rules");
    let rules = std::path::Path::new(observability::RULES)
        .file_name()
        .expect("file name")
        .to_str()
        .expect("UTF-8");
    let tests = std::path::Path::new(observability::RULE_TESTS)
        .file_name()
        .expect("file name")
        .to_str()
        .expect("UTF-8");
    for args in [vec!["check", "rules", rules], vec!["test", "rules", tests]] {
        let out = promtool(&args, &dir);
        assert!(
            out.status.success(),
            "promtool {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dashboard_queries_are_valid_promql() {
    // promtool has no "check this expression"; checking a rules file of recording rules made from
    // the dashboards' queries (Grafana variables replaced by values) does the same.
    let mut rules = Vec::new();
    for file in observability::DASHBOARDS {
        let d: serde_json::Value = serde_json::from_str(&read(file)).expect("JSON");
        let (exprs, _) = observability::dashboard_queries(&d);
        for expr in exprs {
            let expr = expr
                .replace("$__rate_interval", "5m")
                .replace("$__interval", "1m")
                .replace("$namespace", "games")
                .replace("$game", "tavern");
            assert!(
                !expr.contains('$'),
                "{file}: an unknown Grafana variable in {expr}"
            );
            rules.push(
                serde_json::json!({ "record": format!("dashboard:query:{}", rules.len()), "expr": expr }),
            );
        }
    }
    let file = serde_json::json!({ "groups": [{ "name": "dashboards", "rules": rules }] });
    let dir = std::env::temp_dir().join(format!("mush-dashboard-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // JSON is YAML.
    std::fs::write(
        dir.join("dashboards.rules.yaml"),
        serde_json::to_string_pretty(&file).expect("JSON"),
    )
    .expect("write");
    let out = promtool(&["check", "rules", "dashboards.rules.yaml"], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "a dashboard query is not valid PromQL:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
