//! The game-server process: leadership, reconciliation, and the input loop.
//!
//! 1. Take the leadership lease (a second instance waits here as a standby: live, not ready).
//! 2. Reconcile: load the world and the applied offsets, rebuild the connection view from Redis
//!    (pipelined reads), re-send unconfirmed output from the outboxes. Only then ready.
//! 3. Consume the input partitions from just after the applied offsets, in batches (group
//!    commit): every input already fetched (at most [`MAX_BATCH`], for at most
//!    [`MAX_BATCH_TIME`]) runs through the game in memory; then one fenced script persists the
//!    batch's world changes, logins and logouts, applied marks and outbox; then its output is
//!    produced (one multicast message per gateway). A crash before the commit replays the whole
//!    batch (nothing of it was visible); after it, the outbox re-sends. A batch of one commits at
//!    once, so a lone player waits for nothing. Logins hash off the loop (see `hashing`); a
//!    watchdog records inputs that crash or hang the game (see `watchdog`).
//! 4. On SIGTERM: finish the batch in hand, wait for output acknowledgements, commit offsets,
//!    release the lease, exit. On a lost lease: stop at once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::stream::FuturesOrdered;
use futures::{Future, FutureExt, StreamExt};
use mush_platform::Shutdown;
use mush_platform::bus::{Consumer, Producer};
use mush_platform::health::Flag;
use mush_platform::lease::{Lease, LeaseState, owner_id};
use mush_platform::retry::{RetryPolicy, retry_notify};
use mush_platform::runtime::Server;
use mush_platform::store::ConnectionStore;
use mush_protocol::{GameMessage, GatewayEvent, GatewayEventKind, Handle, RedisKeys, Timestamp, topics};
use rdkafka::Offset;
use tokio::sync::watch;
use tracing::{Instrument as _, Span};

use crate::config::Config;
use crate::game::Credentials;
use crate::game::{Connection, Effects, Game, GameConfig, StateWrite, world::World};
use crate::hashing::{Done, HashPool};
use crate::metrics::{CommandMeters, GameMetrics};
use crate::output;
use crate::persist::{BatchWrite, Commit, InputWrite, PersistError, WorldStore};
use crate::progress::Progress;
use crate::spans;
use crate::watchdog::{self, InFlight};
use mush_platform::sealing::InputKeys;

/// The lease name of the active game-server.
pub use mush_protocol::keys::GAME_LEADER_LEASE as LEADER_LEASE;

type Ack = Pin<Box<dyn Future<Output = (i32, i64, Vec<GameMessage>, bool)> + Send>>;

/// Why the input loop stopped.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Requested,
    LeaseLost,
    /// The game panicked on the input at (partition, offset), recorded as an attempt: the memory
    /// state cannot be trusted, so the process ends and its next life replays from Redis
    /// (skipping the input after `--poison-attempts`).
    Crashed(i32, i64),
}

/// Password work waiting at most, before logins are refused with "busy".
const HASH_QUEUE: usize = 1024;
/// Writing a batch while Redis fails: 50 ms doubling to 2 s, until it works or shutdown.
const PERSIST_RETRY: RetryPolicy = RetryPolicy::backoff(Duration::from_millis(50), Duration::from_secs(2));

