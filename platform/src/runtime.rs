//! What every server does the same way: its boot sequence and its phased stop.
//!
//! Boot, in this order (each step's result is what the next needs):
//! 1. [`Server::boot`]: validate the configuration and print it; SIGTERM / SIGINT start draining.
//! 2. [`Server::serve_health`]: `/livez`, `/readyz`, `/metrics` (and the server's own routes),
//!    with the Redis and Kafka readiness checks ("not connected yet" until they are).
//! 3. [`Server::connect_redis`]: retried until Redis answers or the server is told to stop.
//! 4. [`Server::connect_kafka`]: the producer, and the topics created when asked to.
//! 5. [`Server::acquire`]: a lease (a gateway slot, or the game's leadership, where a second
//!    instance waits as a standby), tried again until held or told to stop.
//! 6. [`Server::partition_count`]: a topic's partitions, once the topic can be read.
//!
//! Stop, in phases ([`Phases`]): **drain** (take no new work: players, inputs), **close** (end the
//! work in hand: connections, the batch), **stop** (the background: health server, lease keeper,
//! flushers). Each phase is a [`Shutdown`] whose token is a child of the next one, so a later
//! phase always implies the earlier ones: stopping closes and drains too.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;

use crate::bus::{BusMetrics, KafkaArgs, Producer, TopicsOutcome, ensure_topics};
use crate::deps::Dependencies;
use crate::health::Health;
use crate::redis::RedisArgs;
use crate::retry::{RetryPolicy, retry_notify};
use crate::sealing::{InputKeyArgs, InputKeys};
use crate::shutdown::{Drained, Shutdown};

/// Waiting at start-up for a topic's partitions: every second until told to stop.
const TOPIC_RETRY: RetryPolicy = RetryPolicy::constant(Duration::from_secs(1));

/// The three phases of a server's stop, each a [`Shutdown`] (a token and the tasks it tracks).
#[derive(Debug, Clone)]
pub struct Phases {
    /// Take no new work. SIGTERM and SIGINT trigger it; so may the server (a lost lease, a
    /// `POST /drain`).
    pub drain: Shutdown,
    /// End the work in hand; implies `drain`.
    pub close: Shutdown,
    /// Stop the background tasks; implies `close` and `drain`.
    pub stop: Shutdown,
}

impl Phases {
    pub fn new() -> Self {
        let stop = Shutdown::new();
        let close = stop.child();
        let drain = close.child();
        Self { drain, close, stop }
    }

    /// Closes: ends the work in hand and waits for its tasks, at most `grace`.
    pub async fn close(&self, grace: Duration) -> Drained {
        self.close.trigger();
        self.close.wait(grace).await
    }

    /// Stops the background tasks and waits for them, at most `grace`.
    pub async fn stop(&self, grace: Duration) -> Drained {
        self.stop.trigger();
        let drained = self.stop.wait(grace).await;
        if let Drained::TimedOut(running) = drained {
            tracing::warn!(running, "background tasks still running at exit");
        }
        drained
    }
}

impl Default for Phases {
    fn default() -> Self {
        Self::new()
    }
}

/// One server process being booted and run: its metrics registry, its phases and the
/// dependencies its readiness checks watch.
pub struct Server {
    /// The process's name in logs ("connection-server", "game-server").
    pub name: &'static str,
    pub registry: prometheus::Registry,
    pub phases: Phases,
    pub deps: Dependencies,
}

impl Server {
    /// Checks the configuration (`validated` is its verdict), prints it, and starts listening
    /// for SIGTERM / SIGINT, which trigger [`Phases::drain`].
    pub fn boot(
        name: &'static str,
        validated: Result<(), impl Display>,
        summary: impl Display,
    ) -> anyhow::Result<Self> {
        validated.map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        tracing::info!(config = %summary, "{name} starting");
        let phases = Phases::new();
        phases.drain.listen_for_signals()?;
        Ok(Self {
            name,
            registry: prometheus::Registry::new(),
            phases,
            deps: Dependencies::default(),
        })
    }

    /// The keys that seal input lines, from `--input-key`, and which one is in use (in logs).
    pub fn input_keys(&self, args: &InputKeyArgs) -> anyhow::Result<InputKeys> {
        let keys = args
            .keys()
            .map_err(|e| anyhow::anyhow!("invalid configuration: --input-key: {e}"))?;
        match &keys.current {
            Some(key) => tracing::info!(
                key_id = format!("{:08x}", key.id()),
                "input lines are sealed with this key"
            ),
            None => tracing::warn!(
                "no --input-key (MUSH_INPUT_KEY): input lines, passwords included, travel in clear on the input topic"
            ),
        }
        Ok(keys)
    }

    /// A health endpoint over this server's registry, with its own checks still to add.
    pub fn health(&self) -> Health {
        Health::new(self.registry.clone())
    }

    /// Serves `health` (plus the Redis and Kafka readiness checks) and the server's own `routes`
    /// on `addr` until [`Phases::stop`].
    pub async fn serve_health(
        &self,
        addr: SocketAddr,
        health: Health,
        routes: Option<Router>,
    ) -> anyhow::Result<()> {
        let mut router = self.deps.add_checks(health).router();
        if let Some(routes) = routes {
            router = router.merge(routes);
        }
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the health address {addr}"))?;
        self.phases
            .stop
            .spawn(Health::serve(router, listener, self.phases.stop.clone()));
        Ok(())
    }

