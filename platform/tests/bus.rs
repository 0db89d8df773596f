//! The Kafka bus against librdkafka's mock cluster, over TCP, with the real rdkafka clients.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use mush_devstack::KafkaMock;
use mush_platform::bus::{BusMetrics, Consumer, Producer, Record};
use mush_platform::metrics::Metrics;
use mush_protocol::{GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Slot, topics};

fn producer(kafka: &KafkaMock, prefix: &str) -> Producer {
    let metrics = BusMetrics::new(&Metrics::new("mush_test", &prometheus::Registry::new()));
    Producer::new(&kafka.args(prefix), "test-producer", metrics).unwrap()
}

async fn recv(consumer: &Consumer) -> Record {
    tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("no message within 30 s")
        .expect("consumer error")
}

#[tokio::test]
async fn per_handle_order_holds_across_eight_partitions() {
    let kafka = KafkaMock::start("order", 8, 4);
    let producer = producer(&kafka, "order");
    let handles: Vec<Handle> = (0..37)
        .map(|n| Handle::new(Slot::new(n % 5).unwrap(), 1, n.into()).unwrap())
        .collect();
    const PER_HANDLE: usize = 40;

    // Many sends in flight at once, interleaved across handles, as a busy gateway produces.
    for seq in 0..PER_HANDLE {
        let sends = handles.iter().map(|h| {
            let ev = GatewayEvent::new(
                *h,
                GatewayEventKind::Input {
                    line: Bytes::from(seq.to_string()),
                },
            );
            let producer = producer.clone();
            async move { producer.send_event(&ev).await.unwrap() }
        });
        join_all(sends).await;
    }

    let consumer =
        Consumer::subscribe(&kafka.args("order"), "test-consumer", "g-order", &["order.input"]).unwrap();
    let mut next: HashMap<Handle, usize> = HashMap::new();
    let mut partitions_of: HashMap<Handle, BTreeSet<i32>> = HashMap::new();
    for _ in 0..handles.len() * PER_HANDLE {
        let rec = recv(&consumer).await;
        let ev = GatewayEvent::decode(&rec.payload).unwrap();
        assert_eq!(
            Handle::from_key(rec.key.as_deref().unwrap()),
            Some(ev.handle),
            "keyed by handle"
        );
        let GatewayEventKind::Input { line } = ev.kind else {
            panic!("not input")
        };
        let seq: usize = std::str::from_utf8(&line).unwrap().parse().unwrap();
        let expected = next.entry(ev.handle).or_default();
        assert_eq!(seq, *expected, "{} out of order", ev.handle);
        *expected += 1;
        partitions_of.entry(ev.handle).or_default().insert(rec.partition);
    }
    assert!(next.values().all(|n| *n == PER_HANDLE));
    assert!(
        partitions_of.values().all(|p| p.len() == 1),
        "one handle, one partition"
    );
    let used: BTreeSet<i32> = partitions_of.values().flatten().copied().collect();
    assert!(used.len() >= 6, "handles spread over the partitions: {used:?}");
}

#[tokio::test]
async fn a_new_group_member_resumes_exactly_after_the_last_commit() {
    let kafka = KafkaMock::start("resume", 4, 4);
    let producer = producer(&kafka, "resume");
    let handles: Vec<Handle> = (0..10)
        .map(|n| Handle::new(Slot::new(0).unwrap(), 1, n).unwrap())
        .collect();
    for i in 0..100u32 {
        let h = handles[i as usize % handles.len()];
        let ev = GatewayEvent::new(
            h,
            GatewayEventKind::Input {
                line: Bytes::from(i.to_string()),
            },
        );
        producer.send_event(&ev).await.unwrap();
    }
    let args = kafka.args("resume");
    let read = |rec: &Record| -> u32 {
        let GatewayEventKind::Input { line } = GatewayEvent::decode(&rec.payload).unwrap().kind else {
            panic!("not input")
        };
        std::str::from_utf8(&line).unwrap().parse().unwrap()
    };

    let mut seen = Vec::new();
    {
        let first = Consumer::subscribe(&args, "first", "g-resume", &["resume.input"]).unwrap();
        for _ in 0..40 {
            let rec = recv(&first).await;
            seen.push(read(&rec));
            first
                .commit(&rec.topic, rec.partition, rec.offset + 1, true)
                .unwrap();
        }
        // Read past the commit without committing: these must come again.
        for _ in 0..5 {
            recv(&first).await;
        }
    }

    let second = Consumer::subscribe(&args, "second", "g-resume", &["resume.input"]).unwrap();
    for _ in 0..60 {
        let rec = recv(&second).await;
        seen.push(read(&rec));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..100).collect::<Vec<_>>(),
        "nothing lost, nothing repeated"
    );
    let extra = tokio::time::timeout(Duration::from_millis(500), second.recv()).await;
    assert!(extra.is_err(), "no message delivered twice");
}

#[tokio::test]
async fn output_reaches_only_the_partition_of_the_targets_gateway() {
    let kafka = KafkaMock::start("out", 2, 4);
    let producer = producer(&kafka, "out");
    let slot = Slot::new(6).unwrap();
    let targets: Vec<Handle> = (1..=3).map(|n| Handle::new(slot, 2, n).unwrap()).collect();
    let msg = GameMessage::to(
        targets.clone(),
        GameMessageKind::Text {
            text: "Alice says, \"hi\"".into(),
        },
    );
    let delivered = producer.send_message(&msg, 4).await.unwrap();
    let partition = topics::output_partition(slot, 4);
    assert_eq!(delivered.partition, partition);

    let consumer = Consumer::assign(
        &kafka.args("out"),
        "gw-6",
        "gw-6",
        "out.output",
        partition,
        rdkafka::Offset::Beginning,
    )
    .unwrap();
    let rec = recv(&consumer).await;
    let got = GameMessage::decode(&rec.payload).unwrap();
    assert_eq!(
        got.targets, targets,
        "one multicast message for the three players"
    );
    assert_eq!(got.kind, msg.kind);
}

#[tokio::test]
async fn topic_creation_is_skipped_with_a_reason_where_the_broker_cannot_create_topics() {
    use mush_platform::bus::{TopicsOutcome, ensure_topics};
    // Existing topics: nothing to create.
    let kafka = KafkaMock::start("have", 2, 2);
    let outcome = ensure_topics(&kafka.args("have"), 1, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(outcome, TopicsOutcome::Ready { created: vec![] });
    // Missing topics on a broker without CreateTopics (the mock): a reason, not a hang or a crash.
    let started = std::time::Instant::now();
    let outcome = ensure_topics(&kafka.args("missing"), 1, Duration::from_secs(2))
        .await
        .unwrap();
    match outcome {
        TopicsOutcome::Skipped(why) => assert!(!why.is_empty()),
        TopicsOutcome::Ready { created } => assert_eq!(created.len(), 2, "either created or skipped"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
