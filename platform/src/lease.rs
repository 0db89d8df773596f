//! Leases in Redis with fencing tokens.
//!
//! A lease is a key holding its owner's id with a TTL. Taking it also increments a counter kept
//! beside it, and that counter's value is the **fencing token** of this tenure: a later holder
//! always has a larger one. Gateways use it as their slot's epoch (so handles of different lives
//! of a slot differ); the game-server uses it to make sure two instances never act at once.
//!
//! Renewal and release check the owner atomically (Lua), so a holder that lost its lease can
//! neither extend nor delete the next holder's.

use std::time::Duration;

use fred::interfaces::LuaInterface;
use fred::prelude::*;
use tokio::sync::watch;

use mush_protocol::handle::epoch_from_lease_counter;
use mush_protocol::{RedisKeys, Slot};

use crate::shutdown::Shutdown;

/// KEYS: lease, fence. ARGV: owner, ttl ms. Returns the new fencing token, or 0 if held by another.
const ACQUIRE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
     return redis.call('INCR', KEYS[2]) else return 0 end";
/// KEYS: lease. ARGV: owner, ttl ms. 1 if renewed, 2 if it had lapsed with nobody taking it (taken
/// back: no one else got a fencing token meanwhile, so ours is still the latest), 0 if another
/// owner holds it.
const RENEW: &str = "local v = redis.call('GET', KEYS[1]) \
     if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end \
     if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end \
     return 0";
/// KEYS: lease. ARGV: owner. 1 if released, 0 if not ours.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

/// KEYS: fence, serving. ARGV: token. Marks tenure `token` as serving unless a later one began.
const MARK_SERVING: &str = "if tonumber(redis.call('GET', KEYS[1])) == tonumber(ARGV[1]) then \
     redis.call('SET', KEYS[2], ARGV[1]) return 1 else return 0 end";

/// A lease this process holds.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    owner: String,
    ttl: Duration,
    token: u64,
}

/// What the keeper reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    Held,
    /// Renewal found another owner or no lease: stop acting at once.
    Lost,
}

impl Lease {
    /// Tries once to take the lease at `key` (fencing counter at `fence_key`).
    pub async fn try_acquire(
        client: &Client,
        key: String,
        fence_key: String,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, fred::error::Error> {
        let token: u64 = client
            .eval(
                ACQUIRE,
                vec![key.clone(), fence_key],
                vec![owner.to_owned(), ttl_ms(ttl)],
            )
            .await?;
        Ok((token > 0).then(|| Lease {
            key,
            owner: owner.to_owned(),
            ttl,
            token,
        }))
    }

    /// This tenure's fencing token.
    pub fn token(&self) -> u64 {
        self.token
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Extends the lease (taking it back if it lapsed while nobody took it, e.g. while Redis
    /// was unreachable); `Ok(false)` means another owner holds it.
    pub async fn renew(&self, client: &Client) -> Result<bool, fred::error::Error> {
        let n: i64 = client
            .eval(
                RENEW,
                vec![self.key.clone()],
                vec![self.owner.clone(), ttl_ms(self.ttl)],
            )
            .await?;
        if n == 2 {
            tracing::warn!(lease = %self.key, "lease had lapsed with nobody taking it: taken back");
        }
        Ok(n != 0)
    }

    /// Gives the lease up so a successor need not wait for the TTL.
    pub async fn release(&self, client: &Client) -> Result<bool, fred::error::Error> {
        let n: i64 = client
            .eval(RELEASE, vec![self.key.clone()], vec![self.owner.clone()])
            .await?;
        Ok(n == 1)
    }

    /// Renews every third of the TTL until shutdown (then releases). Reports `Lost` only when
    /// another owner holds the lease. While Redis is unreachable it keeps trying: nobody can take
    /// the lease without Redis either, and whatever this holder writes to Redis is fenced.
    pub fn spawn_keeper(self, client: Client, shutdown: &Shutdown) -> watch::Receiver<LeaseState> {
        let (tx, rx) = watch::channel(LeaseState::Held);
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            let every = self.ttl / 3;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.triggered() => {
                        if let Err(e) = self.release(&client).await {
                            tracing::warn!(lease = %self.key, error = %e, "could not release lease; it lapses by TTL");
                        }
                        return;
                    }
                }
                match self.renew(&client).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(lease = %self.key, "lease lost to another owner");
                        let _ = tx.send(LeaseState::Lost);
                        return;
                    }
                    Err(e) => tracing::warn!(lease = %self.key, error = %e, "lease renewal failed; retrying"),
                }
            }
        });
        rx
    }
}

