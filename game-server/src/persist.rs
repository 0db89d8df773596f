//! The world in Redis, and exactly-once application of input.
//!
//! Input is applied in batches (group commit: every input already fetched, bounded in count and
//! time, runs through the game in memory first), and each batch by one Lua script that,
//! atomically:
//! 1. checks the fencing token (a game-server that lost its lease cannot write: `FENCED`);
//! 2. does nothing if the batch is applied already (at or below each partition's low offset, or
//!    applied ahead of it: see `progress`): a retry whose first attempt landed;
//! 3. records the inputs as applied (moving each partition's low offset, or adding them to those
//!    ahead) and forgets any attempt recorded for them (poison-input detection);
//! 4. writes the world changes (the last state of each object changed; the queue entries and
//!    channels added, changed and gone), and the logins and logouts (the connection hashes' `state` and `player`,
//!    only where the hash still exists);
//! 5. stores each input's output in its partition's outbox.
//!
//! Output is then produced to Kafka; once the broker has acknowledged it, its outbox entry is
//! deleted. A game-server that starts re-sends whatever is still in the outboxes (with the same
//! origins, so gateways drop what they already wrote), then resumes after the applied offsets.
//! So a crash at any point neither loses nor repeats a command, nor its answer.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes};
use fred::interfaces::LuaInterface;
use fred::prelude::*;
use mush_protocol::keys::ConnectionState;
use mush_protocol::{GameMessage, Handle, RedisKeys};

use crate::game::world::{Channel, Object, ObjectId, QueueEntry, WorldChange};

const COMMIT: &str = r#"
-- KEYS: 1 fence, 2 applied (hash), 3 objects, 4 attempts, 5 queue, 6 channels, then per
-- partition its outbox and its ahead set, then the connection hashes of the logins and logouts.
-- ARGV: token, partition count, (partition, low)*, input count, (partition index, offset,
-- output)*, put count, (id, json)*, delete count, id*, record count, (hash key index, field,
-- json or '' to delete)*, binding count, (state, player)*.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
local i = 2
local nparts = tonumber(ARGV[i]); i = i + 1
local parts = {}
for k = 1, nparts do
  local p = ARGV[i]
  parts[k] = { p = p, low = tonumber(ARGV[i + 1]), stored = tonumber(redis.call('HGET', KEYS[2], p) or '-1'),
               outbox = KEYS[5 + 2 * k], ahead = KEYS[6 + 2 * k] }
  i = i + 2
end
local ninputs = tonumber(ARGV[i]); i = i + 1
local first_input = i
local applied = 0
for _ = 1, ninputs do
  local part = parts[tonumber(ARGV[i])]
  local offset = tonumber(ARGV[i + 1])
  if offset <= part.stored or redis.call('ZSCORE', part.ahead, ARGV[i + 1]) then applied = applied + 1 end
  i = i + 3
end
if applied == ninputs then return 0 end
if applied > 0 then return redis.error_reply('PARTIAL ' .. applied .. ' of ' .. ninputs) end
i = first_input
for _ = 1, ninputs do
  local part = parts[tonumber(ARGV[i])]
  local offset = tonumber(ARGV[i + 1])
  if offset > math.max(part.low, part.stored) then redis.call('ZADD', part.ahead, offset, ARGV[i + 1]) end
  if ARGV[i + 2] ~= '' then redis.call('HSET', part.outbox, ARGV[i + 1], ARGV[i + 2]) end
  redis.call('HDEL', KEYS[4], part.p .. ':' .. ARGV[i + 1])
  i = i + 3
end
for _, part in ipairs(parts) do
  if part.low > part.stored then
    redis.call('HSET', KEYS[2], part.p, part.low)
    redis.call('ZREMRANGEBYSCORE', part.ahead, '-inf', part.low)
  end
end
local puts = tonumber(ARGV[i]); i = i + 1
for _ = 1, puts do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local dels = tonumber(ARGV[i]); i = i + 1
for _ = 1, dels do
  redis.call('HDEL', KEYS[3], ARGV[i])
  i = i + 1
end
local records = tonumber(ARGV[i]); i = i + 1
for _ = 1, records do
  local key = KEYS[tonumber(ARGV[i])]
  if ARGV[i + 2] == '' then redis.call('HDEL', key, ARGV[i + 1])
  else redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2]) end
  i = i + 3
end
local binds = tonumber(ARGV[i]); i = i + 1
for k = 1, binds do
  local key = KEYS[6 + 2 * nparts + k]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'state', ARGV[i], 'player', ARGV[i + 1])
  end
  i = i + 2
