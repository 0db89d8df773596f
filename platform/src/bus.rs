//! The Kafka bus (rdkafka): the only path between gateways and the game-server.
//!
//! Producers are idempotent (per-partition order kept with several requests in flight), linger at
//! most [`MAX_LINGER_MS`], compress with lz4 and disable Nagle. Consumers commit offsets by hand:
//! the game-server commits only what it has applied, so a restart resumes exactly after it.

use std::time::{Duration, Instant};

use prometheus::{Histogram, IntCounterVec};
pub use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

use mush_protocol::topics::{self, INPUT_PARTITIONER};
use mush_protocol::{GameMessage, GatewayEvent, Topics};

use crate::metrics::Metrics;

/// The longest a producer waits to batch messages: latency matters more than batch size here.
pub const MAX_LINGER_MS: u64 = 2;

/// Fetch wait for real brokers (long polling: they answer as soon as data arrives).
pub const DEFAULT_FETCH_WAIT_MS: u64 = 100;

/// Kafka flags shared by every binary.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (host:port,…).
    #[arg(
        long = "kafka-brokers",
        env = "MUSH_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Topic name prefix: topics are <prefix>.input and <prefix>.output.
    #[arg(long = "topic-prefix", env = "MUSH_TOPIC_PREFIX", default_value = topics::DEFAULT_PREFIX)]
    pub topic_prefix: String,
    /// Partitions of the input topic, when this process creates it.
    #[arg(long, env = "MUSH_INPUT_PARTITIONS", default_value_t = topics::DEFAULT_INPUT_PARTITIONS)]
    pub input_partitions: i32,
    /// Partitions of the output topic, when this process creates it (at least the number of gateways).
    #[arg(long, env = "MUSH_OUTPUT_PARTITIONS", default_value_t = topics::DEFAULT_OUTPUT_PARTITIONS)]
    pub output_partitions: i32,
    /// Create missing topics at start through the Admin API (skipped if the broker cannot).
    #[arg(long, env = "MUSH_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub create_topics: bool,
    /// Replicas of each partition of a topic this process creates (default: 1, one broker).
    #[arg(long = "topic-replication", env = "MUSH_TOPIC_REPLICATION")]
    pub topic_replication: Option<i32>,
    /// `retention.ms` of the input topic, when this process creates it (default: the broker's).
    #[arg(long = "input-retention-ms", env = "MUSH_INPUT_RETENTION_MS")]
    pub input_retention_ms: Option<i64>,
    /// `retention.ms` of the output topic, when this process creates it (default: the broker's).
    #[arg(long = "output-retention-ms", env = "MUSH_OUTPUT_RETENTION_MS")]
    pub output_retention_ms: Option<i64>,
    /// Producer linger (ms), at most 2. 0 sends at once; under load messages still batch while
    /// earlier requests are in flight.
    #[arg(long = "kafka-linger-ms", env = "MUSH_KAFKA_LINGER_MS", default_value_t = 0)]
    pub linger_ms: u64,
    /// How long the broker may hold a fetch waiting for data (ms). A real Kafka or Redpanda
    /// broker answers as soon as data arrives, so a long wait costs no latency and spares the
    /// broker; librdkafka's mock cluster (the development broker of `mush up` and the tests)
    /// always waits the whole time, so use 1 (or 0: fastest, about half a core per process) there.
    #[arg(
        long = "kafka-fetch-wait-ms",
        env = "MUSH_KAFKA_FETCH_WAIT_MS",
        default_value_t = DEFAULT_FETCH_WAIT_MS
    )]
    pub fetch_wait_ms: u64,
    /// Extra librdkafka settings as key=value (e.g. security.protocol=SASL_SSL). Repeatable.
    /// Secrets (sasl.password) are better given through MUSH_KAFKA_OPTIONS in the environment.
    #[arg(long = "kafka-option", env = "MUSH_KAFKA_OPTIONS", value_delimiter = ',', value_parser = parse_option)]
    pub options: Vec<(String, String)>,
}

fn parse_option(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("'{s}' is not key=value")),
    }
}