fn ttl_ms(ttl: Duration) -> String {
    ttl.as_millis().max(1).to_string()
}

/// A gateway's slot and this life's epoch.
#[derive(Debug, Clone)]
pub struct SlotLease {
    pub slot: Slot,
    pub epoch: u32,
    pub lease: Lease,
}

/// Takes the first free slot among `0..slots` (trying `preferred` first, e.g. a StatefulSet
/// ordinal). `Ok(None)` when every slot is held.
pub async fn acquire_slot(
    client: &Client,
    keys: &RedisKeys,
    owner: &str,
    slots: u16,
    preferred: Option<u16>,
    ttl: Duration,
) -> Result<Option<SlotLease>, fred::error::Error> {
    let order = preferred
        .into_iter()
        .chain((0..slots).filter(move |s| Some(*s) != preferred));
    for n in order {
        let Ok(slot) = Slot::new(n) else { continue };
        if let Some(lease) =
            Lease::try_acquire(client, keys.slot_lease(slot), keys.slot_epoch(slot), owner, ttl).await?
        {
            let epoch = epoch_from_lease_counter(lease.token());
            return Ok(Some(SlotLease { slot, epoch, lease }));
        }
    }
    Ok(None)
}

/// Whether gateway `slot` is held by a live gateway, and if not, the epoch the next gateway to
/// take it will get: `None` while it is held, else `Some(next epoch)`. The lease counter is
/// read before the lease itself, so a gateway that takes the slot after this read gets a later
/// epoch than the one returned (its connections are never mistaken for orphans).
pub async fn slot_vacancy(
    client: &Client,
    keys: &RedisKeys,
    slot: Slot,
) -> Result<Option<u32>, fred::error::Error> {
    let counter: Option<u64> = client.get(keys.slot_epoch(slot)).await?;
    let held: bool = client.exists(keys.slot_lease(slot)).await?;
    Ok((!held).then(|| epoch_from_lease_counter(counter.unwrap_or(0) + 1)))
}

/// Says that the holder of tenure `token` of lease `name` now serves (the game-server: it has
/// reconciled and reads input). Refused (`Ok(false)`) when a later tenure has begun, so a holder
/// that lost its lease never marks the next one's tenure.
pub async fn mark_serving(
    client: &Client,
    keys: &RedisKeys,
    name: &str,
    token: u64,
) -> Result<bool, fred::error::Error> {
    let marked: i64 = client
        .eval(
            MARK_SERVING,
            vec![keys.lease_fence(name), keys.lease_serving(name)],
            vec![token.to_string()],
        )
        .await?;
    Ok(marked == 1)
}

/// Whether lease `name` is held and its holder serves: the current tenure marked itself with
/// [`mark_serving`]. Read in one round trip. Where no tenure has ever marked itself (a holder
/// from before serving marks existed), held is taken as serving.
pub async fn is_serving(client: &Client, keys: &RedisKeys, name: &str) -> Result<bool, fred::error::Error> {
    let (holder, fence, serving): (Option<String>, Option<u64>, Option<u64>) = client
        .mget(vec![
            keys.lease(name),
            keys.lease_fence(name),
            keys.lease_serving(name),
        ])
        .await?;
    Ok(holder.is_some() && serving.is_none_or(|s| Some(s) == fence))
}

/// A process-unique owner id: host name, pid and start time.
pub fn owner_id(role: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{role}/{host}/{}/{nanos:x}", std::process::id())
}
