//! Shared by `install_manifests` and `e2e_observability`: which metric names the dashboards and
//! alert rules in `manifests/observability/` use, and which ones the binaries define.
//!
//! The PromQL reading is deliberately small: it removes strings, label matchers and ranges, then
//! takes every identifier that is not a function, an aggregation, a keyword or a label list as a
//! metric name. That is enough for the expressions we ship, and fails loudly (an unknown name)
//! rather than silently when it is not.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root (the tests are targets of `cli/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub const DASHBOARDS: &[&str] = &[
    "manifests/observability/dashboards/mush-health.json",
    "manifests/observability/dashboards/mush-lag.json",
];
pub const RULES: &str = "manifests/observability/rules/mush-alerts.rules.yaml";
pub const RULE_TESTS: &str = "manifests/observability/rules/mush-alerts.test.yaml";

/// Metrics from outside the project that rules and dashboards may use: Prometheus' own `up` and
/// kube-state-metrics.
pub fn is_external(name: &str) -> bool {
    name == "up" || name.starts_with("kube_")
}

/// What the process that defines a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Process {
    Gateway,
    Game,
    Operator,
}

/// Every metric name the binaries export, with the process exporting it. Histograms count as
/// their `_bucket`, `_sum` and `_count` series.
pub fn known_metrics() -> BTreeMap<String, Process> {
    let store = defined_names(&read("platform/src/store.rs"));
    let bus = defined_names(&read("platform/src/bus.rs"));
    assert!(
        !store.is_empty() && !bus.is_empty(),
        "no metric definitions found in platform/src/store.rs or bus.rs: has the way metrics are \
         registered changed? Update tests/observability/mod.rs"
    );
    let mut known = BTreeMap::new();
    for (file, process) in [
        ("connection-server/src/metrics.rs", Process::Gateway),
        ("game-server/src/metrics.rs", Process::Game),
        ("operator/src/metrics.rs", Process::Operator),
    ] {
        let text = read(file);
        let prefix = prefix_of(&text).unwrap_or_else(|| panic!("no metric prefix found in {file}"));
        let mut names = defined_names(&text);
        assert!(!names.is_empty(), "no metric definitions found in {file}");
        if text.contains("StoreMetrics::new(") {
            names.extend(store.iter().cloned());
        }
        if text.contains("BusMetrics::new(") {
            names.extend(bus.iter().cloned());
        }
        for (name, histogram) in names {
            let full = if name.starts_with(&format!("{prefix}_")) {
                name
            } else {
                format!("{prefix}_{name}")
            };
            if histogram {
                for suffix in ["_bucket", "_sum", "_count"] {
                    known.insert(format!("{full}{suffix}"), process);
                }
            } else {
                known.insert(full, process);
            }
        }
    }
    known
}

/// The process prefix: `const PREFIX: &str = "…"`, `Metrics::new("…", …)`, or a prefix of
/// `protocol/src/figures.rs` (`PREFIX: &str = mush_protocol::figures::GAME_PREFIX`).
fn prefix_of(text: &str) -> Option<String> {
    for marker in ["PREFIX: &str = \"", "Metrics::new(\""] {
        if let Some(i) = text.find(marker) {
            let rest = &text[i + marker.len()..];
            return rest.find('"').map(|end| rest[..end].to_owned());
        }
    }
    let marker = "PREFIX: &str = mush_protocol::figures::";
    let i = text.find(marker)?;
    let rest = &text[i + marker.len()..];
    let constant = &rest[..rest.find(';')?];
    figure_strings().remove(constant)
}

