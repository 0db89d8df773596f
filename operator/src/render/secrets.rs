//! Secrets the operator generates: the managed Redis's password and the input key that seals
//! input lines between gateways and game-server (`platform/src/sealing.rs`).
//!
//! Their values are random, so they cannot be rendered like the other children: applying a new
//! random value on every reconciliation would rotate them each time. Instead the rendering says
//! which Secrets must exist, without values ([`GeneratedSecret`]), and the controller creates a
//! missing one (`create`, never apply or update) with a value it draws once
//! ([`GeneratedSecret::with_value`]). An existing Secret is never read, changed or replaced: an
//! administrator who edits it (to rotate the input key, say) keeps what they wrote.
//!
//! Both carry the owner reference, so they go with the MushGame. They are not pruned when the
//! spec stops needing them (Redis made external): a generated value is not worth losing to a
//! change that may be undone.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Component, Ctx};

/// Key of the Redis password in `<game>-redis-auth`.
pub const REDIS_PASSWORD_KEY: &str = "password";
/// Key of the input key in `<game>-input-key` (64 lowercase hexadecimal characters).
pub const INPUT_KEY_KEY: &str = "key";
/// Optional key of `<game>-input-key` an administrator adds while rotating: the key before the
/// current one, which the game-server still opens (`MUSH_INPUT_KEY_PREVIOUS`). Never generated.
pub const INPUT_KEY_PREVIOUS_KEY: &str = "previous";
/// Random bytes in each generated value (shown as twice as many hexadecimal characters).
pub const RANDOM_BYTES: usize = 32;

/// A Secret that must exist, with the one key the operator fills when it creates it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedSecret {
    /// Name, namespace, labels and owner reference; no data.
    pub metadata: ObjectMeta,
    /// The key the value goes under.
    pub key: &'static str,
}

impl GeneratedSecret {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// The Secret to create, holding `value` under [`Self::key`].
    pub fn with_value(&self, value: &str) -> Secret {
        Secret {
            metadata: self.metadata.clone(),
            type_: Some("Opaque".into()),
            string_data: Some(BTreeMap::from([(self.key.to_owned(), value.to_owned())])),
            ..Default::default()
        }
    }
}

/// The Secrets `ctx`'s game needs: the input key always, the Redis password when Redis is managed.
pub fn generated(ctx: &Ctx) -> Vec<GeneratedSecret> {
    let mut out = Vec::new();
    if ctx.spec.redis.managed.is_some() {
        out.push(GeneratedSecret {
            metadata: ctx.meta(ctx.names.redis_auth(), Component::Redis),
            key: REDIS_PASSWORD_KEY,
        });
    }
    out.push(GeneratedSecret {
        metadata: ctx.meta(ctx.names.input_key(), Component::Game),
        key: INPUT_KEY_KEY,
    });
    out
}

/// Lowercase hexadecimal: both values are [`RANDOM_BYTES`] random bytes written this way (safe in a
/// `redis://` URL without escaping, and the form `MUSH_INPUT_KEY` expects).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}