pub async fn run(config: Config) -> anyhow::Result<()> {
    let server = Server::boot("game-server", config.validate(), config.summary())?;
    let welcome = config.welcome().context("reading the welcome file")?;
    let input_keys = server.input_keys(&config.input_key)?;
    let metrics = GameMetrics::new(&server.registry);
    let leader = Flag::new("waiting for the leadership lease");
    let reconciled = Flag::new("not reconciled yet");
    let in_flight = Arc::new(InFlight::default());
    let health = server
        .health()
        .readiness_flag("leader", &leader)
        .readiness_flag("reconciled", &reconciled)
        .liveness_check("input-loop", Duration::from_secs(1), {
            // Live while no input has run longer than --stuck-seconds.
            let (in_flight, stuck) = (in_flight.clone(), config.stuck_time());
            move || {
                let verdict = in_flight.liveness(stuck);
                async move { verdict }
            }
        });
    server.serve_health(config.health_addr, health, None).await?;

    let Some(client) = server.connect_redis(&config.redis).await else {
        return server.stopped_while_booting("Redis").await;
    };
    let keys = RedisKeys::new(&config.redis.namespace);
    let producer = server
        .connect_kafka(&config.kafka, &config.instance_name, metrics.bus.clone())
        .await?;

    // 1. Leadership.
    let Some(lease) = take_leadership(&server, &config, &client, &keys, &leader).await else {
        return server.stopped_while_booting("the leadership lease").await;
    };
    let token = lease.token();
    tracing::info!(token, "leader");
    leader.set_ready();
    metrics.leader.set(1);
    let lease_state = lease.spawn_keeper(client.clone(), &server.phases.stop);

    // 2. Reconciliation.
    let store = ConnectionStore::new(client.clone(), keys.clone(), metrics.store.clone());
    store.spawn_flusher(Duration::from_millis(50), &server.phases.stop);
    let world_store = WorldStore::new(client.clone(), keys.clone(), keys.lease_fence(LEADER_LEASE));
    spawn_watchdog(&server, &config, &world_store, &metrics, &in_flight);
    let Some(Recovered {
        mut game,
        applied,
        attempts,
        partitions,
        output_partitions,
    }) = recover(
        &server,
        &config,
        welcome,
        &store,
        &world_store,
        &producer,
        &metrics,
    )
    .await?
    else {
        return server.stopped_while_booting("the input topic").await;
    };
    let input_topic = producer.topics().input.clone();

    // 3. Input.
    let consumer = input_consumer(&config, &input_topic, partitions, &applied)?;
    let progress = load_progress(&world_store, partitions, &applied).await?;
    // Gateways tell browsers the game runs again once this is marked (not when the lease is
    // taken: a new leader replays first).
    match mush_platform::lease::mark_serving(&client, &keys, LEADER_LEASE, token).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("a later leader exists: not marked as serving"),
        Err(e) => {
            tracing::warn!(error = %e, "could not mark the game as serving (browsers may show it restarting)")
        }
    }
    reconciled.set_ready();
    let mut loop_state = InputLoop {
        game: &mut game,
        store: &store,
        world_store: &world_store,
        producer: &producer,
        metrics: &metrics,
        commands: CommandMeters::new(&metrics),
        input_keys,
        token,
        progress,
        waiting: HashMap::new(),
        hashes: HashPool::start(config.budgets.hash_workers, HASH_QUEUE),
        attempts,
        poison_attempts: config.budgets.poison_attempts,
        in_flight: in_flight.clone(),
        fault_injection: config.fault_injection,
        max_message_bytes: config.budgets.max_message_bytes,
        partitions,
        output_partitions,
        acks: FuturesOrdered::new(),
        acked: BTreeMap::new(),
        timers_sent: HashMap::new(),
    };
    let stop = loop_state
        .run(&consumer, &input_topic, &server.phases.drain, lease_state)
        .await;

    // 4. Stop.
    reconciled.set_not_ready("stopping");
    metrics.leader.set(0);
    match stop {
        Stop::Requested => {
            let grace = Duration::from_secs(config.stop_grace_seconds);
            loop_state.finish(&consumer, &input_topic, grace).await;
            tracing::info!("stopped gracefully; releasing the lease");
        }
        Stop::LeaseLost => tracing::error!("leadership lost: stopped processing input"),
        Stop::Crashed(..) => {}
    }
    server.phases.stop(Duration::from_secs(5)).await;
    match stop {
        Stop::LeaseLost => anyhow::bail!("leadership lost"),
        Stop::Crashed(..) => anyhow::bail!("the game failed on an input: restarting to replay from Redis"),
        Stop::Requested => Ok(()),
    }
}

/// What reconciliation hands the input loop.
struct Recovered {
    game: Game,
    /// Per input partition, the last offset applied.
    applied: HashMap<i32, i64>,
    /// Inputs whose application was started and never finished, with how often.
    attempts: HashMap<(i32, i64), u32>,
    partitions: i32,
    output_partitions: i32,
}

/// Reconciliation: the game rebuilt from Redis, the applied offsets checked against the topic,
/// unconfirmed output sent again. `None` when told to stop before the input topic was there.
async fn recover(
    server: &Server,
    config: &Config,
    welcome: String,
    store: &ConnectionStore,
    world_store: &WorldStore,
    producer: &Producer,
    metrics: &GameMetrics,
) -> anyhow::Result<Option<Recovered>> {
    let started = Instant::now();
    let game = reconcile(config, welcome, store, world_store, metrics).await?;
    let mut applied = world_store.load_applied().await?;
    let attempts = world_store.load_attempts().await?;
    if !attempts.is_empty() {
        tracing::warn!(
            events = attempts.len(),
            "inputs whose application never finished before: they will be retried or skipped"
        );
    }
    let input_topic = producer.topics().input.clone();
    let Some(partitions) = server.partition_count(producer, &input_topic).await else {
        return Ok(None);
    };
    forget_applied_past_end(producer, world_store, &input_topic, partitions, &mut applied).await?;
    let output_partitions = server
        .partition_count(producer, &producer.topics().output.clone())
        .await
        .unwrap_or(topics::DEFAULT_OUTPUT_PARTITIONS);
    resend_outboxes(
        world_store,
        producer,
        partitions,
        output_partitions,
        config.budgets.max_message_bytes,
        metrics,
    )
    .await?;
    let elapsed = started.elapsed();
    metrics.reconciliation_seconds.set(elapsed.as_secs_f64());
    tracing::info!(
        connections = game.connections().count(),
        logged_in = game.logged_in_count(),
        objects = game.world().len(),
        millis = elapsed.as_millis() as u64,
        "reconciled"
    );
    Ok(Some(Recovered {
        game,
        applied,
        attempts,
        partitions,
        output_partitions,
    }))
}