impl KafkaArgs {
    pub fn for_brokers(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            topic_prefix: topics::DEFAULT_PREFIX.to_owned(),
            input_partitions: topics::DEFAULT_INPUT_PARTITIONS,
            output_partitions: topics::DEFAULT_OUTPUT_PARTITIONS,
            create_topics: true,
            topic_replication: None,
            input_retention_ms: None,
            output_retention_ms: None,
            linger_ms: 0,
            // The mock cluster holds every fetch for the whole wait: keep it short.
            fetch_wait_ms: 1,
            options: Vec::new(),
        }
    }

    pub fn topics(&self) -> Topics {
        Topics::new(&self.topic_prefix)
    }

    /// Checks the settings that would otherwise fail later, with a message that says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.trim().is_empty() {
            return Err("--kafka-brokers is empty".into());
        }
        if self.linger_ms > MAX_LINGER_MS {
            return Err(format!(
                "--kafka-linger-ms {} is above {MAX_LINGER_MS}: it would add that much to every command",
                self.linger_ms
            ));
        }
        if self.input_partitions < 1 || self.output_partitions < 1 {
            return Err("topic partition counts must be at least 1".into());
        }
        Ok(())
    }

    fn base(&self, client_id: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            .set("socket.nagle.disable", "true")
            .set("log_level", "4");
        c
    }

    /// The user's `--kafka-option` settings win over ours.
    fn with_overrides(&self, mut c: ClientConfig) -> ClientConfig {
        for (k, v) in &self.options {
            c.set(k, v);
        }
        c
    }

    /// Producer settings (see the module doc).
    pub fn producer_config(&self, client_id: &str) -> ClientConfig {
        let mut c = self.base(client_id);
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger_ms.min(MAX_LINGER_MS).to_string())
            .set("compression.type", "lz4")
            .set("partitioner", INPUT_PARTITIONER);
        self.with_overrides(c)
    }

    /// Consumer settings: manual commits only, start from the earliest uncommitted input.
    pub fn consumer_config(&self, client_id: &str, group: &str) -> ClientConfig {
        let mut c = self.base(client_id);
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", self.fetch_wait_ms.to_string())
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false");
        self.with_overrides(c)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("output message has no target")]
    NoTarget,
    #[error("topic {0} does not exist")]
    NoSuchTopic(String),
    #[error("a blocking Kafka call failed: {0}")]
    Join(String),
}

/// Producer metrics under the process prefix.
#[derive(Clone)]
pub struct BusMetrics {
    produce_seconds: Histogram,
    produce_errors: IntCounterVec,
}

impl BusMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            produce_seconds: metrics.histogram(
                "kafka_produce_seconds",
                "Time from handing a message to the producer to the broker's acknowledgement.",
            ),
            produce_errors: metrics.counter_vec(
                "kafka_produce_errors_total",
                "Messages the broker did not accept, by topic.",
                &["topic"],
            ),
        }
    }
}

/// A message handed to the producer; resolves on the broker's acknowledgement.
pub type PendingDelivery = std::pin::Pin<Box<dyn Future<Output = Result<Delivered, BusError>> + Send>>;

/// Where a produced message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    topics: Topics,
    metrics: BusMetrics,
    queue_timeout: Duration,
}

impl Producer {
    pub fn new(args: &KafkaArgs, client_id: &str, metrics: BusMetrics) -> Result<Self, BusError> {
        let topics = args.topics();
        for t in [&topics.input, &topics.output] {
            metrics.produce_errors.with_label_values(&[t]);
        }
        Ok(Self {
            inner: args.producer_config(client_id).create()?,
            topics,
            metrics,
            queue_timeout: Duration::from_secs(1),
        })
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Produces raw bytes. `partition: None` lets the key choose (murmur2).
    pub async fn send(
        &self,
        topic: &str,
        key: &[u8],
        partition: Option<i32>,
        payload: &[u8],
    ) -> Result<Delivered, BusError> {
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        let started = Instant::now();
        match self.inner.send(record, self.queue_timeout).await {
            Ok(d) => {
                self.metrics
                    .produce_seconds
                    .observe(started.elapsed().as_secs_f64());
                Ok(Delivered {
                    partition: d.partition,
                    offset: d.offset,
                })
            }
            Err((e, _)) => {
                self.metrics.produce_errors.with_label_values(&[topic]).inc();
                Err(e.into())
            }
        }
    }

    /// Hands a message to the producer without waiting for the broker, so a caller can keep
    /// several in flight (order per partition is kept: the producer is idempotent). Fails at once
    /// only when the producer's own queue is full. The returned future resolves on the broker's
    /// acknowledgement, or on failure once librdkafka gives up (`message.timeout.ms`).
    pub fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        partition: Option<i32>,
        payload: &[u8],
    ) -> Result<PendingDelivery, BusError> {
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        let started = Instant::now();
        let metrics = self.metrics.clone();
        let topic = topic.to_owned();
        let delivery = match self.inner.send_result(record) {
            Ok(d) => d,
            Err((e, _)) => {
                metrics.produce_errors.with_label_values(&[&topic]).inc();
                return Err(e.into());
            }
        };
        Ok(Box::pin(async move {
            match delivery.await {
                Ok(Ok(d)) => {
                    metrics.produce_seconds.observe(started.elapsed().as_secs_f64());
                    Ok(Delivered {
                        partition: d.partition,
                        offset: d.offset,
                    })
                }
                Ok(Err((e, _))) => {
                    metrics.produce_errors.with_label_values(&[&topic]).inc();
                    Err(e.into())
                }
                Err(_) => Err(BusError::Kafka(KafkaError::Canceled)),
            }
        }))
    }

