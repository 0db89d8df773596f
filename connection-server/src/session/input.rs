//! The input half of a session, pure: which budget class each event the codec yields is
//! charged to, what an event holds while Kafka has not acknowledged it, and the "latest value
//! wins" events (window size, client info) that wait for a token in constant space. The session
//! applies these decisions; the budgets themselves are `crate::limits` (also pure, with the
//! clock passed in).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mush_protocol::GatewayEventKind;

use crate::codec::Inbound;
use crate::limits::EventClass;

/// What an input event holds beyond its payload (envelope, key, the Kafka client's record).
pub const EVENT_OVERHEAD: usize = 128;

/// A "latest value wins" event: only its newest value matters to the game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latest {
    WindowSize {
        width: u16,
        height: u16,
    },
    /// The value is read from the codec when published, so it is always the newest.
    ClientInfo,
}

/// "Latest value wins" events waiting for a token: the newest of each kind only, so a flood
/// of window sizes reaches the game as at most one event per token, in constant memory.
#[derive(Debug, Default)]
pub struct LatestValues {
    window: Option<(u16, u16)>,
    client_info: bool,
}

impl LatestValues {
    /// Keeps `value` until a token is free; true if it replaced a waiting value of its kind.
    pub fn set(&mut self, value: Latest) -> bool {
        match value {
            Latest::WindowSize { width, height } => self.window.replace((width, height)).is_some(),
            Latest::ClientInfo => std::mem::replace(&mut self.client_info, true),
        }
    }

    /// The next waiting value (window size first), left waiting.
    pub fn peek(&self) -> Option<Latest> {
        match self.window {
            Some((width, height)) => Some(Latest::WindowSize { width, height }),
            None => self.client_info.then_some(Latest::ClientInfo),
        }
    }

    /// Takes the next waiting value (window size first).
    pub fn pop(&mut self) -> Option<Latest> {
        let next = self.peek();
        match next {
            Some(Latest::WindowSize { .. }) => self.window = None,
            Some(Latest::ClientInfo) => self.client_info = false,
            None => {}
        }
        next
    }
}

/// How the input budget charges an event, or `None` for the one that is free: the start of
/// compression follows the answer that agreed to it, which was charged.
pub fn class_of(event: &Inbound) -> Option<EventClass> {
    match event {
        Inbound::Line(_) | Inbound::LineTruncated { .. } => Some(EventClass::Line),
        Inbound::WindowSize { .. } | Inbound::ClientInfoChanged => Some(EventClass::Latest),
        Inbound::Reply(_) => Some(EventClass::Answer),
        Inbound::Gmcp { .. } | Inbound::Msdp { .. } | Inbound::MsspRequested | Inbound::ProtocolError(_) => {
            Some(EventClass::Other)
        }
        Inbound::StartCompression => None,
    }
}

/// The bytes an input event holds until Kafka acknowledges it.
pub fn event_size(kind: &GatewayEventKind) -> usize {
    EVENT_OVERHEAD
        + match kind {
            GatewayEventKind::Input { line } => line.len(),
            GatewayEventKind::SealedInput {
                nonce, ciphertext, ..
            } => nonce.len() + ciphertext.len(),
            GatewayEventKind::Gmcp { package, json } => package.len() + json.len(),
            GatewayEventKind::Msdp { variable, value } => variable.len() + value.len(),
            GatewayEventKind::ClientInfo(info) => info.terminal_type.len() + info.charset.len(),
            GatewayEventKind::Connected {
                peer_addr, gateway, ..
            } => peer_addr.len() + gateway.len(),
            GatewayEventKind::Disconnected { detail, .. } => detail.len(),
            GatewayEventKind::WindowSize { .. }
            | GatewayEventKind::Timer { .. }
            | GatewayEventKind::Unknown => 0,
        }
}

/// The first 40 characters of a line, to name it in a notice.
pub fn shown(line: &[u8]) -> String {
    String::from_utf8_lossy(line).chars().take(40).collect()
}

/// Input unacknowledged this long means Kafka is unreachable: the player is told.
pub const UNREACHABLE_AFTER: Duration = Duration::from_secs(2);
pub const UNREACHABLE_NOTICE: &str =
    "*** The game is not reachable right now. What you type is held and delivered when it is back. ***";
pub const REACHABLE_NOTICE: &str = "*** The game is reachable again. ***";

