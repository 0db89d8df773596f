//! The RBAC the operator needs, derived from what it does rather than from its source text.
//!
//! Every request the operator's tests make against the fake API server (`fixtures`) is recorded:
//! all the reconciler scenarios, the controller's watches (`controller::run` against a fake),
//! leader election and the start-up check. Each request maps to what the API server authorizes
//! it as, (apiGroup, resource[/subresource], verb) (see [`needed`]), and the chart's rule files
//! for the operator (`charts/mush-operator/files/rbac/`) must grant every one of them: a new kind
//! of call without a rule fails `the_charts_rules_grant_every_request_the_operator_makes_and_nothing_more`.
//!
//! The reverse holds too: every verb the rules grant is needed by some recorded request, so the
//! rules stay the least the operator needs. That check is strict: the tests exercise every kind
//! of call the operator makes, so a grant no test needs is either dead or a sign of an untested
//! call, and both deserve a look. (Were a grant ever needed only on a real cluster, it would go in
//! a list of exceptions here, each with its reason; there is none.)
//!
//! What the mapping knows of the API server's authorization:
//! * GET of one object is `get`, of a collection `list`, with `?watch=true` `watch`; a path past
//!   the object names a subresource (`pods/proxy`, `mushgames/status`).
//! * POST is `create`, PUT `update`, PATCH `patch`, DELETE `delete` (`deletecollection` without a
//!   name).
//! * A server-side apply of an object (not of a subresource) is `patch` and also `create`: the
//!   API server checks `create` when the apply creates the object, and whether it does depends on
//!   the cluster.
//! * An object written with an owner reference that blocks owner deletion needs `update` on the
//!   owner's `finalizers` (the OwnerReferencesPermissionEnforcement admission plugin).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use http::Method;
use serde_json::Value;

use crate::fixtures::Recorded;

/// One thing RBAC authorizes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    pub group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    pub verb: String,
}

impl Permission {
    fn new(group: &str, resource: &str, verb: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
            verb: verb.to_owned(),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{} {group}/{}", self.verb, self.resource)
    }
}

/// What a request's path addresses.
struct Target {
    group: String,
    /// `resource` or `resource/subresource`.
    resource: String,
    /// One object (a name in the path), not a collection.
    named: bool,
    subresource: bool,
}

/// `/api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>[/…]]]`, or the same under
/// `/apis/<group>/<version>`.
fn target(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _ns, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    let (resource, named, subresource) = match rest {
        [resource] => (resource.to_string(), false, None),
        [resource, _name] => (resource.to_string(), true, None),
        [resource, _name, sub, ..] => (resource.to_string(), true, Some(*sub)),
        [] => return None,
    };
    Some(Target {
        group: group.to_owned(),
        resource: match subresource {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource,
        },
        named,
        subresource: subresource.is_some(),
    })
}

fn is_server_side_apply(r: &Recorded) -> bool {
    r.method == Method::PATCH && r.content_type == "application/apply-patch+yaml"
}

/// The verbs the API server authorizes a request to `t` as.
fn verbs(r: &Recorded, t: &Target) -> Vec<&'static str> {
    match r.method {
        Method::GET if t.named => vec!["get"],
        Method::GET if r.is_watch() => vec!["watch"],
        Method::GET => vec!["list"],
        Method::POST => vec!["create"],
        Method::PUT => vec!["update"],
        Method::PATCH if is_server_side_apply(r) && !t.subresource => vec!["patch", "create"],
        Method::PATCH => vec!["patch"],
        Method::DELETE if t.named => vec!["delete"],
        Method::DELETE => vec!["deletecollection"],
        _ => vec!["(a method RBAC has no verb for)"],
    }
}

/// `update` on the `finalizers` of each owner the written object blocks the deletion of.
fn owner_finalizers(body: &Value) -> Vec<Permission> {
    let owners = body["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten();
    owners
        .filter(|o| o["blockOwnerDeletion"] == true)
        .map(|o| {
            let api_version = o["apiVersion"].as_str().unwrap_or_default();
            let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or_default();
            // The plural of the operator's own kinds is the kind in lower case with an `s`.
            let plural = format!("{}s", o["kind"].as_str().unwrap_or_default().to_lowercase());
            Permission::new(group, &format!("{plural}/finalizers"), "update")
        })
        .collect()
}

/// What the API server authorizes `r` as. A path that is not a resource's (e.g. `/version`) maps
/// to a permission no resource rule grants, so it shows up.
pub fn needed(r: &Recorded) -> Vec<Permission> {
    let Some(t) = target(&r.path) else {
        return vec![Permission::new(
            "",
            &format!("(non-resource URL {})", r.path),
            "get",
        )];
    };
    let mut out: Vec<Permission> = verbs(r, &t)
        .into_iter()
        .map(|v| Permission::new(&t.group, &t.resource, v))
        .collect();
    if r.method != Method::GET
        && let Some(body) = &r.body
    {
        out.extend(owner_finalizers(body));
    }
    out
}

/// One RBAC rule.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
}

