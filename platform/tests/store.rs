//! The connection-state store against a real redis-server on a private loopback port.

use std::collections::HashMap;
use std::time::Duration;

use fred::prelude::*;
use mush_devstack::RedisServer;
use mush_platform::metrics::Metrics;
use mush_platform::redis::{RedisArgs, connect};
use mush_platform::store::{ConnectionStore, StoreError, StoreMetrics};
use mush_protocol::keys::{ConnectionState, field};
use mush_protocol::{ConnectionRecord, Handle, RedisKeys, Slot, Timestamp, Transport};

fn handle(slot: u16, n: u32) -> Handle {
    Handle::new(Slot::new(slot).unwrap(), 1, n).unwrap()
}

fn record(h: Handle) -> ConnectionRecord {
    ConnectionRecord::new(
        h,
        "gw-test",
        "127.0.0.1:40000",
        Transport::Telnet,
        Timestamp::now(),
    )
}

async fn store_for(redis: &RedisServer) -> (ConnectionStore, prometheus::Registry) {
    let mut args = RedisArgs::for_url(&redis.url());
    args.timeout_ms = 500;
    let client = connect(&args).await.expect("connecting to the test redis");
    let registry = prometheus::Registry::new();
    let metrics = StoreMetrics::new(&Metrics::new("mush_test", &registry));
    (
        ConnectionStore::new(client, RedisKeys::new("t"), metrics),
        registry,
    )
}