    /// [`Producer::enqueue`] for a gateway event (input topic, keyed by handle).
    pub fn enqueue_event(&self, event: &GatewayEvent) -> Result<PendingDelivery, BusError> {
        self.enqueue(&self.topics.input, &event.handle.to_key(), None, &event.encode())
    }

    /// [`Producer::enqueue`] for a game message (the output partition of its targets' gateway).
    pub fn enqueue_message(
        &self,
        message: &GameMessage,
        output_partitions: i32,
    ) -> Result<PendingDelivery, BusError> {
        let first = *message.targets.first().ok_or(BusError::NoTarget)?;
        let partition = topics::output_partition(first.slot(), output_partitions);
        self.enqueue(
            &self.topics.output,
            &first.to_key(),
            Some(partition),
            &message.encode(),
        )
    }

    /// Gateway → game: to the input topic, keyed by handle.
    pub async fn send_event(&self, event: &GatewayEvent) -> Result<Delivered, BusError> {
        self.send(&self.topics.input, &event.handle.to_key(), None, &event.encode())
            .await
    }

    /// Game → gateway: to the output partition of the targets' gateway. All targets must share
    /// one gateway (split with [`mush_protocol::topics::group_by_gateway`] first).
    pub async fn send_message(
        &self,
        message: &GameMessage,
        output_partitions: i32,
    ) -> Result<Delivered, BusError> {
        let first = *message.targets.first().ok_or(BusError::NoTarget)?;
        debug_assert!(message.targets.iter().all(|h| h.slot() == first.slot()));
        let partition = topics::output_partition(first.slot(), output_partitions);
        self.send(
            &self.topics.output,
            &first.to_key(),
            Some(partition),
            &message.encode(),
        )
        .await
    }

    /// Waits until everything queued has been delivered (or `timeout`).
    pub async fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        let p = self.inner.clone();
        tokio::task::spawn_blocking(move || p.flush(timeout))
            .await
            .map_err(|e| BusError::Join(e.to_string()))?
            .map_err(Into::into)
    }

    /// Messages handed to the producer and not yet acknowledged.
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// The number of partitions of `topic`, from the broker's metadata.
    pub async fn partition_count(&self, topic: &str, timeout: Duration) -> Result<i32, BusError> {
        let p = self.inner.clone();
        let name = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let md = p.client().fetch_metadata(Some(&name), timeout)?;
            match md.topics().iter().find(|t| t.name() == name) {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                    Ok(t.partitions().len() as i32)
                }
                _ => Err(BusError::NoSuchTopic(name)),
            }
        })
        .await
        .map_err(|e| BusError::Join(e.to_string()))?
    }

    /// The low and high watermarks of one partition (the high one is the next offset written).
    pub async fn watermarks(
        &self,
        topic: &str,
        partition: i32,
        timeout: Duration,
    ) -> Result<(i64, i64), BusError> {
        let p = self.inner.clone();
        let name = topic.to_owned();
        tokio::task::spawn_blocking(move || p.client().fetch_watermarks(&name, partition, timeout))
            .await
            .map_err(|e| BusError::Join(e.to_string()))?
            .map_err(Into::into)
    }

    /// A readiness check body: the broker answers a metadata request.
    pub async fn check_metadata(&self, timeout: Duration) -> Result<(), String> {
        let p = self.inner.clone();
        tokio::task::spawn_blocking(move || p.client().fetch_metadata(None, timeout).map(|_| ()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("no metadata from the broker: {e}"))
    }
}

/// One consumed message, owned.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

pub struct Consumer {
    inner: StreamConsumer,
}