impl Rule {
    /// Grants `p` for every object (a rule limited to some names is not counted: the requests
    /// are judged by kind).
    fn grants(&self, p: &Permission) -> bool {
        let any = |list: &[String], want: &str| list.iter().any(|x| x == want || x == "*");
        self.resource_names.is_empty()
            && any(&self.api_groups, &p.group)
            && any(&self.resources, &p.resource)
            && any(&self.verbs, &p.verb)
    }

    /// Every (group, resource, verb) the rule names (wildcards as written).
    fn permissions(&self) -> impl Iterator<Item = Permission> + '_ {
        self.api_groups.iter().flat_map(move |g| {
            self.resources
                .iter()
                .flat_map(move |r| self.verbs.iter().map(move |v| Permission::new(g, r, v)))
        })
    }
}

/// The rules of one of the chart's rule files (a YAML list of rules).
pub fn rules_in(yaml: &str) -> Vec<Rule> {
    serde_yaml::from_str(yaml).expect("a list of RBAC rules")
}

/// The permissions `requests` need that no rule grants, each with the first request needing it.
pub fn not_granted<'r>(requests: &'r [Recorded], rules: &[Rule]) -> BTreeMap<Permission, &'r Recorded> {
    let mut missing = BTreeMap::new();
    for r in requests {
        for p in needed(r) {
            if !rules.iter().any(|rule| rule.grants(&p)) {
                missing.entry(p).or_insert(r);
            }
        }
    }
    missing
}

