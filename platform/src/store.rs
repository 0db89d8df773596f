//! The Redis connection-state store (ARCHITECTURE.md, "Connection state in Redis").
//!
//! One hash per connection, the live-handle sorted set and per-gateway membership sets. Writes are
//! split by importance:
//!
//! * **critical** ([`ConnectionStore::register`], [`ConnectionStore::bind_player`],
//!   [`ConnectionStore::remove`]) are awaited: the caller acknowledges the action only after Redis
//!   has it;
//! * **non-critical** ([`ConnectionStore::update`]: last-input time, client metadata) return at
//!   once; they are coalesced per connection (the last value of a field wins) and written by a
//!   background flusher in pipelined batches. A failed batch is logged, counted in
//!   `<prefix>_state_write_failures_total`, kept, and retried on the next flush.
//!
//! Field updates are single hash-field writes, and a background update never re-creates the hash
//! of a connection that was removed meanwhile (a Lua script writes only if the hash exists).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fred::interfaces::LuaInterface;
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};
use prometheus::{Histogram, IntGauge};
use tokio::sync::Notify;

use mush_protocol::keys::{ConnectionState, RecordError, field};
use mush_protocol::{ConnectionRecord, Handle, RedisKeys, Slot};

use crate::metrics::{Children, Metrics};
use crate::shutdown::Shutdown;

/// HSET the given field/value pairs only if the hash still exists. KEYS[1] = hash; ARGV = f1 v1 …
const HSET_IF_EXISTS: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then \
     return redis.call('HSET', KEYS[1], unpack(ARGV)) else return -1 end";

/// Registers a connection atomically. A script rather than MULTI/EXEC: a transaction holds the
/// client's connection for its whole round trip, a script is one pipelined command, so thousands
/// of connections can register at once. KEYS: hash, live index, gateway set. ARGV: member,
/// connected-at (µs), then field/value pairs.
const REGISTER: &str = "redis.call('DEL', KEYS[1]) \
     redis.call('HSET', KEYS[1], unpack(ARGV, 3)) \
     redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) \
     return redis.call('SADD', KEYS[3], ARGV[1])";

/// Removes every trace of a connection atomically. KEYS as for REGISTER; ARGV: member.
const REMOVE: &str = "redis.call('DEL', KEYS[1]) \
     redis.call('ZREM', KEYS[2], ARGV[1]) \
     return redis.call('SREM', KEYS[3], ARGV[1])";

/// Once this many connections have pending updates, the flusher runs without waiting for its tick.
const EARLY_FLUSH_AT: usize = 1000;
/// Connections per pipeline.
const BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("connection {0} has no record")]
    NotFound(Handle),
    #[error("live index holds '{0}', which is not a handle")]
    BadMember(String),
}

/// Metrics of the store, under the process prefix.
#[derive(Clone)]
pub struct StoreMetrics {
    writes: Children,
    failures: Children,
    write_seconds: Histogram,
    pending: IntGauge,
}

impl StoreMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        // Both kinds exported at zero from the start, so `rate()` sees the first failure.
        const KINDS: &[&str] = &["critical", "background"];
        Self {
            writes: Children::new(
                &metrics.counter_vec(
                    "state_writes_total",
                    "Connection-state writes to Redis attempted, by importance (critical, background).",
                    &["kind"],
                ),
                KINDS,
            ),
            failures: Children::new(
                &metrics.counter_vec(
                    "state_write_failures_total",
                    "Connection-state writes to Redis that failed, by importance (critical, background).",
                    &["kind"],
                ),
                KINDS,
            ),
            write_seconds: metrics.histogram(
                "state_write_seconds",
                "Time one critical write or one background batch took.",
            ),
            pending: metrics.gauge(
                "state_pending_updates",
                "Connections with background updates not yet written to Redis.",
            ),
        }
    }

    pub fn failures(&self, kind: &str) -> u64 {
        self.failures.get(kind)
    }

    pub fn writes(&self, kind: &str) -> u64 {
        self.writes.get(kind)
    }
}