impl Consumer {
    /// A group member subscribed to `topics` (partitions are shared out among the group).
    pub fn subscribe(
        args: &KafkaArgs,
        client_id: &str,
        group: &str,
        topics: &[&str],
    ) -> Result<Self, BusError> {
        let inner: StreamConsumer = args.consumer_config(client_id, group).create()?;
        inner.subscribe(topics)?;
        Ok(Self { inner })
    }

    /// A consumer of exactly one partition (a gateway reading its own output partition).
    pub fn assign(
        args: &KafkaArgs,
        client_id: &str,
        group: &str,
        topic: &str,
        partition: i32,
        from: Offset,
    ) -> Result<Self, BusError> {
        let inner: StreamConsumer = args.consumer_config(client_id, group).create()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, from)?;
        inner.assign(&tpl)?;
        Ok(Self { inner })
    }

    /// A consumer of chosen partitions of one topic, each from a given offset, with no group
    /// rebalancing: for a single active reader (the game-server, fenced by its lease) that keeps
    /// its own positions. Commits still go to `group`, for lag tools.
    pub fn assign_partitions(
        args: &KafkaArgs,
        client_id: &str,
        group: &str,
        topic: &str,
        partitions: &[(i32, Offset)],
    ) -> Result<Self, BusError> {
        let inner: StreamConsumer = args.consumer_config(client_id, group).create()?;
        let mut tpl = TopicPartitionList::new();
        for (partition, from) in partitions {
            tpl.add_partition_offset(topic, *partition, *from)?;
        }
        inner.assign(&tpl)?;
        Ok(Self { inner })
    }

    /// The next message. Errors that pass by themselves (a topic not created yet, a broker
    /// restarting) are logged and waited out; only lasting errors are returned.
    pub async fn recv(&self) -> Result<Record, BusError> {
        loop {
            match self.inner.recv().await {
                Ok(m) => {
                    return Ok(Record {
                        topic: m.topic().to_owned(),
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    });
                }
                Err(e) if is_transient(&e) => {
                    tracing::debug!(error = %e, "transient consumer error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Commits `next_offset` (the offset of the next message to read) for one partition.
    pub fn commit(&self, topic: &str, partition: i32, next_offset: i64, sync: bool) -> Result<(), BusError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(next_offset))?;
        let mode = if sync { CommitMode::Sync } else { CommitMode::Async };
        self.inner.commit(&tpl, mode)?;
        Ok(())
    }

    /// The partitions currently assigned to this consumer.
    pub fn assigned_partitions(&self) -> Result<Vec<(String, i32)>, BusError> {
        Ok(self
            .inner
            .assignment()?
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect())
    }

    pub fn inner(&self) -> &StreamConsumer {
        &self.inner
    }
}

fn is_transient(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::OperationTimedOut
        )
    )
}

/// What [`ensure_topics`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicsOutcome {
    /// Both topics exist now; the names it had to create.
    Ready { created: Vec<String> },
    /// The broker would not create topics (no Admin API, or no answer); the reason.
    Skipped(String),
}

/// One topic as [`ensure_topics`] would create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedTopic {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    /// `retention.ms`; `None` leaves the broker's default.
    pub retention_ms: Option<i64>,
}

/// The two topics at the configured partition counts, replication (`replication` unless
/// `--topic-replication` is given) and retention.
pub fn wanted_topics(args: &KafkaArgs, replication: i32) -> [WantedTopic; 2] {
    let t = args.topics();
    let replication = args.topic_replication.unwrap_or(replication);
    [
        WantedTopic {
            name: t.input.clone(),
            partitions: args.input_partitions,
            replication,
            retention_ms: args.input_retention_ms,
        },
        WantedTopic {
            name: t.output.clone(),
            partitions: args.output_partitions,
            replication,
            retention_ms: args.output_retention_ms,
        },
    ]
}

