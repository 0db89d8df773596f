//! TTYPE (RFC 1091) with the MUD Terminal Type Standard (MTTS) cycle.
//!
//! MTTS clients answer successive `SEND`s with: the client name ("MUDLET"), a terminal type
//! ("XTERM-256COLOR"), then "MTTS <bits>" (ANSI 1, VT100 2, UTF-8 4, 256 colours 8, ...).
//! Plain RFC 1091 clients repeat their last (or only) name when their list is exhausted. So the
//! cycle stops when a reply repeats the previous one, when "MTTS" arrives, or after four
//! requests, whichever comes first: a client can never make us ask forever.

use mush_protocol::ClientInfo;

use super::codes::{IAC, SB, SE, opt};

/// `IAC SB TTYPE SEND IAC SE`.
pub(crate) const SEND: [u8; 6] = [IAC, SB, opt::TTYPE, 1, IAC, SE];
const IS: u8 = 0;
const MAX_REQUESTS: u8 = 4;
/// RFC 1091 names are at most 40 characters; anything longer is cut.
const MAX_NAME_CHARS: usize = 64;

/// What one TTYPE IS reply led to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TtypeOutcome {
    /// `terminal_type` or `mtts` changed.
    pub changed: bool,
    /// Send another `SEND`.
    pub send: bool,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct TtypeCycle {
    requests: u8,
    replies: u8,
    last: Option<String>,
    done: bool,
}

impl TtypeCycle {
    /// The client agreed to TTYPE: starts (or restarts) the cycle; returns the first `SEND`.
    pub(crate) fn start(&mut self) -> [u8; 6] {
        *self = TtypeCycle {
            requests: 1,
            ..TtypeCycle::default()
        };
        SEND
    }

    /// Handles the payload of `IAC SB TTYPE ... IAC SE`.
    pub(crate) fn on_reply(&mut self, data: &[u8], info: &mut ClientInfo) -> TtypeOutcome {
        let mut outcome = TtypeOutcome::default();
        let Some((&IS, name)) = data.split_first() else {
            outcome.error = Some("TTYPE subnegotiation that is not IS".to_string());
            return outcome;
        };
        if self.done {
            // Late or unsolicited replies after the cycle ended carry nothing new.
            return outcome;
        }
        let name: String = String::from_utf8_lossy(name)
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect();
        let name = name.trim().to_string();
        self.replies = self.replies.saturating_add(1);
        if self.replies == 1 && info.terminal_type != name {
            info.terminal_type = name.clone();
            outcome.changed = true;
        }
        let upper = name.to_ascii_uppercase();
        if let Some(bits) = upper.strip_prefix("MTTS ") {
            self.done = true;
            match bits.trim().parse::<u32>() {
                Ok(bits) if bits != info.mtts => {
                    info.mtts = bits;
                    outcome.changed = true;
                }
                Ok(_) => {}
                Err(_) => {
                    let shown: String = bits.chars().take(16).collect();
                    outcome.error = Some(format!("unreadable MTTS value {shown:?}"));
                }
            }
        } else if self.requests == 0 {
            // Unsolicited (the client never agreed to TTYPE): read it, but ask for nothing.
        } else if self
            .last
            .as_deref()
            .is_some_and(|last| last.eq_ignore_ascii_case(&name))
            || self.requests >= MAX_REQUESTS
        {
            self.done = true;
        } else {
            self.requests += 1;
            outcome.send = true;
        }
        self.last = Some(name);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(name: &str) -> Vec<u8> {
        let mut v = vec![IS];
        v.extend_from_slice(name.as_bytes());
        v
    }

    #[test]
    fn mtts_cycle_reads_name_then_bits_and_stops() {
        let mut cycle = TtypeCycle::default();
        let mut info = ClientInfo::default();
        assert_eq!(cycle.start(), SEND);
        let o = cycle.on_reply(&is("MUDLET"), &mut info);
        assert!(o.changed && o.send);
        assert_eq!(info.terminal_type, "MUDLET");
        let o = cycle.on_reply(&is("ANSI-TRUECOLOR"), &mut info);
        assert!(!o.changed && o.send);
        let o = cycle.on_reply(&is("MTTS 2825"), &mut info);
        assert_eq!(
            o,
            TtypeOutcome {
                changed: true,
                send: false,
                error: None
            }
        );
        assert_eq!(info.mtts, 2825);
        assert_eq!(info.terminal_type, "MUDLET");
    }

    #[test]
    fn plain_client_repeating_its_name_ends_the_cycle() {
        let mut cycle = TtypeCycle::default();
        let mut info = ClientInfo::default();
        cycle.start();
        assert!(cycle.on_reply(&is("XTERM"), &mut info).send);
        assert!(!cycle.on_reply(&is("xterm"), &mut info).send);
        assert_eq!(info.terminal_type, "XTERM");
        assert_eq!(info.mtts, 0);
        // Anything after the end is ignored.
        assert_eq!(cycle.on_reply(&is("OTHER"), &mut info), TtypeOutcome::default());
    }

    #[test]
    fn never_more_than_four_requests() {
        let mut cycle = TtypeCycle::default();
        let mut info = ClientInfo::default();
        cycle.start();
        let mut sent = 1;
        for i in 0..10 {
            if cycle.on_reply(&is(&format!("T{i}")), &mut info).send {
                sent += 1;
            }
        }
        assert_eq!(sent, 4);
    }

    #[test]
    fn unsolicited_reply_is_read_but_asks_for_nothing() {
        let mut cycle = TtypeCycle::default();
        let mut info = ClientInfo::default();
        let o = cycle.on_reply(&is("TINTIN++"), &mut info);
        assert!(o.changed && !o.send);
        assert_eq!(info.terminal_type, "TINTIN++");
    }

    #[test]
    fn malformed_replies_are_errors() {
        let mut cycle = TtypeCycle::default();
        let mut info = ClientInfo::default();
        cycle.start();
        assert!(cycle.on_reply(&[1], &mut info).error.is_some());
        assert!(cycle.on_reply(&[], &mut info).error.is_some());
        cycle.on_reply(&is("X"), &mut info);
        let o = cycle.on_reply(&is("MTTS lots"), &mut info);
        assert!(o.error.is_some());
        assert_eq!(info.mtts, 0);
    }
}