/// Per input partition, where the input loop starts: what is applied, and the inputs applied
/// ahead of it (out of order, by logins that finished hashing first).
async fn load_progress(
    world_store: &WorldStore,
    partitions: i32,
    applied: &HashMap<i32, i64>,
) -> anyhow::Result<HashMap<i32, Progress>> {
    let mut progress = HashMap::new();
    for p in 0..partitions {
        let low = applied.get(&p).copied().unwrap_or(-1);
        progress.insert(p, Progress::new(low, world_store.load_ahead(p).await?));
    }
    Ok(progress)
}

/// Takes the game's leadership lease. A second game-server waits here as a standby (live, not
/// ready), trying every quarter of the lease's TTL.
async fn take_leadership(
    server: &Server,
    config: &Config,
    client: &fred::prelude::Client,
    keys: &RedisKeys,
    leader: &Flag,
) -> Option<Lease> {
    let owner = owner_id(&config.instance_name);
    server
        .acquire(
            &RetryPolicy::constant(config.lease_ttl() / 4),
            || {
                Lease::try_acquire(
                    client,
                    keys.lease(LEADER_LEASE),
                    keys.lease_fence(LEADER_LEASE),
                    &owner,
                    config.lease_ttl(),
                )
            },
            |why| match why {
                None => leader.set_not_ready("standby: another game-server holds the leadership lease"),
                Some(e) => leader.set_not_ready(format!("cannot reach Redis for the lease: {e}")),
            },
        )
        .await
}

/// The watchdog: an input that runs long is recorded as an attempt (so a poison input is
/// skipped after `--poison-attempts` lives), and a stop that never ends ends the process.
fn spawn_watchdog(
    server: &Server,
    config: &Config,
    world_store: &WorldStore,
    metrics: &GameMetrics,
    in_flight: &Arc<InFlight>,
) {
    let world_store = world_store.clone();
    let metrics = metrics.clone();
    let runtime = tokio::runtime::Handle::current();
    watchdog::spawn(
        in_flight.clone(),
        Duration::from_millis(config.budgets.slow_event_ms),
        Box::new(move |p, o| {
            metrics.slow_events.inc();
            tracing::warn!(
                partition = p,
                offset = o,
                "an input is taking long: recorded as an attempt"
            );
            let world_store = world_store.clone();
            runtime.spawn(async move {
                if let Err(e) = world_store.record_attempt(p, o).await {
                    tracing::warn!(error = %e, "could not record an attempt");
                }
            });
        }),
        server.phases.drain.clone(),
        Duration::from_secs(config.stop_grace_seconds),
    );
}

/// Forgets the applied offsets of partitions the input topic no longer holds (see
/// [`applied_past_end`]).
async fn forget_applied_past_end(
    producer: &Producer,
    world_store: &WorldStore,
    input_topic: &str,
    partitions: i32,
    applied: &mut HashMap<i32, i64>,
) -> anyhow::Result<()> {
    let mut ends = HashMap::new();
    for p in 0..partitions {
        let (_, high) = producer
            .watermarks(input_topic, p, Duration::from_secs(10))
            .await?;
        ends.insert(p, high);
    }
    for p in applied_past_end(applied, &ends) {
        tracing::warn!(
            partition = p,
            applied = applied[&p],
            end = ends[&p],
            "the input topic holds less than was applied (recreated?): starting this partition afresh"
        );
        world_store.reset_applied(p).await?;
        applied.remove(&p);
    }
    Ok(())
}

/// The input consumer, each partition from just after its applied offset.
fn input_consumer(
    config: &Config,
    input_topic: &str,
    partitions: i32,
    applied: &HashMap<i32, i64>,
) -> anyhow::Result<Consumer> {
    let starts: Vec<(i32, Offset)> = (0..partitions)
        .map(|p| {
            let from = applied
                .get(&p)
                .map_or(Offset::Beginning, |o| Offset::Offset(o + 1));
            (p, from)
        })
        .collect();
    Ok(Consumer::assign_partitions(
        &config.kafka,
        &config.instance_name,
        &config.consumer_group,
        input_topic,
        &starts,
    )?)
}