    /// Redis, retried until it answers; `None` when told to drain first.
    pub async fn connect_redis(&self, args: &RedisArgs) -> Option<fred::prelude::Client> {
        let client = crate::redis::connect_with_retry(args, self.phases.drain.token()).await?;
        self.deps.set_redis(client.clone());
        Some(client)
    }

    /// The Kafka producer; with `--create-topics`, the topics too (a broker that will not create
    /// them is logged, not fatal: they may be made by someone else).
    pub async fn connect_kafka(
        &self,
        args: &KafkaArgs,
        client_id: &str,
        metrics: BusMetrics,
    ) -> anyhow::Result<Producer> {
        let producer = Producer::new(args, client_id, metrics)?;
        self.deps.set_kafka(producer.clone());
        if args.create_topics {
            match ensure_topics(args, 1, Duration::from_secs(5)).await {
                Ok(TopicsOutcome::Ready { created }) if !created.is_empty() => {
                    tracing::info!(?created, "created topics")
                }
                Ok(TopicsOutcome::Skipped(why)) => tracing::info!(%why, "topics not created here"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not check topics"),
            }
        }
        Ok(producer)
    }

    /// Tries `attempt` until it gives a `T` (a lease held), waiting by `policy` in between;
    /// `waiting` hears why before each wait (`None`: someone else holds it; `Some`: an error).
    /// `None` when told to drain first.
    pub async fn acquire<T, E, F, Fut>(
        &self,
        policy: &RetryPolicy,
        mut attempt: F,
        mut waiting: impl FnMut(Option<&E>),
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        retry_notify(
            policy,
            self.phases.drain.token(),
            |_| {
                let attempt = attempt();
                async move {
                    match attempt.await {
                        Ok(Some(held)) => Ok(held),
                        Ok(None) => Err(None),
                        Err(e) => Err(Some(e)),
                    }
                }
            },
            |_, e, _| waiting(e.as_ref()),
        )
        .await
        .ok()
    }

    /// The topic's partition count, once it can be read; `None` when told to drain first.
    pub async fn partition_count(&self, producer: &Producer, topic: &str) -> Option<i32> {
        retry_notify(
            &TOPIC_RETRY,
            self.phases.drain.token(),
            |_| producer.partition_count(topic, Duration::from_secs(5)),
            |_, e, _| tracing::warn!(%topic, error = %e, "waiting for the topic"),
        )
        .await
        .ok()
    }

    /// The end of a boot cut short (told to stop while waiting for a dependency): the
    /// background stops and the process exits cleanly.
    pub async fn stopped_while_booting(&self, waiting_for: &str) -> anyhow::Result<()> {
        tracing::info!("{} stopped while waiting for {waiting_for}", self.name);
        self.phases.stop(Duration::from_secs(5)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_phase_implies_the_earlier_ones_and_not_the_later() {
        let phases = Phases::new();
        phases.drain.trigger();
        assert!(phases.drain.is_triggered());
        assert!(
            !phases.close.is_triggered(),
            "draining leaves the work in hand going"
        );
        assert!(!phases.stop.is_triggered());

        let phases = Phases::new();
        phases.close(Duration::from_millis(10)).await;
        assert!(phases.drain.is_triggered(), "closing takes no new work either");
        assert!(!phases.stop.is_triggered(), "closing leaves the background going");

        let phases = Phases::new();
        phases.stop(Duration::from_millis(10)).await;
        assert!(phases.drain.is_triggered() && phases.close.is_triggered());
    }

    #[tokio::test]
    async fn each_phase_waits_only_for_its_own_tasks() {
        let phases = Phases::new();
        let background = phases.stop.clone();
        phases.stop.spawn(async move { background.triggered().await });
        let close = phases.close.clone();
        phases.close.spawn(async move { close.triggered().await });
        assert_eq!(phases.close(Duration::from_secs(5)).await, Drained::AllDone);
        assert!(
            !phases.stop.is_triggered(),
            "the background task is still running after the close phase"
        );
        assert_eq!(phases.stop(Duration::from_secs(5)).await, Drained::AllDone);
    }

    #[tokio::test]
    async fn acquire_retries_until_held_and_says_why_it_waits() {
        let server = Server::boot("test", Ok::<(), String>(()), "test").unwrap();
        let mut tries = 0;
        let mut heard = Vec::new();
        let held = server
            .acquire(
                &RetryPolicy::constant(Duration::from_millis(1)),
                || {
                    tries += 1;
                    let outcome = match tries {
                        1 => Err("redis away"),
                        2 => Ok(None),
                        _ => Ok(Some(tries)),
                    };
                    async move { outcome }
                },
                |why| heard.push(why.map(|e| e.to_string())),
            )
            .await;
        assert_eq!(held, Some(3));
        assert_eq!(heard, vec![Some("redis away".to_string()), None]);
    }

    #[tokio::test]
    async fn acquire_gives_up_when_told_to_drain() {
        let server = Server::boot("test", Ok::<(), String>(()), "test").unwrap();
        let drain = server.phases.drain.clone();
        let held: Option<()> = server
            .acquire(
                &RetryPolicy::constant(Duration::from_millis(5)),
                || {
                    drain.trigger();
                    async { Ok::<_, String>(None) }
                },
                |_| {},
            )
            .await;
        assert_eq!(held, None);
    }

    #[test]
    fn a_configuration_that_does_not_validate_stops_the_boot() {
        let err = Server::boot("test", Err("--slots must be at least 1"), "x")
            .err()
            .expect("refused");
        assert_eq!(
            err.to_string(),
            "invalid configuration: --slots must be at least 1"
        );
    }
}
