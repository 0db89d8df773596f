//! Leases with fencing tokens against a real redis-server.

use std::time::Duration;

use mush_devstack::RedisServer;
use mush_platform::lease::{Lease, LeaseState, acquire_slot};
use mush_platform::redis::{RedisArgs, connect};
use mush_protocol::{HandleAllocator, RedisKeys};

#[tokio::test]
async fn only_one_holder_and_every_new_tenure_has_a_larger_token() {
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let ttl = Duration::from_millis(300);

    let a = Lease::try_acquire(&client, keys.lease("game"), keys.lease_fence("game"), "a", ttl)
        .await
        .unwrap()
        .expect("a free lease is taken");
    let b = Lease::try_acquire(&client, keys.lease("game"), keys.lease_fence("game"), "b", ttl)
        .await
        .unwrap();
    assert!(b.is_none(), "a held lease is not taken twice");
    assert!(a.renew(&client).await.unwrap());

    // a stops renewing; after the TTL b takes over with a larger token, and a can no longer renew.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let b = Lease::try_acquire(&client, keys.lease("game"), keys.lease_fence("game"), "b", ttl)
        .await
        .unwrap()
        .expect("a lapsed lease is taken");
    assert!(b.token() > a.token());
    assert!(!a.renew(&client).await.unwrap(), "the old holder cannot renew");
    assert!(
        !a.release(&client).await.unwrap(),
        "the old holder cannot delete the new one's lease"
    );
    assert!(b.release(&client).await.unwrap());
    let c = Lease::try_acquire(&client, keys.lease("game"), keys.lease_fence("game"), "c", ttl)
        .await
        .unwrap()
        .expect("a released lease is free at once");
    assert!(c.token() > b.token());
}

#[tokio::test]
async fn a_new_holder_serves_only_once_it_marks_its_own_tenure() {
    use mush_platform::lease::{is_serving, mark_serving};
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let ttl = Duration::from_millis(300);
    let acquire = |owner: &'static str| {
        let client = client.clone();
        let keys = keys.clone();
        async move {
            Lease::try_acquire(&client, keys.lease("game"), keys.lease_fence("game"), owner, ttl)
                .await
                .unwrap()
                .expect("free")
        }
    };
    assert!(
        !is_serving(&client, &keys, "game").await.unwrap(),
        "nobody holds it"
    );
    let a = acquire("a").await;
    assert!(
        is_serving(&client, &keys, "game").await.unwrap(),
        "no tenure ever marked itself (an older holder): held counts as serving"
    );
    assert!(mark_serving(&client, &keys, "game", a.token()).await.unwrap());
    assert!(is_serving(&client, &keys, "game").await.unwrap());
    a.release(&client).await.unwrap();
    assert!(
        !is_serving(&client, &keys, "game").await.unwrap(),
        "released: restarting"
    );
    let b = acquire("b").await;
    assert!(
        !is_serving(&client, &keys, "game").await.unwrap(),
        "held by a new leader that has not reconciled yet"
    );
    assert!(
        !mark_serving(&client, &keys, "game", a.token()).await.unwrap(),
        "the old tenure cannot mark the new one"
    );
    assert!(!is_serving(&client, &keys, "game").await.unwrap());
    assert!(mark_serving(&client, &keys, "game", b.token()).await.unwrap());
    assert!(is_serving(&client, &keys, "game").await.unwrap());
}

