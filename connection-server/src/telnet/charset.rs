//! CHARSET (RFC 2066): which character set the client's text is in, both ways.
//!
//! We send `WILL CHARSET` and, once the client says `DO CHARSET`, a `REQUEST` offering UTF-8
//! then ISO-8859-1 (RFC 2066: only the side that sent WILL and received DO may send REQUEST).
//! A client that offers `WILL CHARSET` itself gets `DO` and may send its own REQUEST, which we
//! answer with UTF-8 if offered, else ISO-8859-1, else REJECTED. Both ways may happen on one
//! connection; since both prefer UTF-8 they agree. Knowing the charset matters because Latin-1
//! clients send and expect single bytes for accented letters, which the game (all UTF-8) would
//! otherwise see as invalid text.

use super::codes::{opt, push_subneg};

const REQUEST: u8 = 1;
const ACCEPTED: u8 = 2;
const REJECTED: u8 = 3;
const TTABLE_IS: u8 = 4;
const TTABLE_REJECTED: u8 = 5;

/// What we offer in our REQUEST, in order of preference.
const OFFER: &[u8] = b";UTF-8;ISO-8859-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Charset {
    /// Not negotiated: input is passed through as read, output is UTF-8.
    #[default]
    Unknown,
    Utf8,
    Latin1,
    Ascii,
}

impl Charset {
    /// The name recorded in `ClientInfo::charset` ("" when not negotiated).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Charset::Unknown => "",
            Charset::Utf8 => "UTF-8",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Ascii => "US-ASCII",
        }
    }

    /// One byte per character on the wire (input is converted to UTF-8 byte by byte).
    pub(crate) fn single_byte(self) -> bool {
        matches!(self, Charset::Latin1 | Charset::Ascii)
    }

    /// Highest code point the charset can carry as one byte (`None`: UTF-8, anything goes).
    pub(crate) fn max_char(self) -> Option<u32> {
        match self {
            Charset::Unknown | Charset::Utf8 => None,
            Charset::Latin1 => Some(0xFF),
            Charset::Ascii => Some(0x7F),
        }
    }

    /// Recognises a charset name (case-insensitive, with the usual aliases).
    pub(crate) fn from_name(name: &[u8]) -> Option<Charset> {
        let name = std::str::from_utf8(name).ok()?.trim().to_ascii_uppercase();
        match name.as_str() {
            "UTF-8" | "UTF8" => Some(Charset::Utf8),
            "ISO-8859-1" | "ISO8859-1" | "ISO_8859-1" | "ISO_8859-1:1987" | "LATIN1" | "LATIN-1" | "L1"
            | "ISO-IR-100" | "CP819" | "IBM819" => Some(Charset::Latin1),
            "US-ASCII" | "ASCII" | "US" | "ANSI_X3.4-1968" | "ISO646-US" => Some(Charset::Ascii),
            _ => None,
        }
    }
}

/// `IAC SB CHARSET REQUEST ;UTF-8;ISO-8859-1 IAC SE`.
pub(crate) fn request() -> Vec<u8> {
    let mut payload = vec![REQUEST];
    payload.extend_from_slice(OFFER);
    let mut out = Vec::new();
    push_subneg(&mut out, opt::CHARSET, &payload);
    out
}

/// What a CHARSET subnegotiation from the client means for us.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CharsetMessage {
    /// The client accepted a charset from our REQUEST (or answered its own REQUEST's choice).
    Accepted(Charset),
    /// The client accepted none of ours.
    Rejected,
    /// The client sent a REQUEST: `reply` to send; `Some(charset)` if we accepted one.
    Request {
        reply: Vec<u8>,
        chosen: Option<Charset>,
    },
    /// Something to send back and nothing else (a TTABLE-IS we never asked for).
    ReplyOnly(Vec<u8>),
    /// Nothing to do (TTABLE acknowledgements).
    Ignored,
    Error(String),
}