/// Rebuilds the game from Redis: the world, then every live connection and its binding.
async fn reconcile(
    config: &Config,
    welcome: String,
    store: &ConnectionStore,
    world_store: &WorldStore,
    metrics: &GameMetrics,
) -> anyhow::Result<Game> {
    let objects = world_store.load_objects().await?;
    let world = if objects.is_empty() {
        let world = World::new();
        let changes: Vec<_> = world
            .objects()
            .cloned()
            .map(crate::game::world::WorldChange::Put)
            .collect();
        // A fresh game: store its starting world.
        world_store.put_objects(&changes).await?;
        world
    } else {
        World::from_objects(objects)
    };
    let mut world = world;
    for entry in world_store.load_queue().await? {
        world.apply(&crate::game::world::WorldChange::Queue(entry));
    }
    for channel in world_store.load_channels().await? {
        world.apply(&crate::game::world::WorldChange::Channel(channel));
    }
    let mut game = Game::new(
        world,
        GameConfig {
            game_name: config.game_name.clone(),
            welcome,
            limits: config.budgets.limits(),
            master_room: config.master_room,
        },
    );
    let loaded = store.load_all().await?;
    for broken in &loaded.broken {
        tracing::warn!(error = %broken, "unreadable connection record skipped");
    }
    for handle in &loaded.dangling {
        let _ = store.remove(*handle).await;
    }
    let restored = loaded.records.len();
    for record in loaded.records {
        let player = record.player.as_deref().and_then(|p| p.parse().ok());
        game.restore(Connection {
            handle: record.handle,
            player,
            addr: record.addr.clone(),
            connected_at: record.connected_at,
            last_input_at: record.last_input_at.unwrap_or(record.connected_at),
            client: mush_protocol::ClientInfo {
                terminal_type: record.terminal_type.clone().unwrap_or_default(),
                mtts: record.mtts.unwrap_or(0),
                charset: record.charset.clone().unwrap_or_default(),
                gmcp: record.gmcp,
                msdp: record.msdp,
            },
            width: record.width,
            height: record.height,
        });
    }
    metrics.restored_connections.set(restored as i64);
    metrics.connections.set(game.connections().count() as i64);
    metrics.logged_in_players.set(game.logged_in_count() as i64);
    Ok(game)
}

/// Sends again the output whose delivery was not confirmed before the last stop. Nothing in an
/// outbox can stop a start: unreadable entries and messages too large for the broker (written
/// before output was split) are dropped with a log line and a count.
async fn resend_outboxes(
    world_store: &WorldStore,
    producer: &Producer,
    partitions: i32,
    output_partitions: i32,
    max_message_bytes: usize,
    metrics: &GameMetrics,
) -> anyhow::Result<()> {
    for p in 0..partitions {
        let outbox = world_store.load_outbox(p).await?;
        if !outbox.unreadable.is_empty() {
            tracing::error!(partition = p, fields = ?outbox.unreadable, "unreadable outbox entries dropped");
            metrics.outbox_dropped.inc_by(outbox.unreadable.len() as u64);
            world_store.drop_outbox_fields(p, &outbox.unreadable).await?;
        }
        if outbox.entries.is_empty() {
            continue;
        }
        let mut offsets = Vec::new();
        for (offset, messages) in outbox.entries {
            for m in &messages {
                if m.targets.is_empty() || m.encode().len() > max_message_bytes {
                    tracing::error!(
                        partition = p,
                        offset,
                        "outbox message too large or without target: dropped"
                    );
                    metrics.outbox_dropped.inc();
                    continue;
                }
                producer.send_message(m, output_partitions).await?;
                metrics.outbox_resent.inc();
            }
            offsets.push(offset);
        }
        tracing::info!(
            partition = p,
            inputs = offsets.len(),
            "re-sent unconfirmed output"
        );
        world_store.clear_outbox(p, &offsets).await?;
    }
    Ok(())
}

/// Partitions whose applied offset is at or past the partition's end: the topic was recreated
/// (a fresh development broker, say), and skipping "already applied" offsets would drop new input.
pub fn applied_past_end(applied: &HashMap<i32, i64>, ends: &HashMap<i32, i64>) -> Vec<i32> {
    let mut past: Vec<i32> = applied
        .iter()
        .filter(|(p, a)| ends.get(p).is_some_and(|end| **a >= *end))
        .map(|(p, _)| *p)
        .collect();
    past.sort_unstable();
    past
}

/// `@fault panic` panics and `@fault hang <ms>` sleeps, inside the game's watched section: how
/// the tests prove that poison inputs are skipped and a stuck loop fails `/livez`. Only with
/// `--fault-injection`, which nothing but tests sets.
fn inject_fault(event: &GatewayEvent) {
    let GatewayEventKind::Input { line } = &event.kind else {
        return;
    };
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    if words.next() != Some("@fault") {
        return;
    }
    match (words.next(), words.next().and_then(|ms| ms.parse::<u64>().ok())) {
        (Some("panic"), _) => panic!("fault injected: panic"),
        (Some("hang"), Some(ms)) => std::thread::sleep(Duration::from_millis(ms)),
        _ => {}
    }
}

/// An input waiting for its connection's login (password work in the pool).
struct Waiting {
    partition: i32,
    offset: i64,
    event: GatewayEvent,
}