#[tokio::test]
async fn gateways_get_distinct_slots_and_a_restarted_slot_gets_a_new_epoch() {
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let ttl = Duration::from_secs(5);

    let g0 = acquire_slot(&client, &keys, "gw-0", 4, None, ttl)
        .await
        .unwrap()
        .unwrap();
    let g1 = acquire_slot(&client, &keys, "gw-1", 4, None, ttl)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(g0.slot, g1.slot);
    let preferred = acquire_slot(&client, &keys, "gw-3", 4, Some(3), ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(preferred.slot.get(), 3);
    let g2 = acquire_slot(&client, &keys, "gw-2", 4, None, ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(
        acquire_slot(&client, &keys, "gw-4", 4, None, ttl)
            .await
            .unwrap()
            .is_none(),
        "all four slots held"
    );

    // gw-0 restarts: its next life takes the same slot with a new epoch, so handles differ.
    let first_life = HandleAllocator::new(g0.slot, g0.epoch).unwrap();
    g0.lease.release(&client).await.unwrap();
    let again = acquire_slot(&client, &keys, "gw-0b", 4, None, ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.slot, g0.slot);
    assert!(again.epoch > g0.epoch);
    let second_life = HandleAllocator::new(again.slot, again.epoch).unwrap();
    assert_ne!(first_life.allocate(), second_life.allocate());
    drop((g1, g2));
}

#[tokio::test]
async fn the_keeper_renews_and_reports_a_lost_lease() {
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let ttl = Duration::from_millis(300);
    let lease = Lease::try_acquire(&client, keys.lease("g"), keys.lease_fence("g"), "me", ttl)
        .await
        .unwrap()
        .unwrap();
    let shutdown = mush_platform::Shutdown::new();
    let mut state = lease.spawn_keeper(client.clone(), &shutdown);

    // Renewed well past its TTL.
    tokio::time::sleep(ttl * 3).await;
    assert_eq!(*state.borrow(), LeaseState::Held);
    let other = Lease::try_acquire(&client, keys.lease("g"), keys.lease_fence("g"), "other", ttl)
        .await
        .unwrap();
    assert!(other.is_none());

    // Someone else forcibly takes the key: the keeper notices on its next renewal.
    let _: () = fred::prelude::KeysInterface::set(&client, keys.lease("g"), "intruder", None, None, false)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), state.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*state.borrow(), LeaseState::Lost);
    shutdown.trigger();
}

#[tokio::test]
async fn a_lapsed_lease_nobody_took_is_taken_back_but_a_taken_one_is_not() {
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let ttl = Duration::from_millis(200);
    let a = Lease::try_acquire(&client, keys.lease("x"), keys.lease_fence("x"), "a", ttl)
        .await
        .unwrap()
        .unwrap();
    // Redis was unreachable past the TTL, say: the lease lapsed and nobody took it.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(a.renew(&client).await.unwrap(), "taken back");
    let b = Lease::try_acquire(&client, keys.lease("x"), keys.lease_fence("x"), "b", ttl)
        .await
        .unwrap();
    assert!(b.is_none(), "held again by a");
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let b = Lease::try_acquire(&client, keys.lease("x"), keys.lease_fence("x"), "b", ttl)
        .await
        .unwrap()
        .expect("b takes the lapsed lease");
    assert!(b.token() > a.token());
    assert!(!a.renew(&client).await.unwrap(), "a cannot take it back from b");
}

#[tokio::test]
async fn a_slot_nobody_holds_has_orphans_except_those_of_its_next_epoch() {
    use mush_platform::metrics::Metrics;
    use mush_platform::store::{ConnectionStore, StoreMetrics};
    use mush_protocol::{ConnectionRecord, Handle, Timestamp, Transport};
    let redis = RedisServer::start();
    let client = connect(&RedisArgs::for_url(&redis.url())).await.unwrap();
    let keys = RedisKeys::new("t");
    let metrics = StoreMetrics::new(&Metrics::new("mush_test", &prometheus::Registry::new()));
    let store = ConnectionStore::new(client.clone(), keys.clone(), metrics);
    let ttl = Duration::from_secs(5);
    let held = acquire_slot(&client, &keys, "gw-0", 1, None, ttl)
        .await
        .unwrap()
        .unwrap();
    let old = Handle::new(held.slot, held.epoch, 1).unwrap();
    store
        .register(&ConnectionRecord::new(
            old,
            "gw-0",
            "127.0.0.1:1",
            Transport::Telnet,
            Timestamp::now(),
        ))
        .await
        .unwrap();
    assert!(
        store.orphans_of_slot(held.slot).await.unwrap().is_empty(),
        "held: no orphans"
    );
    held.lease.release(&client).await.unwrap();
    // The next life of the slot will get the next epoch: a record of that epoch is not an orphan.
    let next = mush_platform::lease::slot_vacancy(&client, &keys, held.slot)
        .await
        .unwrap()
        .expect("vacant");
    assert!(next > held.epoch);
    let future = Handle::new(held.slot, next, 1).unwrap();
    store
        .register(&ConnectionRecord::new(
            future,
            "gw-0b",
            "127.0.0.1:2",
            Transport::Telnet,
            Timestamp::now(),
        ))
        .await
        .unwrap();
    assert_eq!(store.orphans_of_slot(held.slot).await.unwrap(), vec![old]);
    assert_eq!(store.live_count().await.unwrap(), 2);
    assert!(!store.lease_serving("game-leader").await.unwrap());
}