/// Counts the commands Redis has executed, from INFO commandstats.
async fn commands_run(client: &Client, command: &str) -> u64 {
    let info: String = client
        .info(Some(fred::types::InfoKind::CommandStats))
        .await
        .unwrap();
    info.lines()
        .find(|l| l.starts_with(&format!("cmdstat_{command}:")))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn register_bind_update_remove() {
    let redis = RedisServer::start();
    let (store, _) = store_for(&redis).await;
    let h = handle(2, 10);
    store.register(&record(h)).await.unwrap();

    assert_eq!(store.live_handles().await.unwrap(), vec![h]);
    assert_eq!(
        store.gateway_handles(Slot::new(2).unwrap()).await.unwrap(),
        vec![h]
    );
    let got = store.get(h).await.unwrap().unwrap();
    assert_eq!(got.state, ConnectionState::LoggedOut);
    assert_eq!(got.gateway, "gw-test");

    store.bind_player(h, "#42").await.unwrap();
    let got = store.get(h).await.unwrap().unwrap();
    assert_eq!(got.state, ConnectionState::LoggedIn);
    assert_eq!(got.player.as_deref(), Some("#42"));

    store.update(h, field::TERMINAL_TYPE, "MUDLET".into());
    store.update(h, field::WIDTH, "120".into());
    assert_eq!(store.flush().await.written, 1);
    let got = store.get(h).await.unwrap().unwrap();
    assert_eq!(got.terminal_type.as_deref(), Some("MUDLET"));
    assert_eq!(got.width, Some(120));
    assert_eq!(
        got.player.as_deref(),
        Some("#42"),
        "a field update leaves the other fields alone"
    );

    store.unbind_player(h).await.unwrap();
    assert_eq!(store.get(h).await.unwrap().unwrap().player, None);

    store.remove(h).await.unwrap();
    assert_eq!(store.get(h).await.unwrap(), None);
    assert!(store.live_handles().await.unwrap().is_empty());
    assert!(
        store
            .gateway_handles(Slot::new(2).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn binding_a_gone_connection_fails_and_updates_never_resurrect_it() {
    let redis = RedisServer::start();
    let (store, _) = store_for(&redis).await;
    let h = handle(0, 1);
    assert!(matches!(
        store.bind_player(h, "#1").await,
        Err(StoreError::NotFound(_))
    ));

    store.register(&record(h)).await.unwrap();
    store.update(h, field::LAST_INPUT_AT, "5".into());
    store.remove(h).await.unwrap();
    assert_eq!(store.pending_len(), 0, "removing drops pending updates");

    // An update racing with the removal must not re-create the hash either.
    store.update(h, field::LAST_INPUT_AT, "6".into());
    store.flush().await;
    let exists: i64 = store.client().exists(store.keys().connection(h)).await.unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn many_updates_coalesce_into_few_writes() {
    let redis = RedisServer::start();
    let (store, _) = store_for(&redis).await;
    let handles: Vec<Handle> = (1..=50).map(|n| handle(1, n)).collect();
    for h in &handles {
        store.register(&record(*h)).await.unwrap();
    }
    let evals_before = commands_run(store.client(), "eval").await;
    // 50 connections × 40 updates each (idle-time ticks, window resizes …).
    for round in 0..40 {
        for h in &handles {
            store.update(*h, field::LAST_INPUT_AT, round.to_string());
            store.update(*h, field::WIDTH, (80 + round).to_string());
        }
    }
    let outcome = store.flush().await;
    assert_eq!(outcome.written, 50);
    let evals = commands_run(store.client(), "eval").await - evals_before;
    assert_eq!(evals, 50, "4,000 updates became one write per connection");
    for h in &handles {
        let r = store.get(*h).await.unwrap().unwrap();
        assert_eq!(
            r.last_input_at,
            Some(Timestamp::from_micros(39)),
            "the last value wins"
        );
        assert_eq!(r.width, Some(119));
    }
    assert_eq!(store.metrics().writes("background"), 50);
}

#[tokio::test]
async fn failures_are_counted_while_redis_is_away_and_writes_land_when_it_returns() {
    let mut redis = RedisServer::start();
    let (store, registry) = store_for(&redis).await;
    let h = handle(3, 7);
    store.register(&record(h)).await.unwrap();

    redis.stop();
    store.update(h, field::TERMINAL_TYPE, "XTERM".into());
    let outcome = store.flush().await;
    assert_eq!(outcome.failed, 1);
    assert_eq!(store.pending_len(), 1, "a failed update is kept, not dropped");
    assert!(store.metrics().failures("background") >= 1);
    assert!(
        store.register(&record(handle(3, 8))).await.is_err(),
        "critical writes report the failure"
    );
    assert!(store.metrics().failures("critical") >= 1);
    let text = {
        use prometheus::Encoder;
        let mut buf = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut buf)
            .unwrap();
        String::from_utf8(buf).unwrap()
    };
    assert!(
        text.contains("mush_test_state_write_failures_total{kind=\"background\"}"),
        "{text}"
    );

    // A newer value typed while Redis was away wins over the kept one.
    store.update(h, field::TERMINAL_TYPE, "MUDLET".into());
    redis.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = store.flush().await;
        if outcome.failed == 0 && store.pending_len() == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "writes never recovered");
        store.update(h, field::TERMINAL_TYPE, "MUDLET".into());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = store.get(h).await.unwrap().unwrap();
    assert_eq!(r.terminal_type.as_deref(), Some("MUDLET"));
    assert_eq!(
        r.gateway, "gw-test",
        "the record written before the restart survived it"
    );
}

#[tokio::test]
async fn load_all_reads_every_record_and_reports_dangling_ones() {
    let redis = RedisServer::start();
    let (store, _) = store_for(&redis).await;
    let handles: Vec<Handle> = (1..=2500).map(|n| handle((n % 3) as u16, n)).collect();
    for h in &handles {
        store.register(&record(*h)).await.unwrap();
    }
    store.bind_player(handles[7], "#7").await.unwrap();
    // A record whose hash vanished but whose index entry stayed (a crash between two writes).
    let _: () = store
        .client()
        .del(store.keys().connection(handles[9]))
        .await
        .unwrap();

    let loaded = store.load_all().await.unwrap();
    assert_eq!(loaded.records.len(), 2499);
    assert_eq!(loaded.dangling, vec![handles[9]]);
    assert!(loaded.broken.is_empty());
    let by_handle: HashMap<Handle, &ConnectionRecord> =
        loaded.records.iter().map(|r| (r.handle, r)).collect();
    assert_eq!(by_handle[&handles[7]].player.as_deref(), Some("#7"));
}

#[tokio::test]
async fn the_background_flusher_writes_on_its_own_and_once_more_at_shutdown() {
    let redis = RedisServer::start();
    let (store, _) = store_for(&redis).await;
    let h = handle(4, 4);
    store.register(&record(h)).await.unwrap();
    let shutdown = mush_platform::Shutdown::new();
    store.spawn_flusher(Duration::from_millis(20), &shutdown);

    store.update(h, field::CHARSET, "UTF-8".into());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.get(h).await.unwrap().unwrap().charset.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the flusher never wrote");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    store.update(h, field::HEIGHT, "50".into());
    shutdown.trigger();
    shutdown.wait(Duration::from_secs(5)).await;
    assert_eq!(store.get(h).await.unwrap().unwrap().height, Some(50));
}