/// Inputs applied in memory and not yet committed: what one [`WorldStore::commit`] writes, and
/// what is produced and measured once it has.
#[derive(Default)]
struct Batch {
    write: BatchWrite,
    /// Per input (in `write.inputs` order): its metric label, when it started and its span
    /// (see `spans`; closed once its output is handed to the producer).
    measures: Vec<(&'static str, Instant, Span)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.write.inputs.len()
    }
}

/// At most this many inputs are applied in memory before their batch is committed...
const MAX_BATCH: usize = 512;
/// ...and for at most this long (a batch of one is committed at once: nothing waits for more).
const MAX_BATCH_TIME: Duration = Duration::from_millis(10);

struct InputLoop<'a> {
    game: &'a mut Game,
    store: &'a ConnectionStore,
    world_store: &'a WorldStore,
    producer: &'a Producer,
    metrics: &'a GameMetrics,
    commands: CommandMeters,
    /// Opens sealed input lines (see `mush_platform::sealing`).
    input_keys: InputKeys,
    token: u64,
    /// Per input partition, what is applied (see `progress`).
    progress: HashMap<i32, Progress>,
    /// Connections whose login is hashing, with their inputs in order (the login first).
    waiting: HashMap<Handle, VecDeque<Waiting>>,
    hashes: HashPool,
    /// Inputs whose application was started and never finished, with how often (from Redis).
    attempts: HashMap<(i32, i64), u32>,
    poison_attempts: u32,
    in_flight: Arc<InFlight>,
    /// Test-only `@fault panic` / `@fault hang <ms>` lines (see `Config::fault_injection`).
    fault_injection: bool,
    /// Largest output message produced (see `output`).
    max_message_bytes: usize,
    /// Input partitions (all of them are read and reported).
    partitions: i32,
    output_partitions: i32,
    acks: FuturesOrdered<Ack>,
    /// Per partition, inputs whose output the broker acknowledged (outbox entries to delete).
    acked: BTreeMap<i32, Vec<i64>>,
    /// Queue entries whose timer this game-server wrote, and when (written again if the entry
    /// is still queued a while later: the first one was lost).
    timers_sent: HashMap<u64, Instant>,
}