/// How much unacknowledged input one connection may hold: events, and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLimits {
    pub events: usize,
    pub bytes: usize,
}

/// Events handed to Kafka and not yet acknowledged, oldest first: when each was handed over
/// and what it holds (`H`: its share of the memory budget, which also counts its bytes), and
/// whether the player has been told that the game is unreachable. Acknowledgements come in the
/// order events were handed over (one partition per handle).
#[derive(Debug)]
pub struct Unacknowledged<H> {
    events: VecDeque<(Instant, H)>,
    told_unreachable: bool,
}

impl<H> Default for Unacknowledged<H> {
    fn default() -> Self {
        Self {
            events: VecDeque::new(),
            told_unreachable: false,
        }
    }
}

impl<H> Unacknowledged<H> {
    /// Whether one more event of `size` bytes may be held beside the `held_bytes` the events
    /// already hold, or the limit label that says why not. One event alone always fits, however
    /// large (the line length bounds it).
    pub fn room(&self, size: usize, held_bytes: usize, limits: HeldLimits) -> Result<(), &'static str> {
        if self.events.len() >= limits.events {
            return Err("held_input_full");
        }
        if !self.events.is_empty() && held_bytes + size > limits.bytes {
            return Err("held_input_bytes");
        }
        Ok(())
    }

    /// An event was handed over at `now`.
    pub fn handed(&mut self, now: Instant, held: H) {
        self.events.push_back((now, held));
    }

    /// The oldest event was acknowledged (delivered or failed); the notice to give when that
    /// makes the game reachable again for a player who was told it was not.
    pub fn acknowledged(&mut self) -> Option<&'static str> {
        self.events.pop_front();
        if self.events.is_empty() && self.told_unreachable {
            self.told_unreachable = false;
            return Some(REACHABLE_NOTICE);
        }
        None
    }

    /// Whether the session should look again in [`UNREACHABLE_AFTER`]: input waits, and the
    /// player has not been told yet.
    pub fn may_become_unreachable(&self) -> bool {
        !self.told_unreachable && !self.events.is_empty()
    }

    /// The notice to give now, once, if the oldest event has waited [`UNREACHABLE_AFTER`].
    pub fn unreachable_notice(&mut self, now: Instant) -> Option<&'static str> {
        let waited = self
            .events
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= UNREACHABLE_AFTER);
        if waited && !self.told_unreachable {
            self.told_unreachable = true;
            return Some(UNREACHABLE_NOTICE);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Abuse, Admission, InputBudget};
    use crate::telnet::codes::{DO, IAC, SB, SE, WILL, opt};
    use crate::telnet::{CodecConfig, TelnetCodec};
    use bytes::Bytes;
    use std::time::Instant;

    #[test]
    fn the_newest_window_size_and_client_info_wait_in_constant_space() {
        let mut l = LatestValues::default();
        assert_eq!(l.peek(), None);
        assert!(!l.set(Latest::WindowSize {
            width: 80,
            height: 24
        }));
        for w in 0..10_000u16 {
            assert!(l.set(Latest::WindowSize { width: w, height: 50 }));
        }
        assert!(!l.set(Latest::ClientInfo));
        assert!(l.set(Latest::ClientInfo));
        let newest = Latest::WindowSize {
            width: 9999,
            height: 50,
        };
        assert_eq!(l.peek(), Some(newest), "peeking leaves it waiting");
        assert_eq!(l.peek(), Some(newest));
        assert_eq!(
            l.pop(),
            Some(Latest::WindowSize {
                width: 9999,
                height: 50
            })
        );
        assert_eq!(l.peek(), Some(Latest::ClientInfo));
        assert_eq!(l.pop(), Some(Latest::ClientInfo));
        assert_eq!(l.pop(), None);
        assert_eq!(l.peek(), None);
    }

    #[test]
    fn every_event_but_the_start_of_compression_is_charged() {
        assert_eq!(class_of(&Inbound::Line(b"look".to_vec())), Some(EventClass::Line));
        assert_eq!(
            class_of(&Inbound::LineTruncated {
                line: vec![],
                dropped: 3
            }),
            Some(EventClass::Line)
        );
        assert_eq!(
            class_of(&Inbound::WindowSize { width: 1, height: 1 }),
            Some(EventClass::Latest)
        );
        assert_eq!(class_of(&Inbound::ClientInfoChanged), Some(EventClass::Latest));
        assert_eq!(class_of(&Inbound::Reply(vec![IAC])), Some(EventClass::Answer));
        for other in [
            Inbound::Gmcp {
                package: "a".into(),
                json: String::new(),
            },
            Inbound::Msdp {
                variable: "a".into(),
                value: String::new(),
            },
            Inbound::MsspRequested,
            Inbound::ProtocolError("x".into()),
        ] {
            assert_eq!(class_of(&other), Some(EventClass::Other), "{other:?}");
        }
        assert_eq!(class_of(&Inbound::StartCompression), None);
    }

    #[test]
    fn held_input_is_counted_by_its_payload() {
        let line = GatewayEventKind::Input {
            line: Bytes::from(vec![b'x'; 1000]),
        };
        assert_eq!(event_size(&line), 1000 + EVENT_OVERHEAD);
        let msdp = GatewayEventKind::Msdp {
            variable: "abc".into(),
            value: "x".repeat(30_000),
        };
        assert_eq!(event_size(&msdp), 30_003 + EVENT_OVERHEAD);
        assert_eq!(
            event_size(&GatewayEventKind::WindowSize { width: 1, height: 2 }),
            EVENT_OVERHEAD
        );
    }

    fn sb(option: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![IAC, SB, option];
        v.extend_from_slice(payload);
        v.extend_from_slice(&[IAC, SE]);
        v
    }

    /// A full-featured client's opening (everything offered accepted, the terminal type cycle,
    /// charset, GMCP hello and supports, a window size, MCCP2), then its login line: with the
    /// default limits before login nothing is refused, dropped or counted as a strike.
    #[test]
    fn a_full_clients_opening_fits_the_default_budget_before_login() {
        use clap::Parser as _;
        let config = crate::config::Config::try_parse_from(["connection-server"]).unwrap();
        let t0 = Instant::now();
        let mut budget = InputBudget::new(config.input_policy(), t0);
        let mut codec = TelnetCodec::new(CodecConfig::default());
        codec.greeting();
        let mut opening = Vec::new();
        for (verb, option) in [
            (WILL, opt::NAWS),
            (WILL, opt::TTYPE),
            (DO, opt::EOR),
            (DO, opt::GMCP),
            (DO, opt::MSDP),
            (DO, opt::MSSP),
            (DO, opt::CHARSET),
            (DO, opt::COMPRESS2),
        ] {
            opening.extend_from_slice(&[IAC, verb, option]);
        }
        opening.extend(sb(opt::NAWS, &[0, 120, 0, 40]));
        opening.extend(sb(opt::TTYPE, b"\x00MUDLET"));
        opening.extend(sb(opt::CHARSET, b"\x02UTF-8"));
        opening.extend(sb(opt::TTYPE, b"\x00XTERM-256COLOR"));
        opening.extend(sb(opt::TTYPE, b"\x00MTTS 2825"));
        opening.extend(sb(opt::TTYPE, b"\x00MTTS 2825"));
        opening.extend(sb(
            opt::GMCP,
            br#"Core.Hello {"client":"Mudlet","version":"4.17"}"#,
        ));
        opening.extend(sb(
            opt::GMCP,
            br#"Core.Supports.Set ["Char 1","Room 1","Comm.Channel 1"]"#,
        ));
        opening.extend(sb(opt::NAWS, &[0, 132, 0, 43]));
        opening.extend_from_slice(b"connect alice secret\r\n");
        let mut events = Vec::new();
        codec.receive(&opening, &mut events);
        let charged: Vec<EventClass> = events.iter().filter_map(class_of).collect();
        assert!(charged.len() >= 16, "a rich opening: {events:?}");
        let mut waiting_lines = 0;
        for class in charged {
            match budget.admit(class, waiting_lines, t0) {
                Admission::Now => {}
                Admission::Wait if class == EventClass::Line => waiting_lines += 1,
                other => panic!("{class:?} was {other:?} in {events:?}"),
            }
        }
        assert_eq!(budget.strikes(t0), 0);
        assert_eq!(waiting_lines, 0, "the login line went at once");
    }

    #[test]
    fn a_subnegotiation_flood_before_login_is_held_to_the_budget_and_ends_in_strikes() {
        // Before login: 4 events a second (burst 10), 2 KiB a second (burst 8 KiB), 20 strikes.
        let policy = crate::limits::tests::policy();
        let t0 = Instant::now();
        let mut budget = InputBudget::new(policy, t0);
        let mut codec = TelnetCodec::new(CodecConfig::default());
        codec.greeting();
        let mut flood = vec![IAC, DO, opt::MSDP];
        for i in 0..1000 {
            flood.extend(sb(opt::MSDP, format!("\x01VAR{i}\x02value").as_bytes()));
        }
        // As the session reads it: within the bytes budget, chunk by chunk.
        let mut published = 0;
        let mut read = 0;
        let mut abuse = None;
        'reading: while read < flood.len() {
            let n = budget
                .read_allowance(t0)
                .min(crate::link::READ_CHUNK)
                .min(flood.len() - read);
            assert!(n > 0, "the bytes budget ran out before the strikes ended it");
            budget.charge_read(n, t0);
            let mut events = Vec::new();
            codec.receive(&flood[read..read + n], &mut events);
            read += n;
            for ev in &events {
                if budget.admit(class_of(ev).unwrap(), 0, t0) == Admission::Now
                    && matches!(ev, Inbound::Msdp { .. } | Inbound::ClientInfoChanged)
                {
                    published += 1;
                }
                abuse = budget.abuse(t0);
                if abuse.is_some() {
                    break 'reading;
                }
            }
        }
        assert_eq!(abuse, Some(Abuse::Strikes));
        assert!(published <= 10, "{published} events reached Kafka");
        assert!(read <= 8192, "read {read} bytes");
    }

    const LIMITS: HeldLimits = HeldLimits {
        events: 3,
        bytes: 1000,
    };

    #[test]
    fn held_input_is_bounded_in_events_and_bytes_but_one_event_always_fits() {
        let now = Instant::now();
        // `H` is each event's size here, as a byte share would count it.
        let mut held: Unacknowledged<usize> = Unacknowledged::default();
        let bytes = |h: &Unacknowledged<usize>| h.events.iter().map(|(_, size)| size).sum::<usize>();
        assert_eq!(
            held.room(5000, bytes(&held), LIMITS),
            Ok(()),
            "one event alone fits, whatever its size"
        );
        held.handed(now, 600);
        assert_eq!(held.room(500, bytes(&held), LIMITS), Err("held_input_bytes"));
        assert_eq!(held.room(400, bytes(&held), LIMITS), Ok(()));
        held.handed(now, 100);
        held.handed(now, 100);
        assert_eq!(held.room(1, bytes(&held), LIMITS), Err("held_input_full"));
        held.acknowledged();
        assert_eq!(
            held.room(1, bytes(&held), LIMITS),
            Ok(()),
            "an acknowledgement frees its event and bytes"
        );
        assert_eq!(held.room(801, bytes(&held), LIMITS), Err("held_input_bytes"));
        assert_eq!(held.room(800, bytes(&held), LIMITS), Ok(()));
    }

    #[test]
    fn the_player_is_told_once_when_input_waits_too_long_and_once_when_it_flows_again() {
        let start = Instant::now();
        let mut held: Unacknowledged<()> = Unacknowledged::default();
        assert!(!held.may_become_unreachable(), "nothing waits");
        held.handed(start, ());
        held.handed(start + Duration::from_secs(1), ());
        assert!(held.may_become_unreachable());
        assert_eq!(held.unreachable_notice(start + Duration::from_millis(1999)), None);
        assert_eq!(
            held.unreachable_notice(start + UNREACHABLE_AFTER),
            Some(UNREACHABLE_NOTICE)
        );
        assert_eq!(
            held.unreachable_notice(start + Duration::from_secs(9)),
            None,
            "told once"
        );
        assert!(!held.may_become_unreachable());
        assert_eq!(held.acknowledged(), None, "one event still waits");
        assert_eq!(held.acknowledged(), Some(REACHABLE_NOTICE));
        assert_eq!(held.acknowledged(), None, "told once");
    }

    #[test]
    fn a_game_that_answers_in_time_is_never_called_unreachable() {
        let start = Instant::now();
        let mut held: Unacknowledged<()> = Unacknowledged::default();
        for i in 0..100 {
            let now = start + Duration::from_millis(500 * i);
            held.handed(now, ());
            assert_eq!(held.unreachable_notice(now + Duration::from_millis(400)), None);
            assert_eq!(held.acknowledged(), None);
        }
    }
}