/// What one flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushOutcome {
    /// Connections whose updates were written (one pipelined command each).
    pub written: usize,
    /// Connections whose updates failed and were kept for the next flush.
    pub failed: usize,
}

/// What [`ConnectionStore::load_all`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<ConnectionRecord>,
    /// In the live index but with no hash (removed halfway): the caller should finish removing them.
    pub dangling: Vec<Handle>,
    /// Hashes that could not be read as records.
    pub broken: Vec<RecordError>,
}

type Pending = HashMap<Handle, HashMap<&'static str, String>>;

struct Inner {
    client: Client,
    keys: RedisKeys,
    metrics: StoreMetrics,
    pending: Mutex<Pending>,
    wake: Notify,
    failing: std::sync::atomic::AtomicBool,
}

/// Cheap to clone; all clones share the client and the pending updates.
#[derive(Clone)]
pub struct ConnectionStore {
    inner: Arc<Inner>,
}

impl ConnectionStore {
    pub fn new(client: Client, keys: RedisKeys, metrics: StoreMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                keys,
                metrics,
                pending: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                failing: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    pub fn keys(&self) -> &RedisKeys {
        &self.inner.keys
    }

    pub fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    async fn critical<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = fut.await;
        let m = &self.inner.metrics;
        m.write_seconds.observe(started.elapsed().as_secs_f64());
        m.writes.inc("critical");
        if let Err(e) = &result {
            m.failures.inc("critical");
            tracing::warn!(error = %e, write = what, "critical connection-state write failed");
        }
        result
    }

    /// Critical: records a new connection (hash, live index, gateway membership) in one transaction.
    pub async fn register(&self, record: &ConnectionRecord) -> Result<(), StoreError> {
        self.critical("register", async {
            let k = &self.inner.keys;
            let mut args = vec![
                record.handle.to_string(),
                record.connected_at.as_micros().to_string(),
            ];
            args.extend(
                record
                    .to_fields()
                    .into_iter()
                    .flat_map(|(f, v)| [f.to_owned(), v]),
            );
            let keys = vec![
                k.connection(record.handle),
                k.live_connections(),
                k.gateway_connections(record.handle.slot()),
            ];
            let _: i64 = self.inner.client.eval(REGISTER, keys, args).await?;
            Ok(())
        })
        .await
    }

    /// Critical: binds a logged-in player to the connection. Fails with `NotFound` if the
    /// connection has already gone (never re-creates its record).
    pub async fn bind_player(&self, handle: Handle, player: &str) -> Result<(), StoreError> {
        self.set_fields_critical(
            "bind_player",
            handle,
            vec![
                (field::STATE, ConnectionState::LoggedIn.as_str().to_owned()),
                (field::PLAYER, player.to_owned()),
            ],
        )
        .await
    }

    /// Critical: returns the connection to the login screen.
    pub async fn unbind_player(&self, handle: Handle) -> Result<(), StoreError> {
        self.set_fields_critical(
            "unbind_player",
            handle,
            vec![
                (field::STATE, ConnectionState::LoggedOut.as_str().to_owned()),
                (field::PLAYER, String::new()),
            ],
        )
        .await
    }

