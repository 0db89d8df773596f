//! Input lines sealed between gateway and game-server.
//!
//! Players type passwords (`connect name password`, `@password old=new`), and the input topic
//! keeps what is written to it (retention, replicas, backups). So a gateway given an input key
//! encrypts every line before producing it, and the game-server opens it after consuming it:
//! XChaCha20-Poly1305 with a random 24-byte nonce per line (no nonce state to keep across
//! restarts), the connection's handle as associated data (a sealed line cannot be replayed as
//! another connection's), and a 32-bit key id so a key can be rotated: the game-server opens
//! lines sealed with its current key or its previous one.
//!
//! The key is 32 random bytes, given as 64 hexadecimal characters (`MUSH_INPUT_KEY`, from a
//! Secret in Kubernetes; `mush up` makes one per stack). Without a key, lines travel in clear
//! and the gateway says so at start.

use bytes::Bytes;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use mush_protocol::{GatewayEvent, GatewayEventKind, Handle};

/// Key flags shared by the gateway and the game-server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputKeyArgs {
    /// Key that seals input lines between gateway and game-server: 64 hexadecimal characters
    /// (32 random bytes, e.g. `openssl rand -hex 32`). Give the same key to both.
    #[arg(long = "input-key", env = "MUSH_INPUT_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// The key before the current one, still opened by the game-server while gateways move to
    /// the new key (rotation).
    #[arg(
        long = "input-key-previous",
        env = "MUSH_INPUT_KEY_PREVIOUS",
        hide_env_values = true
    )]
    pub previous: Option<String>,
}