/// Creates the input and output topics if missing, through the Admin API, as
/// [`wanted_topics`] says (`replication` unless `--topic-replication` is given). Existing topics
/// are left as they are (a smaller count is logged).
pub async fn ensure_topics(
    args: &KafkaArgs,
    replication: i32,
    timeout: Duration,
) -> Result<TopicsOutcome, BusError> {
    let admin: AdminClient<DefaultClientContext> = args.with_overrides(args.base("mush-admin")).create()?;
    let topics = wanted_topics(args, replication);
    let retentions: Vec<Option<String>> = topics
        .iter()
        .map(|t| t.retention_ms.map(|ms| ms.to_string()))
        .collect();
    let existing: Vec<(String, usize)> = {
        let md = admin.inner().fetch_metadata(None, timeout)?;
        md.topics()
            .iter()
            .map(|t| (t.name().to_owned(), t.partitions().len()))
            .collect()
    };
    let mut missing = Vec::new();
    for (topic, retention) in topics.iter().zip(&retentions) {
        let (name, partitions) = (&topic.name, topic.partitions);
        match existing.iter().find(|(n, _)| n == name) {
            Some((_, have)) if (*have as i32) < partitions => {
                tracing::warn!(topic = %name, have, want = partitions, "topic has fewer partitions than configured");
            }
            Some(_) => {}
            None => {
                let mut new = NewTopic::new(name, partitions, TopicReplication::Fixed(topic.replication));
                if let Some(ms) = retention {
                    new = new.set("retention.ms", ms);
                }
                missing.push(new);
            }
        }
    }
    if missing.is_empty() {
        return Ok(TopicsOutcome::Ready { created: vec![] });
    }
    let opts = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = match tokio::time::timeout(
        timeout + Duration::from_secs(1),
        admin.create_topics(&missing, &opts),
    )
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Ok(TopicsOutcome::Skipped(format!("CreateTopics failed: {e}"))),
        Err(_) => {
            return Ok(TopicsOutcome::Skipped(
                "the broker did not answer CreateTopics".into(),
            ));
        }
    };
    let mut created = Vec::new();
    for r in results {
        match r {
            Ok(name) => created.push(name),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %name, "created meanwhile")
            }
            Err((name, code)) => {
                return Ok(TopicsOutcome::Skipped(format!("creating {name}: {code}")));
            }
        }
    }
    Ok(TopicsOutcome::Ready { created })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &ClientConfig, k: &str) -> String {
        c.get(k).unwrap_or_default().to_owned()
    }

    #[test]
    fn producers_are_idempotent_fast_and_compressed() {
        let c = KafkaArgs::for_brokers("b:9092").producer_config("gw");
        assert_eq!(get(&c, "enable.idempotence"), "true");
        assert_eq!(get(&c, "compression.type"), "lz4");
        assert_eq!(get(&c, "socket.nagle.disable"), "true");
        assert_eq!(get(&c, "partitioner"), INPUT_PARTITIONER);
        assert!(get(&c, "linger.ms").parse::<u64>().unwrap() <= MAX_LINGER_MS);
    }

    #[test]
    fn created_topics_take_the_configured_replication_and_retention() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            kafka: KafkaArgs,
        }
        let defaults = wanted_topics(&KafkaArgs::for_brokers("b:9092"), 1);
        assert_eq!(defaults[0].name, "mush.input");
        assert_eq!((defaults[0].replication, defaults[0].retention_ms), (1, None));
        let cli: Cli = clap::Parser::try_parse_from([
            "x",
            "--topic-replication",
            "3",
            "--input-retention-ms",
            "604800000",
            "--output-retention-ms",
            "86400000",
        ])
        .unwrap();
        let [input, output] = wanted_topics(&cli.kafka, 1);
        assert_eq!(
            (input.partitions, input.replication, input.retention_ms),
            (topics::DEFAULT_INPUT_PARTITIONS, 3, Some(604_800_000))
        );
        assert_eq!((output.replication, output.retention_ms), (3, Some(86_400_000)));
    }

    #[test]
    fn consumers_commit_by_hand() {
        let c = KafkaArgs::for_brokers("b:9092").consumer_config("game", "mush-game");
        assert_eq!(get(&c, "enable.auto.commit"), "false");
        assert_eq!(get(&c, "enable.auto.offset.store"), "false");
        assert_eq!(get(&c, "group.id"), "mush-game");
    }

    #[test]
    fn extra_options_apply_and_bad_settings_are_refused_with_a_reason() {
        let mut args = KafkaArgs::for_brokers("b:9092");
        args.options = vec![parse_option("security.protocol=SASL_SSL").unwrap()];
        assert_eq!(get(&args.producer_config("x"), "security.protocol"), "SASL_SSL");
        assert!(parse_option("nonsense").is_err());
        args.linger_ms = 16;
        assert!(args.validate().unwrap_err().contains("linger"));
        args.linger_ms = 1;
        args.brokers = " ".into();
        assert!(args.validate().is_err());
    }
}