    async fn set_fields_critical(
        &self,
        what: &str,
        handle: Handle,
        fields: Vec<(&'static str, String)>,
    ) -> Result<(), StoreError> {
        self.critical(what, async {
            let args: Vec<String> = fields.into_iter().flat_map(|(f, v)| [f.to_owned(), v]).collect();
            let n: i64 = self
                .inner
                .client
                .eval(HSET_IF_EXISTS, vec![self.inner.keys.connection(handle)], args)
                .await?;
            if n < 0 {
                Err(StoreError::NotFound(handle))
            } else {
                Ok(())
            }
        })
        .await
    }

    /// Critical: removes every trace of the connection, and drops its pending updates.
    pub async fn remove(&self, handle: Handle) -> Result<(), StoreError> {
        self.inner.pending.lock().expect("pending lock").remove(&handle);
        self.critical("remove", async {
            let k = &self.inner.keys;
            let keys = vec![
                k.connection(handle),
                k.live_connections(),
                k.gateway_connections(handle.slot()),
            ];
            let _: i64 = self
                .inner
                .client
                .eval(REMOVE, keys, vec![handle.to_string()])
                .await?;
            Ok(())
        })
        .await
    }

    /// Non-critical: sets one field soon. Returns at once; never waits on Redis.
    pub fn update(&self, handle: Handle, name: &'static str, value: String) {
        let n = {
            let mut pending = self.inner.pending.lock().expect("pending lock");
            pending.entry(handle).or_default().insert(name, value);
            pending.len()
        };
        self.inner.metrics.pending.set(n as i64);
        if n >= EARLY_FLUSH_AT {
            self.inner.wake.notify_one();
        }
    }

    /// Connections with updates not yet written.
    pub fn pending_len(&self) -> usize {
        self.inner.pending.lock().expect("pending lock").len()
    }

    /// Writes every pending update now, in pipelined batches. Failed batches are kept for later.
    pub async fn flush(&self) -> FlushOutcome {
        let batch: Pending = std::mem::take(&mut *self.inner.pending.lock().expect("pending lock"));
        if batch.is_empty() {
            return FlushOutcome::default();
        }
        let mut outcome = FlushOutcome::default();
        let mut failed: Pending = HashMap::new();
        let mut first_error = None;
        let entries: Vec<_> = batch.into_iter().collect();
        for chunk in entries.chunks(BATCH) {
            let started = Instant::now();
            let result = self.write_batch(chunk).await;
            self.inner
                .metrics
                .write_seconds
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(()) => outcome.written += chunk.len(),
                Err(e) => {
                    outcome.failed += chunk.len();
                    first_error.get_or_insert(e);
                    failed.extend(chunk.iter().cloned());
                }
            }
        }
        let m = &self.inner.metrics;
        // Attempts, as for critical writes; failures are counted apart.
        m.writes
            .inc_by("background", (outcome.written + outcome.failed) as u64);
        if outcome.failed > 0 {
            m.failures.inc_by("background", outcome.failed as u64);
            // Put the failed updates back, unless a newer value for the same field arrived meanwhile.
            let mut pending = self.inner.pending.lock().expect("pending lock");
            for (handle, fields) in failed {
                let entry = pending.entry(handle).or_default();
                for (name, value) in fields {
                    entry.entry(name).or_insert(value);
                }
            }
            m.pending.set(pending.len() as i64);
            let was_failing = self
                .inner
                .failing
                .swap(true, std::sync::atomic::Ordering::Relaxed);
            let error = first_error.map(|e| e.to_string()).unwrap_or_default();
            if was_failing {
                tracing::debug!(failed = outcome.failed, %error, "background state writes still failing");
            } else {
                tracing::warn!(failed = outcome.failed, %error, "background state writes failed; kept for retry");
            }
        } else {
            m.pending.set(self.pending_len() as i64);
            if self
                .inner
                .failing
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::info!(written = outcome.written, "background state writes recovered");
            }
        }
        outcome
    }

    async fn write_batch(&self, chunk: &[(Handle, HashMap<&'static str, String>)]) -> Result<(), StoreError> {
        let pipeline = self.inner.client.pipeline();
        for (handle, fields) in chunk {
            let args: Vec<String> = fields
                .iter()
                .flat_map(|(f, v)| [(*f).to_owned(), v.clone()])
                .collect();
            // EVAL script 1 key field value …, as a raw command: fred's pipelines lack `eval`.
            let mut cmd: Vec<String> = vec![
                HSET_IF_EXISTS.to_owned(),
                "1".to_owned(),
                self.inner.keys.connection(*handle),
            ];
            cmd.extend(args);
            let _: () = pipeline
                .custom(
                    CustomCommand::new_static("EVAL", ClusterHash::Offset(2), false),
                    cmd,
                )
                .await?;
        }
        let results: Vec<Result<Value, fred::error::Error>> = pipeline.try_all().await;
        match results.into_iter().find_map(Result::err) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Runs the background flusher until shutdown, then flushes one last time.
    pub fn spawn_flusher(&self, interval: Duration, shutdown: &Shutdown) {
        let store = self.clone();
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = store.inner.wake.notified() => {}
                    _ = stop.triggered() => break,
                }
                store.flush().await;
            }
            let last = store.flush().await;
            if last.failed > 0 {
                tracing::warn!(
                    lost = last.failed,
                    "background state updates not written at shutdown"
                );
            }
        });
    }

    /// Reads one record.
    pub async fn get(&self, handle: Handle) -> Result<Option<ConnectionRecord>, StoreError> {
        let fields: HashMap<String, String> = self
            .inner
            .client
            .hgetall(self.inner.keys.connection(handle))
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        ConnectionRecord::from_fields(handle, &fields)
            .map(Some)
            .map_err(|_| StoreError::NotFound(handle))
    }

    /// Every handle in the live index.
    pub async fn live_handles(&self) -> Result<Vec<Handle>, StoreError> {
        let members: Vec<String> = self
            .inner
            .client
            .zrange(
                self.inner.keys.live_connections(),
                0,
                -1,
                None,
                false,
                None,
                false,
            )
            .await?;
        parse_members(members)
    }

    /// Every handle recorded under one gateway slot.
    pub async fn gateway_handles(&self, slot: Slot) -> Result<Vec<Handle>, StoreError> {
        let members: Vec<String> = self
            .inner
            .client
            .smembers(self.inner.keys.gateway_connections(slot))
            .await?;
        parse_members(members)
    }

    /// How many handles are recorded under one gateway slot.
    pub async fn gateway_handle_count(&self, slot: Slot) -> Result<u64, StoreError> {
        Ok(self
            .inner
            .client
            .scard(self.inner.keys.gateway_connections(slot))
            .await?)
    }

    /// How many connections are live in the whole game (all gateways).
    pub async fn live_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .inner
            .client
            .zcard(self.inner.keys.live_connections())
            .await?)
    }

    /// The records left under `slot` by a gateway that is gone: none while a gateway holds the
    /// slot, and never those of the epoch the next holder will get (see
    /// [`crate::lease::slot_vacancy`]).
    pub async fn orphans_of_slot(&self, slot: Slot) -> Result<Vec<Handle>, StoreError> {
        if self.gateway_handle_count(slot).await? == 0 {
            return Ok(Vec::new());
        }
        let Some(next_epoch) = crate::lease::slot_vacancy(&self.inner.client, &self.inner.keys, slot).await?
        else {
            return Ok(Vec::new());
        };
        Ok(self
            .gateway_handles(slot)
            .await?
            .into_iter()
            .filter(|h| h.epoch() != next_epoch)
            .collect())
    }

    /// Whether lease `name` is held and its holder serves (see [`crate::lease::is_serving`]).
    pub async fn lease_serving(&self, name: &str) -> Result<bool, StoreError> {
        Ok(crate::lease::is_serving(&self.inner.client, &self.inner.keys, name).await?)
    }

    /// Reads every live connection with pipelined reads (one round trip per 1,000 records).
    pub async fn load_all(&self) -> Result<Loaded, StoreError> {
        let handles = self.live_handles().await?;
        let mut loaded = Loaded::default();
        for chunk in handles.chunks(1000) {
            let pipeline = self.inner.client.pipeline();
            for h in chunk {
                let _: () = pipeline.hgetall(self.inner.keys.connection(*h)).await?;
            }
            let maps: Vec<HashMap<String, String>> = if chunk.len() == 1 {
                vec![pipeline.last().await?]
            } else {
                pipeline.all().await?
            };
            for (h, fields) in chunk.iter().zip(maps) {
                if fields.is_empty() {
                    loaded.dangling.push(*h);
                    continue;
                }
                match ConnectionRecord::from_fields(*h, &fields) {
                    Ok(r) => loaded.records.push(r),
                    Err(e) => loaded.broken.push(e),
                }
            }
        }
        Ok(loaded)
    }
}

fn parse_members(members: Vec<String>) -> Result<Vec<Handle>, StoreError> {
    members
        .into_iter()
        .map(|m| m.parse().map_err(|_| StoreError::BadMember(m)))
        .collect()
}