/// What the rules grant that none of `requests` needs.
pub fn not_needed(requests: &[Recorded], rules: &[Rule]) -> BTreeSet<Permission> {
    let needed: BTreeSet<Permission> = requests.iter().flat_map(needed).collect();
    rules
        .iter()
        .flat_map(Rule::permissions)
        .filter(|p| !needed.contains(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::controller;
    use crate::fixtures::{FakeApi, NS, collect_requests, tavern, test_context};
    use crate::leader::LeaderElector;
    use crate::scenarios::every_scenario;

    /// The chart's rule files the operator's ServiceAccount is bound to (the others are for
    /// people: mushgame-editor.yaml, mushgame-viewer.yaml).
    const OPERATOR_RULE_FILES: [&str; 5] = [
        "operator.yaml",
        "pod-metrics.yaml",
        "servicemonitors.yaml",
        "startup.yaml",
        "leader-election.yaml",
    ];

    fn operator_rules() -> Vec<Rule> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/mush-operator/files/rbac");
        OPERATOR_RULE_FILES
            .iter()
            .flat_map(|f| {
                let path = format!("{dir}/{f}");
                rules_in(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
            })
            .collect()
    }

    fn request(method: Method, path: &str, query: &str, content_type: &str, body: Option<Value>) -> Recorded {
        Recorded {
            method,
            path: path.into(),
            query: query.into(),
            content_type: content_type.into(),
            body,
        }
    }

    fn get(path: &str, query: &str) -> Recorded {
        request(Method::GET, path, query, "", None)
    }

    fn shown(ps: Vec<Permission>) -> Vec<String> {
        ps.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn requests_map_to_the_verbs_the_api_server_authorizes() {
        let pods = "/api/v1/namespaces/games/pods";
        assert_eq!(shown(needed(&get(pods, "labelSelector=a"))), ["list core/pods"]);
        assert_eq!(
            shown(needed(&get(pods, "watch=true&resourceVersion=1"))),
            ["watch core/pods"]
        );
        assert_eq!(shown(needed(&get(&format!("{pods}/p-1"), ""))), ["get core/pods"]);
        assert_eq!(
            shown(needed(&get(&format!("{pods}/p-1:9100/proxy/status"), ""))),
            ["get core/pods/proxy"]
        );
        assert_eq!(
            shown(needed(&get("/apis/mush.dev/v1/mushgames", "limit=1"))),
            ["list mush.dev/mushgames"],
            "across namespaces"
        );
        let apply = "application/apply-patch+yaml";
        let deployment = "/apis/apps/v1/namespaces/games/deployments/tavern-game";
        assert_eq!(
            shown(needed(&request(Method::PATCH, deployment, "", apply, None))),
            ["patch apps/deployments", "create apps/deployments"],
            "an apply may create"
        );
        let status = "/apis/mush.dev/v1/namespaces/games/mushgames/tavern/status";
        assert_eq!(
            shown(needed(&request(Method::PATCH, status, "", apply, None))),
            ["patch mush.dev/mushgames/status"],
            "an apply of a subresource never creates"
        );
        let merge = "application/merge-patch+json";
        assert_eq!(
            shown(needed(&request(
                Method::PATCH,
                &format!("{pods}/p-1"),
                "",
                merge,
                None
            ))),
            ["patch core/pods"]
        );
        assert_eq!(
            shown(needed(&request(Method::DELETE, deployment, "", "", None))),
            ["delete apps/deployments"]
        );
        let lease = "/apis/coordination.k8s.io/v1/namespaces/games/leases/mush-operator";
        assert_eq!(
            shown(needed(&request(Method::PUT, lease, "", "", None))),
            ["update coordination.k8s.io/leases"]
        );
        let owned = serde_json::json!({"metadata": {"ownerReferences": [
            {"apiVersion": "mush.dev/v1", "kind": "MushGame", "blockOwnerDeletion": true}]}});
        assert_eq!(
            shown(needed(&request(
                Method::POST,
                "/api/v1/namespaces/games/secrets",
                "",
                "",
                Some(owned)
            ))),
            ["create core/secrets", "update mush.dev/mushgames/finalizers"]
        );
    }

    #[test]
    fn a_request_no_rule_allows_is_reported_with_the_request() {
        let rules = operator_rules();
        let allowed = get("/api/v1/namespaces/games/secrets/tavern-tls", "");
        let reads_values = get("/api/v1/namespaces/games/secrets", "");
        let deletes = request(
            Method::DELETE,
            "/api/v1/namespaces/games/secrets/tavern-tls",
            "",
            "",
            None,
        );
        let nodes = get("/api/v1/nodes", "");
        let requests = [allowed, reads_values, deletes, nodes];
        let missing = not_granted(&requests, &rules);
        let found: Vec<(String, String)> = missing
            .iter()
            .map(|(p, r)| (p.to_string(), format!("{} {}", r.method, r.path)))
            .collect();
        assert_eq!(
            found,
            [
                ("list core/nodes".to_owned(), "GET /api/v1/nodes".to_owned()),
                (
                    "delete core/secrets".to_owned(),
                    "DELETE /api/v1/namespaces/games/secrets/tavern-tls".to_owned()
                ),
                (
                    "list core/secrets".to_owned(),
                    "GET /api/v1/namespaces/games/secrets".to_owned()
                ),
            ]
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The controller as `main` runs it, watching one namespace with a MushGame in it, until it
    /// has written the game's status: its lists and watches, and one reconciliation.
    fn the_controller_runs_until_it_has_reconciled() {
        runtime().block_on(async {
            let (ctx, fake, _clock, _) = test_context(false);
            fake.put(&tavern());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(controller::run(ctx, Some(NS.into()), async move {
                let _ = stopped.await;
            }));
            let reconciled = || fake.log().iter().any(Recorded::writes_game_status);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !reconciled() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(reconciled(), "the controller reconciled the MushGame");
            stop.send(()).unwrap();
            running.await.unwrap();
        });
    }

    /// Two replicas: one takes the Lease, renews it, the other finds it held, the first gives it up.
    fn leader_election() {
        runtime().block_on(async {
            let (client, _fake) = FakeApi::start();
            let elector =
                |me| LeaderElector::new(client.clone(), NS, "mush-operator", me, Duration::from_secs(15));
            let (a, b) = (elector("a"), elector("b"));
            assert!(a.try_acquire_or_renew().await.unwrap());
            assert!(a.try_acquire_or_renew().await.unwrap());
            assert!(!b.try_acquire_or_renew().await.unwrap());
            a.release().await;
        });
    }

    fn start_up_check() {
        runtime().block_on(async {
            let (client, fake) = FakeApi::start();
            fake.put(&tavern());
            controller::check_crd_installed(&client).await.unwrap();
        });
    }

    /// Every request the operator's code makes in its tests.
    fn every_request() -> Vec<Recorded> {
        collect_requests(|| {
            for (_, scenario) in every_scenario() {
                scenario();
            }
            the_controller_runs_until_it_has_reconciled();
            leader_election();
            start_up_check();
        })
    }

    #[test]
    fn the_charts_rules_grant_every_request_the_operator_makes_and_nothing_more() {
        let requests = every_request();
        let rules = operator_rules();
        let kinds: BTreeSet<Permission> = requests.iter().flat_map(needed).collect();
        assert!(
            kinds.iter().any(|p| p.verb == "watch") && kinds.iter().any(|p| p.resource == "leases"),
            "the watches and the Lease are among the requests: {kinds:#?}"
        );
        println!(
            "{} requests, needing:\n{}",
            requests.len(),
            kinds
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let missing = not_granted(&requests, &rules);
        assert!(
            missing.is_empty(),
            "the operator makes requests the chart's rules (charts/mush-operator/files/rbac/{{{}}}) do not \
             allow; add the rules (and regenerate manifests/install.yaml):\n{}",
            OPERATOR_RULE_FILES.join(","),
            missing
                .iter()
                .map(|(p, r)| format!("  {p}: e.g. {} {}?{}", r.method, r.path, r.query))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let extra = not_needed(&requests, &rules);
        assert!(
            extra.is_empty(),
            "the chart's rules grant what no request of the operator's tests needs; remove the grant, \
             or test the call that needs it:\n{}",
            extra
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
