//! The world in Redis, and exactly-once application of input.
//!
//! Every input event is applied by one Lua script that, atomically:
//! 1. checks the fencing token (a game-server that lost its lease cannot write: `FENCED`);
//! 2. skips the event if it is applied already (at or below the partition's low offset, or
//!    applied ahead of it: see `progress`): a replay;
//! 3. records the offset as applied (moving the low offset, or adding it to those ahead) and
//!    forgets any attempt recorded for it (poison-event detection);
//! 4. writes the world changes the command made;
//! 5. stores the command's output in the partition's outbox.
//!
//! Output is then produced to Kafka; once the broker has acknowledged it, its outbox entry is
//! deleted. A game-server that starts re-sends whatever is still in the outboxes (with the same
//! origins, so gateways drop what they already wrote), then resumes after the applied offsets.
//! So a crash at any point neither loses nor repeats a command, nor its answer.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes};
use fred::interfaces::LuaInterface;
use fred::prelude::*;
use mush_protocol::{GameMessage, RedisKeys};

use crate::game::world::{Object, WorldChange};

const COMMIT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
local offset = tonumber(ARGV[3])
local low = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '-1')
if offset <= low or redis.call('ZSCORE', KEYS[5], ARGV[3]) then return 0 end
local new_low = tonumber(ARGV[5])
if new_low > low then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[5])
end
if offset > math.max(low, new_low) then redis.call('ZADD', KEYS[5], offset, ARGV[3]) end
if ARGV[6] ~= '' then redis.call('HDEL', KEYS[6], ARGV[6]) end
local puts = tonumber(ARGV[7])
local i = 8
for _ = 1, puts do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  i = i + 1
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[3], ARGV[4]) end
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

    /// Applies one input's effects atomically (see the module doc).
    /// `low` is the partition's low offset once this input is applied
    /// ([`crate::progress::Progress::low_once_applied`]).
    pub async fn commit(
        &self,
        token: u64,
        (partition, offset, low): (i32, i64, i64),
        changes: &[WorldChange],
        output: &[GameMessage],
    ) -> Result<Commit, PersistError> {
        let mut puts: Vec<(String, String)> = Vec::new();
        let mut dels: Vec<String> = Vec::new();
        for change in changes {
            match change {
                WorldChange::Put(object) => puts.push((
                    object.id.to_string(),
                    serde_json::to_string(object).expect("objects always serialise"),
                )),
                WorldChange::Delete(id) => dels.push(id.to_string()),
            }
        }
        let mut args: Vec<Value> = vec![
            token.to_string().into(),
            partition.to_string().into(),
            offset.to_string().into(),
            if output.is_empty() {
                Value::from("")
            } else {
                Value::Bytes(encode_outbox(output))
            },
            low.to_string().into(),
            attempt_field(partition, offset).into(),
            puts.len().to_string().into(),
        ];
        for (id, json) in puts {
            args.push(id.into());
            args.push(json.into());
        }
        args.extend(dels.into_iter().map(Value::from));
        let keys = vec![
            self.fence_key.clone(),
            self.keys.applied_offsets(),
            self.keys.world_objects(),
            self.keys.outbox(partition),
            self.keys.applied_ahead(partition),
            self.keys.attempts(),
        ];
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
