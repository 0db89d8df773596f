//! The binary's offline subcommands, as a user runs them: `crd` and `render -f`.
//!
//! `render` of the shipped example is compared with a golden file, so every change to what the
//! operator creates shows up in review. Regenerate it after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p mush-operator --test cli`.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mush-operator");

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn crd_prints_the_committed_crd() {
    let (ok, out, err) = run(&["crd"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        std::fs::read_to_string(repo("crds/mushgames.mush.dev.yaml")).unwrap()
    );
}

#[test]
fn render_prints_every_child_of_the_example_as_a_yaml_stream() {
    let (ok, out, err) = run(&["render", "-f", &repo("manifests/mushgame.yaml")]);
    assert!(ok, "{err}");
    let kinds: Vec<String> = serde_yaml::Deserializer::from_str(&out)
        .map(|d| {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(d).unwrap();
            format!(
                "{} {}",
                v["kind"].as_str().unwrap(),
                v["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "ServiceAccount tavern",
        "ConfigMap tavern-settings",
        "ConfigMap tavern-welcome",
        "Service tavern-redis",
        "StatefulSet tavern-redis",
        "Service tavern-kafka",
        "StatefulSet tavern-kafka",
        "Deployment tavern-gateway",
        "Service tavern-gateway",
        "Deployment tavern-game",
        "Service tavern-metrics",
        "PodDisruptionBudget tavern-gateway",
        "PodDisruptionBudget tavern-game",
        "PodDisruptionBudget tavern-redis",
        "PodDisruptionBudget tavern-kafka",
        "NetworkPolicy tavern-gateway",
        "NetworkPolicy tavern-game",
        "NetworkPolicy tavern-redis",
        "NetworkPolicy tavern-kafka",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} missing from {kinds:?}");
    }
    // The generated Secrets are named, never printed with a value.
    assert!(!kinds.iter().any(|k| k.starts_with("Secret ")));
    for name in ["tavern-redis-auth", "tavern-input-key"] {
        assert!(out.contains(&format!("# Secret {name} ")), "{name} named");
    }
    // The operator's namespace may read the metrics port.
    assert!(out.contains("kubernetes.io/metadata.name: mush-system"));
    assert!(kinds.iter().any(|k| k.starts_with("Job tavern-topics-")));
    assert!(
        out.contains("namespace: default"),
        "rendered into the default namespace"
    );

    let golden = repo("operator/tests/golden/mushgame.yaml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &out).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        out == want,
        "the render of manifests/mushgame.yaml changed; review and regenerate the golden file with\n  \
         UPDATE_GOLDEN=1 cargo test -p mush-operator --test cli"
    );
}

#[test]
fn render_into_a_namespace_and_from_standard_input() {
    let example = std::fs::read_to_string(repo("manifests/mushgame.yaml")).unwrap();
    let mut child = Command::new(BIN)
        .args(["render", "-f", "-", "-n", "games"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(example.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("namespace: games"));
    let (ok, out, err) = run(&[
        "render",
        "-f",
        &repo("manifests/mushgame.yaml"),
        "--operator-namespace",
        "ops",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("kubernetes.io/metadata.name: ops"));
    assert!(text.contains("tavern-kafka-0.tavern-kafka.games.svc:9092"));
}

#[test]
fn render_refuses_an_invalid_game_with_what_to_fix() {
    let dir = std::env::temp_dir().join(format!("mush-operator-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: mush.dev/v1alpha1\nkind: MushGame\nmetadata: {name: bad}\nspec:\n  redis:\n    managed: {}\n    \
         external: {urlSecret: {name: redis-url, key: url}}\n",
    )
    .unwrap();
    let (ok, out, err) = run(&["render", "-f", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(out.is_empty());
    assert!(
        err.contains("redis.managed and redis.external exclude each other"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