/// The string constants of `protocol/src/figures.rs`: each prefix (`GAME_PREFIX` → `mush_game`)
/// and each figure's full name (`GAME_INPUT_LAG` → `mush_game_input_lag`).
fn figure_strings() -> BTreeMap<String, String> {
    let text = read("protocol/src/figures.rs");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("pub const ")
            && let Some((name, value)) = rest.split_once(": &str = \"")
        {
            out.insert(name.to_owned(), value.trim_end_matches("\";").to_owned());
        }
    }
    // `pub const NAME: Figure = Figure {` then `prefix: X_PREFIX,` and `name: "…",`.
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub const ")
            && let Some((name, _)) = rest.split_once(": Figure = Figure {")
        {
            current = Some((name.to_owned(), String::new()));
        } else if let Some(prefix) = line.strip_prefix("prefix: ").map(|p| p.trim_end_matches(','))
            && let Some((_, p)) = current.as_mut()
        {
            *p = out.get(prefix).cloned().unwrap_or_default();
        } else if let Some(name) = line.strip_prefix("name: \"").map(|n| n.trim_end_matches("\","))
            && let Some((figure, prefix)) = current.take()
        {
            out.insert(figure, format!("{prefix}_{name}"));
        }
    }
    out
}

/// Names registered in a source file: the first string argument of the `Metrics` helpers, and
/// `format!("{PREFIX}_…")` names registered directly. `true` marks a histogram.
fn defined_names(text: &str) -> Vec<(String, bool)> {
    let mut names = Vec::new();
    for method in [
        ".counter(",
        ".counter_vec(",
        ".gauge(",
        ".gauge_vec(",
        ".histogram(",
        ".histogram_vec(",
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(method) {
            let start = from + i + method.len();
            from = start;
            let rest = text[start..].trim_start();
            if let Some(lit) = rest.strip_prefix('"')
                && let Some(end) = lit.find('"')
            {
                names.push((lit[..end].to_owned(), method.starts_with(".histogram")));
            }
        }
    }
    // Names defined once in `protocol/src/figures.rs` (`figures::GAME_INPUT_LAG.name` and
    // `.full_name()`): their full names.
    let figures = figure_strings();
    let mut from = 0;
    while let Some(i) = text[from..].find("figures::") {
        let start = from + i + "figures::".len();
        from = start;
        let constant: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if !constant.ends_with("_PREFIX")
            && let Some(full) = figures.get(&constant)
        {
            let statement = &text[text[..start].rfind(';').unwrap_or(0)..start];
            names.push((full.clone(), statement.contains("Histogram")));
        }
    }
    let marker = "format!(\"{PREFIX}_";
    let mut from = 0;
    while let Some(i) = text[from..].find(marker) {
        let start = from + i + marker.len();
        from = start;
        if let Some(end) = text[start..].find('"') {
            // Only histograms need telling apart; these are registered by hand next to their type.
            let statement = &text[text[..start].rfind(';').unwrap_or(0)..start];
            names.push((
                text[start..start + end].to_owned(),
                statement.contains("Histogram"),
            ));
        }
    }
    names
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end",
];
const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// Removes `open … close` spans, and string literals when `open` is a quote.
fn strip(expr: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if depth > 0 && c == '\\' && open == close {
            chars.next();
            continue;
        }
        if depth > 0 && c == close {
            depth -= 1;
            out.push(' ');
        } else if c == open {
            depth += 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// Metric names in one PromQL expression.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let mut text = expr.to_owned();
    for q in ['"', '\'', '`'] {
        text = strip(&text, q, q);
    }
    text = strip(&text, '{', '}');
    text = strip(&text, '[', ']');

    #[derive(Debug, PartialEq)]
    enum Tok {
        Ident(String),
        Open,
        Close,
        Other,
    }
    let mut toks = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (0.99, 1e3, 5m).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            toks.push(Tok::Other);
            continue;
        }
        toks.push(match c {
            '(' => Tok::Open,
            ')' => Tok::Close,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => Tok::Other,
        });
        i += 1;
    }

    let mut names = BTreeSet::new();
    let mut k = 0;
    while k < toks.len() {
        if let Tok::Ident(id) = &toks[k] {
            let lower = id.to_ascii_lowercase();
            if LABEL_LISTS.contains(&lower.as_str()) {
                // Skip the label list that follows, if any.
                if toks.get(k + 1) == Some(&Tok::Open) {
                    let mut depth = 0;
                    k += 1;
                    while k < toks.len() {
                        match toks[k] {
                            Tok::Open => depth += 1,
                            Tok::Close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                }
            } else if toks.get(k + 1) == Some(&Tok::Open)
                || AGGREGATIONS.contains(&lower.as_str())
                || KEYWORDS.contains(&lower.as_str())
            {
                // A function call, an aggregation (its modifier may come first) or a keyword.
            } else {
                names.insert(id.clone());
            }
        }
        k += 1;
    }
    names
}

/// The metric a Grafana `label_values(metric{…}, label)` query reads, if it is one.
pub fn label_values_metric(query: &str) -> Option<String> {
    let inner = query.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let first = strip(&strip(inner, '"', '"'), '{', '}');
    let first = first.split(',').next()?.trim();
    (!first.is_empty() && inner.contains(',')).then(|| first.to_owned())
}

/// Every PromQL expression of a Grafana dashboard (panel targets, nested rows included), and the
/// metrics its template variables query.
pub fn dashboard_queries(dashboard: &serde_json::Value) -> (Vec<String>, BTreeSet<String>) {
    fn walk(v: &serde_json::Value, exprs: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == "expr"
                        && let Some(s) = v.as_str()
                    {
                        exprs.push(s.to_owned());
                    } else {
                        walk(v, exprs);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, exprs)),
            _ => {}
        }
    }
    let mut exprs = Vec::new();
    if let Some(panels) = dashboard.get("panels") {
        walk(panels, &mut exprs);
    }
    let mut variables = BTreeSet::new();
    for var in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        let query = match &var["query"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => o
                .get("query")
                .and_then(|q| q.as_str())
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        if var["type"] == "query" {
            let metric = label_values_metric(&query).unwrap_or_else(|| {
                panic!(
                    "template variable {} is not label_values(metric, label): {query}",
                    var["name"]
                )
            });
            variables.insert(metric);
        }
    }
    (exprs, variables)
}