end
return 1
"#;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("another game-server holds the lease now (fenced)")]
    Fenced,
    #[error("Redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("stored object {key} is unreadable: {error}")]
    BadObject { key: String, error: String },
    #[error("outbox entry {partition}/{offset} is unreadable")]
    BadOutbox { partition: i32, offset: i64 },
}

/// What one batch of inputs writes (see [`WorldStore::commit`]).
#[derive(Debug, Default)]
pub struct BatchWrite {
    /// The inputs, in the order they were applied.
    pub inputs: Vec<InputWrite>,
    /// Each partition the batch touches, with its low offset once the batch is applied (a
    /// partition appears once).
    pub lows: Vec<(i32, i64)>,
    /// The world changes, in order.
    pub changes: Vec<WorldChange>,
    /// Logins (`Some(player)`) and logouts (`None`), in order: critical connection-state writes,
    /// made with the inputs that caused them.
    pub bindings: Vec<(Handle, Option<ObjectId>)>,
}

impl BatchWrite {
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Notes `partition`'s low offset after the inputs so far.
    pub fn set_low(&mut self, partition: i32, low: i64) {
        match self.lows.iter_mut().find(|(p, _)| *p == partition) {
            Some((_, l)) => *l = (*l).max(low),
            None => self.lows.push((partition, low)),
        }
    }
}

/// One input of a batch: where it was read, and its output.
#[derive(Debug)]
pub struct InputWrite {
    pub partition: i32,
    pub offset: i64,
    pub output: Vec<GameMessage>,
}

/// One partition's outbox as found at start.
#[derive(Debug, Default)]
pub struct Outbox {
    /// (input offset, its output), oldest first.
    pub entries: Vec<(i64, Vec<GameMessage>)>,
    /// Fields that could not be read.
    pub unreadable: Vec<String>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    Applied,
    /// The offset was applied before (a replay): nothing written.
    AlreadyApplied,
}

#[derive(Clone)]
pub struct WorldStore {
    client: Client,
    keys: RedisKeys,
    fence_key: String,
}