impl InputLoop<'_> {
    async fn run(
        &mut self,
        consumer: &Consumer,
        topic: &str,
        shutdown: &Shutdown,
        mut lease: watch::Receiver<LeaseState>,
    ) -> Stop {
        let mut housekeeping = tokio::time::interval(Duration::from_millis(50));
        let mut last_commit = Instant::now();
        loop {
            let mut batch = Batch::default();
            let received = tokio::select! {
                biased;
                _ = shutdown.triggered() => return Stop::Requested,
                changed = lease.changed() => {
                    if changed.is_err() || *lease.borrow() == LeaseState::Lost {
                        return Stop::LeaseLost;
                    }
                    Ok(())
                }
                Some((p, offset, messages, ok)) = self.acks.next(), if !self.acks.is_empty() => {
                    if ok {
                        self.acked.entry(p).or_default().push(offset);
                    } else {
                        // Not delivered: send again (same origins, so no duplicate reaches a player).
                        self.produce(p, offset, messages);
                    }
                    Ok(())
                }
                _ = housekeeping.tick() => {
                    self.send_timers();
                    self.clear_acked().await;
                    if last_commit.elapsed() >= Duration::from_secs(1) {
                        last_commit = Instant::now();
                        self.commit_offsets(consumer, topic, false);
                        self.update_lag(topic).await;
                    }
                    Ok(())
                }
                Some(done) = self.hashes.next() => self.login_done(done, &mut batch),
                record = consumer.recv() => match record {
                    Ok(r) => self.receive(r.partition, r.offset, &r.payload, &mut batch),
                    Err(e) => {
                        tracing::warn!(error = %e, "input consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(())
                    }
                },
            };
            // Group commit: everything already fetched joins the batch, within bounds.
            let mut received = received;
            let started = Instant::now();
            while received.is_ok()
                && batch.len() > 0
                && batch.len() < MAX_BATCH
                && started.elapsed() < MAX_BATCH_TIME
            {
                received = match self.hashes.try_next() {
                    Some(done) => self.login_done(done, &mut batch),
                    None => match consumer.recv().now_or_never() {
                        Some(Ok(r)) => self.receive(r.partition, r.offset, &r.payload, &mut batch),
                        _ => break,
                    },
                };
            }
            if let Err(stop) = received {
                return self.stopped(stop).await;
            }
            if let Err(stop) = self.commit(batch, shutdown).await {
                return stop;
            }
        }
    }

    /// Writes a timer to the input topic for each queue entry that is due (`@wait`): the entry
    /// runs when the timer is applied, exactly once, in order with the players' input (see
    /// `commands::wait`). Once per entry, unless it is still queued 5 s later.
    fn send_timers(&mut self) {
        let world = self.game.world();
        self.timers_sent.retain(|id, _| world.queue_entry(*id).is_some());
        for (entry, due) in self.game.due_timers(Timestamp::now()) {
            if self
                .timers_sent
                .get(&entry)
                .is_some_and(|at| at.elapsed() < Duration::from_secs(5))
            {
                continue;
            }
            let event = GatewayEvent::new(Handle::GAME, GatewayEventKind::Timer { entry, due });
            match self.producer.enqueue_event(&event) {
                Ok(_delivery) => {
                    self.timers_sent.insert(entry, Instant::now());
                }
                Err(e) => tracing::warn!(entry, error = %e, "could not write a timer; will retry"),
            }
        }
    }

    /// The loop stops: a crash on an input is recorded as an attempt first.
    async fn stopped(&mut self, stop: Stop) -> Stop {
        if let Stop::Crashed(partition, offset) = stop {
            tracing::error!(
                partition,
                offset,
                "the game failed on an input: recording the attempt and stopping"
            );
            if let Err(e) = self.world_store.record_attempt(partition, offset).await {
                tracing::warn!(error = %e, "could not record the attempt");
            }
        }
        stop
    }

    fn progress(&mut self, partition: i32) -> &mut Progress {
        self.progress
            .entry(partition)
            .or_insert_with(|| Progress::new(-1, []))
    }

    /// One input read from Kafka: skipped if applied already, queued behind its connection's
    /// login if one is hashing, else started.
    fn receive(
        &mut self,
        partition: i32,
        offset: i64,
        payload: &[u8],
        batch: &mut Batch,
    ) -> Result<(), Stop> {
        let progress = self.progress(partition);
        progress.received(offset);
        if progress.is_applied(offset) {
            self.metrics.replays_skipped.inc();
            return Ok(());
        }
        let mut event = match GatewayEvent::decode(payload) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(partition, offset, error = %e, "undecodable input skipped");
                return self.apply(partition, offset, None, None, batch);
            }
        };
        if let Err(e) = self.input_keys.open(&mut event) {
            // Left sealed: the game tells the player it could not read the line.
            self.metrics.input_unreadable.inc();
            tracing::error!(partition, offset, handle = %event.handle, error = %e, "a sealed input line could not be opened: give the gateways and the game-server the same --input-key");
        }
        if let Some(queue) = self.waiting.get_mut(&event.handle) {
            queue.push_back(Waiting {
                partition,
                offset,
                event,
            });
            self.progress(partition).defer(offset);
            return Ok(());
        }
        self.start(
            Waiting {
                partition,
                offset,
                event,
            },
            batch,
        )
        .map(drop)
    }

    /// Starts an input that is first in line for its connection: applies it, or hands its
    /// password work to the pool (then it waits, and so do the connection's next inputs).
    /// `Ok(true)` when it is now waiting.
    fn start(&mut self, input: Waiting, batch: &mut Batch) -> Result<bool, Stop> {
        let Waiting {
            partition,
            offset,
            event,
        } = input;
        if self.is_poison(partition, offset) {
            self.skip_poison(partition, offset, event, batch);
            return Ok(false);
        }
        let mut credentials = None;
        if let Some(work) = self.game.credential_work(&event, Timestamp::now()) {
            if self.hashes.submit(event.handle, work).is_ok() {
                self.progress(partition).defer(offset);
                self.waiting.entry(event.handle).or_default().push_front(Waiting {
                    partition,
                    offset,
                    event,
                });
                return Ok(true);
            }
            self.metrics.logins_refused_busy.inc();
            credentials = Some(Credentials::Unavailable);
        }
        self.apply(partition, offset, Some(event), credentials, batch)
            .map(|()| false)
    }

    /// A login's password work is done: applies the login, then the connection's inputs that
    /// waited behind it, up to the next login that needs work.
    fn login_done(&mut self, done: Done, batch: &mut Batch) -> Result<(), Stop> {
        let handle = done.handle;
        let Some(login) = self.waiting.get_mut(&handle).and_then(VecDeque::pop_front) else {
            return Ok(());
        };
        self.apply(
            login.partition,
            login.offset,
            Some(login.event),
            Some(done.credentials),
            batch,
        )?;
        loop {
            let Some(next) = self.waiting.get_mut(&handle).and_then(VecDeque::pop_front) else {
                self.waiting.remove(&handle);
                return Ok(());
            };
            if self.start(next, batch)? {
                return Ok(());
            }
        }
    }

    fn is_poison(&self, partition: i32, offset: i64) -> bool {
        self.attempts
            .get(&(partition, offset))
            .is_some_and(|n| *n >= self.poison_attempts)
    }

    /// Skips an input that the game-server started and never finished too often: its player
    /// is told, and it is committed as applied with nothing else done.
    fn skip_poison(&mut self, partition: i32, offset: i64, event: GatewayEvent, batch: &mut Batch) {
        let tries = self.attempts.remove(&(partition, offset)).unwrap_or(0);
        self.metrics.poison_skipped.inc();
        let line = match &event.kind {
            GatewayEventKind::Input { line } => crate::game::redact_for_log(line),
            other => other.label().to_owned(),
        };
        tracing::error!(
            partition,
            offset,
            handle = %event.handle,
            tries,
            input = %line,
            "skipping an input that was started {tries} times and never finished"
        );
        let span = spans::input_span(&event, partition, offset);
        let _entered = span.enter();
        let mut effects = Effects::default();
        if matches!(event.kind, GatewayEventKind::Input { .. }) {
            effects.text(
                vec![event.handle],
                format!(
                    "*** Your command could not be run: the game stopped {tries} times while running it. It \
                     was skipped. ***"
                ),
            );
        }
        self.add_to_batch(
            partition,
            offset,
            Some(&event),
            effects,
            batch,
            Instant::now(),
            &span,
        );
    }

    /// Applies one input in memory (the game is watched: a panic stops the loop, to be
    /// recorded as an attempt) and adds its effects to the batch.
    fn apply(
        &mut self,
        partition: i32,
        offset: i64,
        event: Option<GatewayEvent>,
        credentials: Option<Credentials>,
        batch: &mut Batch,
    ) -> Result<(), Stop> {
        let started = Instant::now();
        // The input's span: the game runs it and builds its output inside (see `spans`).
        let span = match &event {
            Some(ev) => spans::input_span(ev, partition, offset),
            None => Span::none(),
        };
        let _entered = span.enter();
        let effects = match &event {
            Some(ev) => {
                self.in_flight.begin(partition, offset);
                let fault = self.fault_injection;
                let game = &mut *self.game;
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    if fault {
                        inject_fault(ev);
                    }
                    game.handle_with(ev, Timestamp::now(), credentials)
                }));
                self.in_flight.end();
                result.map_err(|_| Stop::Crashed(partition, offset))?
            }
            None => Effects::default(),
        };
        self.add_to_batch(partition, offset, event.as_ref(), effects, batch, started, &span);
        Ok(())
    }

    /// Adds an applied input to the batch: its world changes, logins, output and applied mark
    /// (the partition's low offset moves on in memory now; nothing is visible before the commit).
    /// Called inside the input's `span`, which the batch keeps until the output is produced.
    #[allow(clippy::too_many_arguments)]
    fn add_to_batch(
        &mut self,
        partition: i32,
        offset: i64,
        event: Option<&GatewayEvent>,
        mut effects: Effects,
        batch: &mut Batch,
        started: Instant,
        span: &Span,
    ) {
        for write in std::mem::take(&mut effects.state) {
            match write {
                StateWrite::Bind { handle, player } => batch.write.bindings.push((handle, Some(player))),
                StateWrite::Unbind { handle } => batch.write.bindings.push((handle, None)),
                StateWrite::Field { handle, name, value } => self.store.update(handle, name, value),
            }
        }
        let output = match event {
            Some(ev) => output::build_messages(
                std::mem::take(&mut effects.output),
                ev,
                partition,
                offset,
                self.max_message_bytes,
            ),
            None => Vec::new(),
        };
        if let Some(why) = effects.stopped {
            self.metrics.line_stops.inc(why.label());
        }
        if effects.quota_refused {
            self.metrics.quota_refusals.inc();
        }
        let progress = self.progress(partition);
        let low = progress.low_once_applied(offset);
        progress.applied(offset, low);
        self.attempts.remove(&(partition, offset));
        batch.write.set_low(partition, low);
        batch.write.changes.extend(effects.changes);
        batch.write.inputs.push(InputWrite {
            partition,
            offset,
            output,
        });
        let label = match event.map(|e| &e.kind) {
            None => "undecodable",
            Some(GatewayEventKind::Input { .. }) => effects.label.unwrap_or("other"),
            Some(other) => other.label(),
        };
        batch.measures.push((label, started, span.clone()));
    }

    /// Commits a batch (retrying while Redis fails), then produces its output.
    async fn commit(&mut self, batch: Batch, shutdown: &Shutdown) -> Result<(), Stop> {
        if batch.write.is_empty() {
            return Ok(());
        }
        self.metrics.batch_size.observe(batch.len() as f64);
        let span = spans::commit_span(batch.measures.iter().map(|(_, _, span)| span));
        if !self.persist(&batch.write, shutdown).instrument(span).await? {
            return Ok(());
        }
        for (input, (label, started, span)) in batch.write.inputs.into_iter().zip(batch.measures) {
            if !input.output.is_empty() {
                self.produce(input.partition, input.offset, input.output);
            }
            self.commands.record(label, started.elapsed().as_secs_f64());
            // The input's span ends here: applied, committed, its output with the producer.
            drop(span);
        }
        self.metrics.connections.set(self.game.connection_count() as i64);
        self.metrics
            .logged_in_players
            .set(self.game.logged_in_count() as i64);
        Ok(())
    }

    /// Writes a batch in one fenced script, retrying while Redis fails. `Ok(false)` when it was
    /// found applied already by an earlier run: its output is not sent again.
    async fn persist(&self, batch: &BatchWrite, shutdown: &Shutdown) -> Result<bool, Stop> {
        // `Ok` ends the retrying (being fenced out included); `Err` is retried.
        let outcome = retry_notify(
            &PERSIST_RETRY,
            shutdown.token(),
            |attempt| async move {
                match self.world_store.commit(self.token, batch).await {
                    Ok(Commit::Applied) => Ok(Ok(true)),
                    // An earlier attempt of ours (after the first, an earlier one failed) landed
                    // though its answer never reached us (Redis paused, a timeout): the effects and
                    // the outbox entries are stored, so the output must still be produced.
                    // Skipping it here lost one answer per Redis pause.
                    Ok(Commit::AlreadyApplied) if attempt > 1 => Ok(Ok(true)),
                    Ok(Commit::AlreadyApplied) => {
                        tracing::warn!(
                            inputs = batch.inputs.len(),
                            "a batch was found applied already: its output is not sent again"
                        );
                        self.metrics.replays_skipped.inc_by(batch.inputs.len() as u64);
                        Ok(Ok(false))
                    }
                    Err(PersistError::Fenced) => Ok(Err(Stop::LeaseLost)),
                    Err(e) => Err(e),
                }
            },
            |_, e, delay| {
                self.metrics.world_write_failures.inc();
                tracing::warn!(inputs = batch.inputs.len(), error = %e, retry_in = ?delay, "persisting a batch failed");
            },
        )
        .await;
        // The policy never gives up: only a shutdown ends it without an outcome.
        outcome.unwrap_or(Err(Stop::Requested))
    }

    fn produce(&mut self, partition: i32, offset: i64, messages: Vec<GameMessage>) {
        let mut deliveries = Vec::with_capacity(messages.len());
        let mut ok = true;
        for m in &messages {
            match self.producer.enqueue_message(m, self.output_partitions) {
                Ok(d) => deliveries.push(d),
                Err(e) => {
                    tracing::warn!(error = %e, "output not accepted by the producer; will retry");
                    ok = false;
                }
            }
        }
        self.acks.push_back(Box::pin(async move {
            let results = futures::future::join_all(deliveries).await;
            let delivered = ok && results.iter().all(Result::is_ok);
            if !delivered {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            (partition, offset, messages, delivered)
        }));
    }

    /// A requested stop, once the batch in hand is done: waits for its output to be
    /// acknowledged (at most half the grace), then commits the offsets and flushes.
    async fn finish(&mut self, consumer: &Consumer, topic: &str, grace: Duration) {
        let _ = tokio::time::timeout(grace / 2, self.drain_acks()).await;
        self.clear_acked().await;
        self.commit_offsets(consumer, topic, true);
        let _ = self.producer.flush(Duration::from_secs(2)).await;
    }

    async fn drain_acks(&mut self) {
        while let Some((p, offset, _messages, ok)) = self.acks.next().await {
            if ok {
                self.acked.entry(p).or_default().push(offset);
            }
        }
    }

    async fn clear_acked(&mut self) {
        for (p, offsets) in std::mem::take(&mut self.acked) {
            if let Err(e) = self.world_store.clear_outbox(p, &offsets).await {
                tracing::debug!(error = %e, "outbox cleanup failed; retrying later");
                self.acked.entry(p).or_default().extend(offsets);
            }
        }
    }

    fn commit_offsets(&self, consumer: &Consumer, topic: &str, sync: bool) {
        for (p, progress) in &self.progress {
            let o = progress.low();
            if o < 0 {
                continue;
            }
            if let Err(e) = consumer.commit(topic, *p, o + 1, sync) {
                tracing::debug!(partition = p, error = %e, "offset commit failed");
            }
        }
    }

    async fn update_lag(&self, topic: &str) {
        for p in 0..self.partitions {
            if let Ok((low, high)) = self
                .producer
                .watermarks(topic, p, Duration::from_millis(500))
                .await
            {
                let next = self
                    .progress
                    .get(&p)
                    .filter(|pr| pr.low() >= 0)
                    .map_or(low, |pr| (pr.low() + 1).max(low));
                self.metrics
                    .input_lag
                    .with_label_values(&[&p.to_string()])
                    .set((high - next).max(0));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recreated_topic_is_noticed_and_a_normal_one_is_not() {
        let applied = HashMap::from([(0, 99), (1, 5), (2, 10)]);
        let ends = HashMap::from([(0, 100), (1, 3), (2, 10)]);
        assert_eq!(applied_past_end(&applied, &ends), vec![1, 2]);
    }
}