/// Every `expr` of a Prometheus rules file, with the alert or record name.
pub fn rule_exprs(rules: &serde_yaml::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups").iter() {
        for rule in group["rules"].as_sequence().expect("rules").iter() {
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .unwrap_or("?")
                .to_owned();
            out.push((name, rule["expr"].as_str().expect("expr").to_owned()));
        }
    }
    out
}

/// Metric names of the input series of a promtool unit-test file.
pub fn rule_test_series(tests: &serde_yaml::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for test in tests["tests"].as_sequence().expect("tests").iter() {
        for series in test["input_series"].as_sequence().into_iter().flatten() {
            let s = series["series"].as_str().expect("series");
            names.insert(s.split('{').next().unwrap_or(s).trim().to_owned());
        }
    }
    names
}

/// Every metric name used by the shipped dashboards and alert rules, with where it is used.
pub fn referenced_metrics() -> BTreeMap<String, BTreeSet<String>> {
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in DASHBOARDS {
        let dashboard: serde_json::Value =
            serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let (exprs, variables) = dashboard_queries(&dashboard);
        assert!(!exprs.is_empty(), "no queries found in {file}");
        for expr in exprs {
            for name in promql_metric_names(&expr) {
                used.entry(name).or_default().insert(file.to_string());
            }
        }
        for name in variables {
            used.entry(name)
                .or_default()
                .insert(format!("{file} (variables)"));
        }
    }
    let rules: serde_yaml::Value = serde_yaml::from_str(&read(RULES)).expect("rules YAML");
    for (alert, expr) in rule_exprs(&rules) {
        for name in promql_metric_names(&expr) {
            used.entry(name).or_default().insert(format!("{RULES} ({alert})"));
        }
    }
    used
}

/// Metric names present in a Prometheus text exposition.
pub fn exposed_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}
