//! The metrics Service both servers sit behind, the optional ServiceMonitor (Prometheus
//! Operator) and the optional Grafana dashboard ConfigMap.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::{Component, Ctx, GAME_LABEL, HEALTH_PORT, METRICS_LABEL};

pub fn service_monitor_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    )
}

/// Headless Service over every pod that serves `/metrics` (gateways and game-server).
pub fn metrics_service(ctx: &Ctx) -> Service {
    Service {
        metadata: ctx.meta(ctx.names.metrics(), Component::Metrics),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(BTreeMap::from([
                (GAME_LABEL.to_owned(), ctx.names.game.clone()),
                (METRICS_LABEL.to_owned(), "true".to_owned()),
            ])),
            ports: Some(vec![ServicePort {
                name: Some("metrics".into()),
                port: HEALTH_PORT,
                target_port: Some(IntOrString::String("health".into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn service_monitor(ctx: &Ctx) -> DynamicObject {
    let mut obj = DynamicObject::new(&ctx.names.game, &service_monitor_resource());
    obj.metadata = ctx.meta(ctx.names.game.clone(), Component::Metrics);
    obj.data = json!({
        "spec": {
            "selector": { "matchLabels": ctx.selector(Component::Metrics) },
            "endpoints": [{ "port": "metrics", "path": "/metrics", "interval": "15s" }],
        }
    });
    obj
}

/// One Grafana dashboard: players, connections per gateway, restarts, reconciliation time.
pub fn dashboards(ctx: &Ctx) -> ConfigMap {
    let game = &ctx.names.game;
    let ns = &ctx.namespace;
    let sel = format!("namespace=\"{ns}\",pod=~\"{game}-.*\"");
    let panel = |id: u32, title: &str, expr: String, x: u32, y: u32| {
        json!({
            "id": id, "type": "timeseries", "title": title,
            "gridPos": { "h": 8, "w": 12, "x": x, "y": y },
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "targets": [{ "expr": expr, "refId": "A" }],
        })
    };
    let dashboard = json!({
        "title": format!("MUSH {game} ({ns})"),
        "uid": format!("mush-{ns}-{game}"),
        "schemaVersion": 39,
        "time": { "from": "now-6h", "to": "now" },
        "templating": { "list": [{ "name": "datasource", "type": "datasource", "query": "prometheus" }] },
        "panels": [
            panel(1, "Players logged in", format!("sum(mush_game_logged_in_players{{{sel}}})"), 0, 0),
            panel(2, "Connections per gateway", format!("mush_gateway_connections{{{sel}}}"), 12, 0),
            panel(3, "Connections restored at the last game-server start",
                  format!("mush_game_restored_connections{{{sel}}}"), 0, 8),
            panel(4, "Reconciliation seconds (last start)",
                  format!("mush_game_reconciliation_seconds{{{sel}}}"), 12, 8),
            panel(5, "Pods up", format!("up{{{sel}}}"), 0, 16),
        ],
    });
    let mut metadata = ctx.meta(ctx.names.dashboards(), Component::Metrics);
    metadata
        .labels
        .get_or_insert_default()
        .insert("grafana_dashboard".into(), "1".into());
    ConfigMap {
        metadata,
        data: Some(BTreeMap::from([(
            format!("mush-{game}.json"),
            serde_json::to_string_pretty(&dashboard).expect("JSON"),
        )])),
        ..Default::default()
    }
}
