//! The output half of a session, pure: which game messages are written (a message re-sent after
//! a game-server crash is dropped by its origin), and how each is staged for the client through
//! its codec. The session batches the staged bytes into one write.

use std::collections::HashMap;

use mush_protocol::{DisconnectReason, GameMessageKind, Origin};

use crate::codec::ClientCodec;

/// Per input partition, the newest origin written: output from the same partition that is not
/// after it was written already (a game-server that crashed re-sends its outbox).
#[derive(Debug, Default)]
pub struct OriginFilter {
    last: HashMap<i32, Origin>,
}

impl OriginFilter {
    /// Whether a message with `origin` is to be written (and, if so, it is the newest now).
    /// Messages without an origin (the gateway's own) always are.
    pub fn admit(&mut self, origin: Option<Origin>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match self.last.get(&origin.partition) {
            Some(last) if !origin.is_after(last) => false,
            _ => {
                self.last.insert(origin.partition, origin);
                true
            }
        }
    }
}

/// What staging one message asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// Bytes (or nothing) staged for the next write.
    Staged,
    /// The game's word on the login state (nothing to write).
    Session { logged_in: bool },
    /// The game ends the connection (its message, if any, is staged).
    Disconnect(DisconnectReason),
}

/// Stages `kind` for the client in `out` through its codec.
pub fn encode(codec: &ClientCodec, kind: &GameMessageKind, out: &mut Vec<u8>) -> Encoded {
    match kind {
        GameMessageKind::Text { text } => codec.encode_text(text, out),
        GameMessageKind::Prompt { text } => codec.encode_prompt(text, out),
        GameMessageKind::Gmcp { package, json } => codec.encode_gmcp(package, json, out),
        GameMessageKind::Msdp { variable, value } => codec.encode_msdp(variable, value, out),
        GameMessageKind::Disconnect { reason, message } => {
            if !message.is_empty() {
                codec.encode_text(message, out);
            }
            return Encoded::Disconnect(*reason);
        }
        GameMessageKind::Session { logged_in } => {
            return Encoded::Session {
                logged_in: *logged_in,
            };
        }
        GameMessageKind::Unknown => {}
    }
    Encoded::Staged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telnet::{CodecConfig, TelnetCodec};
    use crate::web::codec::WebCodec;

    fn origin(partition: i32, offset: i64, seq: u32) -> Option<Origin> {
        Some(Origin {
            partition,
            offset,
            seq,
        })
    }

    #[test]
    fn output_resent_after_a_crash_is_dropped_per_partition() {
        let mut f = OriginFilter::default();
        assert!(f.admit(origin(0, 10, 0)));
        assert!(f.admit(origin(0, 10, 1)), "the next message of the same input");
        assert!(f.admit(origin(1, 3, 0)), "partitions are independent");
        assert!(!f.admit(origin(0, 10, 1)), "re-sent: dropped");
        assert!(!f.admit(origin(0, 9, 5)), "older: dropped");
        assert!(f.admit(origin(0, 11, 0)));
        assert!(f.admit(None), "the gateway's own notices have no origin");
        assert!(f.admit(None));
    }

    #[test]
    fn messages_are_staged_through_the_clients_codec() {
        let telnet = ClientCodec::Telnet(Box::new(TelnetCodec::new(CodecConfig::default())));
        let web = ClientCodec::Web(WebCodec::new(8192, false));
        for codec in [&telnet, &web] {
            let mut out = Vec::new();
            let text = GameMessageKind::Text {
                text: "Hello.".into(),
            };
            assert_eq!(encode(codec, &text, &mut out), Encoded::Staged);
            assert!(String::from_utf8_lossy(&out).contains("Hello."));
            let mut out = Vec::new();
            let bye = GameMessageKind::Disconnect {
                reason: DisconnectReason::Quit,
                message: "Goodbye.".into(),
            };
            assert_eq!(
                encode(codec, &bye, &mut out),
                Encoded::Disconnect(DisconnectReason::Quit)
            );
            assert!(
                String::from_utf8_lossy(&out).contains("Goodbye."),
                "the last words are written"
            );
            let mut out = Vec::new();
            let session = GameMessageKind::Session { logged_in: true };
            assert_eq!(
                encode(codec, &session, &mut out),
                Encoded::Session { logged_in: true }
            );
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        let gmcp = GameMessageKind::Gmcp {
            package: "Room.Info".into(),
            json: "{}".into(),
        };
        encode(&telnet, &gmcp, &mut out);
        assert!(
            out.is_empty(),
            "a telnet client that did not agree to GMCP gets none"
        );
        encode(&web, &gmcp, &mut out);
        assert!(!out.is_empty(), "a browser always takes GMCP");
    }
}