/// Interprets the payload of `IAC SB CHARSET ... IAC SE` from the client.
pub(crate) fn handle(data: &[u8]) -> CharsetMessage {
    let Some((&command, rest)) = data.split_first() else {
        return CharsetMessage::Error("empty CHARSET subnegotiation".to_string());
    };
    match command {
        ACCEPTED => match Charset::from_name(rest) {
            Some(charset @ (Charset::Utf8 | Charset::Latin1 | Charset::Ascii)) => {
                CharsetMessage::Accepted(charset)
            }
            _ => CharsetMessage::Error(format!(
                "client accepted a charset we did not offer: {:?}",
                String::from_utf8_lossy(rest).chars().take(32).collect::<String>()
            )),
        },
        REJECTED => CharsetMessage::Rejected,
        REQUEST => answer_request(rest),
        TTABLE_IS => {
            let mut reply = Vec::new();
            push_subneg(&mut reply, opt::CHARSET, &[TTABLE_REJECTED]);
            CharsetMessage::ReplyOnly(reply)
        }
        _ => CharsetMessage::Ignored,
    }
}

fn answer_request(rest: &[u8]) -> CharsetMessage {
    // An optional "[TTABLE]" and a version byte come before the list; we never use tables.
    let list = match rest.strip_prefix(b"[TTABLE]") {
        Some(after) => after.get(1..).unwrap_or_default(),
        None => rest,
    };
    let mut best: Option<(Charset, &[u8])> = None;
    if let Some((&separator, names)) = list.split_first() {
        for name in names.split(|&b| b == separator) {
            match Charset::from_name(name) {
                Some(Charset::Utf8) => {
                    best = Some((Charset::Utf8, name));
                    break;
                }
                Some(Charset::Latin1) if best.is_none() => best = Some((Charset::Latin1, name)),
                _ => {}
            }
        }
    }
    let mut reply = Vec::new();
    match best {
        Some((charset, name)) => {
            let mut payload = vec![ACCEPTED];
            payload.extend_from_slice(name);
            push_subneg(&mut reply, opt::CHARSET, &payload);
            CharsetMessage::Request {
                reply,
                chosen: Some(charset),
            }
        }
        None => {
            push_subneg(&mut reply, opt::CHARSET, &[REJECTED]);
            CharsetMessage::Request { reply, chosen: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::codes::{IAC, SB, SE};
    use super::*;

    fn sb(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![IAC, SB, opt::CHARSET];
        v.extend_from_slice(payload);
        v.extend_from_slice(&[IAC, SE]);
        v
    }

    #[test]
    fn our_request_offers_utf8_then_latin1() {
        assert_eq!(request(), sb(b"\x01;UTF-8;ISO-8859-1"));
    }

    #[test]
    fn accepted_answers_are_recognised_with_aliases() {
        assert_eq!(handle(b"\x02UTF-8"), CharsetMessage::Accepted(Charset::Utf8));
        assert_eq!(handle(b"\x02utf-8"), CharsetMessage::Accepted(Charset::Utf8));
        assert_eq!(
            handle(b"\x02ISO-8859-1"),
            CharsetMessage::Accepted(Charset::Latin1)
        );
        assert_eq!(handle(b"\x02LATIN1"), CharsetMessage::Accepted(Charset::Latin1));
        assert_eq!(handle(b"\x02US-ASCII"), CharsetMessage::Accepted(Charset::Ascii));
        assert!(matches!(handle(b"\x02KOI8-R"), CharsetMessage::Error(_)));
        assert_eq!(handle(b"\x03"), CharsetMessage::Rejected);
    }

    #[test]
    fn client_request_prefers_utf8_and_answers_with_its_spelling() {
        assert_eq!(
            handle(b"\x01 latin1 utf8"),
            CharsetMessage::Request {
                reply: sb(b"\x02utf8"),
                chosen: Some(Charset::Utf8)
            }
        );
        assert_eq!(
            handle(b"\x01;KOI8-R;ISO-8859-1"),
            CharsetMessage::Request {
                reply: sb(b"\x02ISO-8859-1"),
                chosen: Some(Charset::Latin1)
            }
        );
        assert_eq!(
            handle(b"\x01[TTABLE]\x01;UTF-8"),
            CharsetMessage::Request {
                reply: sb(b"\x02UTF-8"),
                chosen: Some(Charset::Utf8)
            }
        );
    }

    #[test]
    fn client_request_without_a_known_charset_is_rejected() {
        for req in [&b"\x01;KOI8-R;CP1251"[..], b"\x01", b"\x01;US-ASCII"] {
            assert_eq!(
                handle(req),
                CharsetMessage::Request {
                    reply: sb(b"\x03"),
                    chosen: None
                }
            );
        }
    }

    #[test]
    fn translation_tables_are_refused() {
        assert_eq!(handle(b"\x04\x01stuff"), CharsetMessage::ReplyOnly(sb(b"\x05")));
    }
}