impl InputKeyArgs {
    pub fn keys(&self) -> Result<InputKeys, KeyError> {
        let parse = |k: &Option<String>| {
            k.as_deref()
                .filter(|k| !k.is_empty())
                .map(InputKey::from_hex)
                .transpose()
        };
        Ok(InputKeys {
            current: parse(&self.key)?,
            previous: parse(&self.previous)?,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the input key must be 64 hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`")]
    Malformed,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the line was sealed with key {0:08x}, which this game-server does not have")]
    UnknownKey(u32),
    #[error("the sealed line does not open with key {0:08x} (altered, or sealed for another connection)")]
    Rejected(u32),
}

/// One key, with its id.
#[derive(Clone)]
pub struct InputKey {
    cipher: XChaCha20Poly1305,
    id: u32,
}

impl std::fmt::Debug for InputKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InputKey({:08x})", self.id)
    }
}

impl InputKey {
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        let cipher = XChaCha20Poly1305::new(&key.into());
        // The id is a keyed function of the key (the tag of a fixed message under a zero
        // nonce): it names the key without telling anything about it. Never 0 (0 = clear).
        let tag = cipher
            .encrypt(&XNonce::default(), b"mush input key id".as_slice())
            .expect("sealing a constant");
        let id = u32::from_be_bytes(tag[tag.len() - 4..].try_into().expect("4 bytes")).max(1);
        Ok(Self { cipher, id })
    }

    /// A new random key, as hexadecimal (for `mush up` and the operator's Secret).
    pub fn generate_hex() -> String {
        hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    fn seal(&self, handle: Handle, line: &[u8]) -> GatewayEventKind {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = handle.to_key();
        let ciphertext = self
            .cipher
            .encrypt(&nonce, Payload { msg: line, aad: &aad })
            .expect("encryption of a bounded line cannot fail");
        GatewayEventKind::SealedInput {
            key_id: self.id,
            nonce: Bytes::copy_from_slice(&nonce),
            ciphertext: ciphertext.into(),
        }
    }

    fn open(&self, handle: Handle, nonce: &[u8], ciphertext: &[u8]) -> Result<Bytes, OpenError> {
        if nonce.len() != 24 {
            return Err(OpenError::Rejected(self.id));
        }
        let aad = handle.to_key();
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Bytes::from)
            .map_err(|_| OpenError::Rejected(self.id))
    }
}

/// The keys of one process: the gateway seals with `current`; the game-server opens with
/// either.
#[derive(Debug, Clone, Default)]
pub struct InputKeys {
    pub current: Option<InputKey>,
    pub previous: Option<InputKey>,
}

impl InputKeys {
    /// Seals an input line in place with the current key; anything else (or any event
    /// without a key) is left as it is.
    pub fn seal(&self, event: &mut GatewayEvent) {
        if let (Some(key), GatewayEventKind::Input { line }) = (&self.current, &event.kind) {
            event.kind = key.seal(event.handle, line);
        }
    }

    /// Opens a sealed input line in place (other events are left alone).
    pub fn open(&self, event: &mut GatewayEvent) -> Result<(), OpenError> {
        let GatewayEventKind::SealedInput {
            key_id,
            nonce,
            ciphertext,
        } = &event.kind
        else {
            return Ok(());
        };
        let key = [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find(|k| k.id == *key_id)
            .ok_or(OpenError::UnknownKey(*key_id))?;
        let line = key.open(event.handle, nonce, ciphertext)?;
        event.kind = GatewayEventKind::Input { line };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(n: u32) -> Handle {
        Handle::new(mush_protocol::Slot::new(1).unwrap(), 1, n).unwrap()
    }

    fn input(h: Handle, line: &str) -> GatewayEvent {
        GatewayEvent::new(
            h,
            GatewayEventKind::Input {
                line: Bytes::copy_from_slice(line.as_bytes()),
            },
        )
    }

    fn keys(current: &str, previous: Option<&str>) -> InputKeys {
        InputKeyArgs {
            key: Some(current.to_owned()),
            previous: previous.map(str::to_owned),
        }
        .keys()
        .unwrap()
    }

    #[test]
    fn a_sealed_line_shows_nothing_on_the_wire_and_opens_to_the_same_line() {
        let k = keys(&InputKey::generate_hex(), None);
        let line = input(handle(7), "connect Alice hunter2");
        let mut sealed = line.clone();
        k.seal(&mut sealed);
        assert!(
            matches!(sealed.kind, GatewayEventKind::SealedInput { .. }),
            "an input line is sealed"
        );
        let wire = sealed.encode();
        assert!(
            !wire.windows(7).any(|w| w == b"hunter2"),
            "the password is not in the bytes written to the topic"
        );
        let mut read = GatewayEvent::decode(&wire).unwrap();
        assert!(matches!(read.kind, GatewayEventKind::SealedInput { .. }));
        k.open(&mut read).unwrap();
        assert_eq!(read.kind, line.kind);
        // Two seals of one line differ (random nonces): equal lines are not recognisable.
        let mut again = line.clone();
        k.seal(&mut again);
        assert_ne!(again.encode(), wire);
    }

    #[test]
    fn other_events_and_keyless_processes_pass_lines_in_clear() {
        let k = keys(&InputKey::generate_hex(), None);
        let gmcp = GatewayEvent::new(
            handle(1),
            GatewayEventKind::Gmcp {
                package: "Core.Hello".into(),
                json: "{}".into(),
            },
        );
        let mut left = gmcp.clone();
        k.seal(&mut left);
        assert_eq!(left.kind, gmcp.kind);
        let mut keyless = input(handle(1), "look");
        InputKeys::default().seal(&mut keyless);
        assert_eq!(keyless.kind, input(handle(1), "look").kind);
        let mut clear = input(handle(1), "look");
        k.open(&mut clear).unwrap();
        assert_eq!(clear.kind, input(handle(1), "look").kind);
    }

    #[test]
    fn a_line_does_not_open_with_another_key_for_another_connection_or_altered() {
        let ours = keys(&InputKey::generate_hex(), None);
        let theirs = keys(&InputKey::generate_hex(), None);
        let mut sealed = input(handle(7), "connect Alice hunter2");
        ours.seal(&mut sealed);
        let id = ours.current.as_ref().unwrap().id();
        assert_eq!(theirs.open(&mut sealed.clone()), Err(OpenError::UnknownKey(id)));
        assert!(
            InputKeys::default().open(&mut sealed.clone()).is_err(),
            "no key, no line"
        );

        let mut elsewhere = sealed.clone();
        elsewhere.handle = handle(8);
        assert_eq!(ours.open(&mut elsewhere), Err(OpenError::Rejected(id)));

        let mut altered = sealed.clone();
        if let GatewayEventKind::SealedInput { ciphertext, .. } = &mut altered.kind {
            let mut bytes = ciphertext.to_vec();
            bytes[0] ^= 1;
            *ciphertext = bytes.into();
        }
        assert_eq!(ours.open(&mut altered), Err(OpenError::Rejected(id)));
    }

    #[test]
    fn the_previous_key_still_opens_during_a_rotation() {
        let old = InputKey::generate_hex();
        let new = InputKey::generate_hex();
        let gateway_before = keys(&old, None);
        let game = keys(&new, Some(&old));
        let mut sealed = input(handle(3), "say hi");
        gateway_before.seal(&mut sealed);
        game.open(&mut sealed).unwrap();
        assert_eq!(
            sealed.kind,
            GatewayEventKind::Input {
                line: Bytes::from_static(b"say hi")
            }
        );
    }

    #[test]
    fn keys_are_64_hex_characters() {
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(31), &"ab".repeat(33)] {
            let args = InputKeyArgs {
                key: Some(bad.to_owned()),
                previous: None,
            };
            match args.keys() {
                Ok(k) => assert!(bad.is_empty() && k.current.is_none(), "{bad:?} is no key"),
                Err(e) => assert_eq!(e, KeyError::Malformed),
            }
        }
        let a = InputKey::from_hex(&"ab".repeat(32)).unwrap();
        let b = InputKey::from_hex(&"cd".repeat(32)).unwrap();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), 0);
        assert!(
            !format!("{a:?}").contains("abab"),
            "Debug shows the id, not the key"
        );
    }
}