impl WorldStore {
    pub fn new(client: Client, keys: RedisKeys, fence_key: String) -> Self {
        Self {
            client,
            keys,
            fence_key,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every stored object.
    pub async fn load_objects(&self) -> Result<Vec<Object>, PersistError> {
        let raw: HashMap<String, String> = self.client.hgetall(self.keys.world_objects()).await?;
        raw.into_iter()
            .map(|(key, json)| {
                serde_json::from_str(&json).map_err(|e| PersistError::BadObject {
                    key,
                    error: e.to_string(),
                })
            })
            .collect()
    }

    /// The last applied offset of each input partition.
    pub async fn load_applied(&self) -> Result<HashMap<i32, i64>, PersistError> {
        let raw: HashMap<String, i64> = self.client.hgetall(self.keys.applied_offsets()).await?;
        Ok(raw
            .into_iter()
            .filter_map(|(p, o)| p.parse().ok().map(|p| (p, o)))
            .collect())
    }

    /// Output whose delivery was never confirmed, oldest input first, and the fields of entries
    /// that cannot be read (torn or foreign: they are dropped, never allowed to stop a start).
    pub async fn load_outbox(&self, partition: i32) -> Result<Outbox, PersistError> {
        let raw: HashMap<String, Vec<u8>> = self.client.hgetall(self.keys.outbox(partition)).await?;
        let mut outbox = Outbox::default();
        for (field, payload) in raw {
            match (field.parse::<i64>(), decode_outbox(&payload)) {
                (Ok(offset), Some(messages)) => outbox.entries.push((offset, messages)),
                _ => outbox.unreadable.push(field),
            }
        }
        outbox.entries.sort_by_key(|(o, _)| *o);
        Ok(outbox)
    }

    /// Drops outbox entries by field name (unreadable ones).
    pub async fn drop_outbox_fields(&self, partition: i32, fields: &[String]) -> Result<(), PersistError> {
        if fields.is_empty() {
            return Ok(());
        }
        let _: () = self
            .client
            .hdel(self.keys.outbox(partition), fields.to_vec())
            .await?;
        Ok(())
    }

    /// Applies a batch of inputs atomically: their world changes, logins and logouts, applied
    /// marks (each partition's new low offset, and the inputs applied ahead of it) and outputs
    /// (see the module doc). All or nothing: a batch found applied already (an earlier attempt
    /// landed though its reply was lost) is [`Commit::AlreadyApplied`].
    pub async fn commit(&self, token: u64, batch: &BatchWrite) -> Result<Commit, PersistError> {
        // `lows` holds each partition once (see `BatchWrite::set_low`): its order numbers them.
        let part_index = |p: i32| batch.lows.iter().position(|(q, _)| *q == p).map_or(0, |i| i + 1);
        let mut keys = vec![
            self.fence_key.clone(),
            self.keys.applied_offsets(),
            self.keys.world_objects(),
            self.keys.attempts(),
            self.keys.queue(),
            self.keys.channels(),
        ];
        let mut args: Vec<Value> = vec![token.to_string().into(), batch.lows.len().to_string().into()];
        for (p, low) in &batch.lows {
            args.push(p.to_string().into());
            args.push(low.to_string().into());
            keys.push(self.keys.outbox(*p));
            keys.push(self.keys.applied_ahead(*p));
        }
        args.push(batch.inputs.len().to_string().into());
        for input in &batch.inputs {
            args.push(part_index(input.partition).to_string().into());
            args.push(input.offset.to_string().into());
            args.push(if input.output.is_empty() {
                Value::from("")
            } else {
                Value::Bytes(encode_outbox(&input.output))
            });
        }
        // The last change of an object (or record: a queue entry, a channel) in the batch is its
        // state. Records go to the hash at a key index of the script (5 queue, 6 channels).
        let mut last: HashMap<ObjectId, &WorldChange> = HashMap::new();
        let mut order: Vec<ObjectId> = Vec::new();
        let mut records: HashMap<(u8, String), Option<String>> = HashMap::new();
        let mut record_order: Vec<(u8, String)> = Vec::new();
        let mut record = |key: (u8, String), json: Option<String>| {
            if records.insert(key.clone(), json).is_none() {
                record_order.push(key);
            }
        };
        for change in &batch.changes {
            let id = match change {
                WorldChange::Put(o) => o.id,
                WorldChange::Delete(id) => *id,
                WorldChange::Queue(e) => {
                    let json = serde_json::to_string(e).expect("queue entries always serialise");
                    record((5, e.id.to_string()), Some(json));
                    continue;
                }
                WorldChange::Dequeue(id) => {
                    record((5, id.to_string()), None);
                    continue;
                }
                WorldChange::Channel(c) => {
                    let json = serde_json::to_string(c).expect("channels always serialise");
                    record((6, c.key()), Some(json));
                    continue;
                }
                WorldChange::DropChannel(key) => {
                    record((6, key.clone()), None);
                    continue;
                }
            };
            if last.insert(id, change).is_none() {
                order.push(id);
            }
        }
        let (mut puts, mut dels): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
        for id in order {
            match last[&id] {
                WorldChange::Put(object) => {
                    puts.push(object.id.to_string().into());
                    puts.push(
                        serde_json::to_string(object)
                            .expect("objects always serialise")
                            .into(),
                    );
                }
                WorldChange::Delete(id) => dels.push(id.to_string().into()),
                _ => {}
            }
        }
        args.push((puts.len() / 2).to_string().into());
        args.extend(puts);
        args.push(dels.len().to_string().into());
        args.extend(dels);
        args.push(record_order.len().to_string().into());
        for key in record_order {
            let json = records.remove(&key).flatten().unwrap_or_default();
            args.push(key.0.to_string().into());
            args.push(key.1.into());
            args.push(json.into());
        }
        args.push(batch.bindings.len().to_string().into());
        for (handle, player) in &batch.bindings {
            keys.push(self.keys.connection(*handle));
            let (state, player) = match player {
                Some(p) => (ConnectionState::LoggedIn, p.to_string()),
                None => (ConnectionState::LoggedOut, String::new()),
            };
            args.push(state.as_str().into());
            args.push(player.into());
        }
        match self.client.eval::<i64, _, _, _>(COMMIT, keys, args).await {
            Ok(1) => Ok(Commit::Applied),
            Ok(_) => Ok(Commit::AlreadyApplied),
            Err(e) if e.details().contains("FENCED") => Err(PersistError::Fenced),
            Err(e) => Err(e.into()),
        }
    }

    /// The inputs of `partition` applied ahead of its low offset.
    pub async fn load_ahead(&self, partition: i32) -> Result<Vec<i64>, PersistError> {
        let raw: Vec<String> = self
            .client
            .zrange(
                self.keys.applied_ahead(partition),
                0,
                -1,
                None,
                false,
                None,
                false,
            )
            .await?;
        Ok(raw.iter().filter_map(|o| o.parse().ok()).collect())
    }

    /// Inputs whose application was started and never finished, with how often.
    pub async fn load_attempts(&self) -> Result<HashMap<(i32, i64), u32>, PersistError> {
        let raw: HashMap<String, u32> = self.client.hgetall(self.keys.attempts()).await?;
        Ok(raw
            .into_iter()
            .filter_map(|(field, n)| {
                let (p, o) = field.split_once(':')?;
                Some(((p.parse().ok()?, o.parse().ok()?), n))
            })
            .collect())
    }

    /// Records that applying (`partition`, `offset`) was started and is taking long (or crashed):
    /// the next life of the game-server counts it. The commit of the input forgets it.
    pub async fn record_attempt(&self, partition: i32, offset: i64) -> Result<u32, PersistError> {
        let n: u32 = self
            .client
            .hincrby(self.keys.attempts(), attempt_field(partition, offset), 1)
            .await?;
        Ok(n)
    }

    /// Forgets a partition's applied offset (its topic was recreated).
    pub async fn reset_applied(&self, partition: i32) -> Result<(), PersistError> {
        let _: () = self
            .client
            .hdel(self.keys.applied_offsets(), partition.to_string())
            .await?;
        let _: () = self.client.del(self.keys.outbox(partition)).await?;
        let _: () = self.client.del(self.keys.applied_ahead(partition)).await?;
        Ok(())
    }

    /// The queue as stored (entries that do not parse are skipped, with a warning).
    pub async fn load_queue(&self) -> Result<Vec<QueueEntry>, PersistError> {
        let raw: HashMap<String, String> = self.client.hgetall(self.keys.queue()).await?;
        let mut entries = Vec::with_capacity(raw.len());
        for (key, json) in raw {
            match serde_json::from_str::<QueueEntry>(&json) {
                Ok(e) => entries.push(e),
                Err(e) => tracing::warn!(%key, error = %e, "an unreadable queue entry is skipped"),
            }
        }
        Ok(entries)
    }

    /// The channels as stored (unreadable ones are skipped, with a warning).
    pub async fn load_channels(&self) -> Result<Vec<Channel>, PersistError> {
        let raw: HashMap<String, String> = self.client.hgetall(self.keys.channels()).await?;
        let mut channels = Vec::with_capacity(raw.len());
        for (key, json) in raw {
            match serde_json::from_str::<Channel>(&json) {
                Ok(c) => channels.push(c),
                Err(e) => tracing::warn!(%key, error = %e, "an unreadable channel is skipped"),
            }
        }
        Ok(channels)
    }

    /// Writes objects outside any command (the starting world of a fresh game).
    pub async fn put_objects(&self, changes: &[WorldChange]) -> Result<(), PersistError> {
        for change in changes {
            if let WorldChange::Put(o) = change {
                let json = serde_json::to_string(o).expect("objects always serialise");
                let _: () = self
                    .client
                    .hset(self.keys.world_objects(), (o.id.to_string(), json))
                    .await?;
            }
        }
        Ok(())
    }

    /// Forgets outbox entries whose output the broker has acknowledged.
    pub async fn clear_outbox(&self, partition: i32, offsets: &[i64]) -> Result<(), PersistError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let fields: Vec<String> = offsets.iter().map(|o| o.to_string()).collect();
        let _: () = self.client.hdel(self.keys.outbox(partition), fields).await?;
        Ok(())
    }
}

/// The field of an input in the attempts hash.
fn attempt_field(partition: i32, offset: i64) -> String {
    format!("{partition}:{offset}")
}

/// Messages as `u32 length | bytes`, repeated.
pub fn encode_outbox(messages: &[GameMessage]) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    for m in messages {
        let encoded = m.encode();
        buf.put_u32(encoded.len() as u32);
        buf.put_slice(&encoded);
    }
    buf.freeze()
}

pub fn decode_outbox(mut payload: &[u8]) -> Option<Vec<GameMessage>> {
    let mut out = Vec::new();
    while payload.has_remaining() {
        if payload.remaining() < 4 {
            return None;
        }
        let len = payload.get_u32() as usize;
        if payload.remaining() < len {
            return None;
        }
        out.push(GameMessage::decode(&payload[..len]).ok()?);
        payload.advance(len);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mush_protocol::{GameMessageKind, Handle};

    #[test]
    fn outbox_payloads_round_trip_and_torn_ones_are_refused() {
        let h: Handle = "1.1.1".parse().unwrap();
        let msgs = vec![
            GameMessage::text(h, "one"),
            GameMessage::to(vec![h], GameMessageKind::Prompt { text: "> ".into() }),
        ];
        let encoded = encode_outbox(&msgs);
        assert_eq!(decode_outbox(&encoded).unwrap(), msgs);
        assert!(decode_outbox(&encoded[..encoded.len() - 1]).is_none());
        assert_eq!(decode_outbox(&[]).unwrap(), vec![]);
    }
}
