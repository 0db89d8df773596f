//! The browser protocol (`docs/web-protocol.md`), pure: one JSON object per WebSocket text
//! message, read into the same [`Inbound`] events a telnet client's bytes become, and the game's
//! output written as JSON objects, one per line of the staged output (a JSON text never holds a
//! raw newline, so the line is the message boundary when the bytes are sent).

use mush_protocol::ClientInfo;
use serde::{Deserialize, Serialize};

use crate::telnet::Inbound;

/// The protocol version in the `hello` message.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest client name kept (the game sees it as the terminal type).
const MAX_CLIENT_NAME: usize = 64;
/// MTTS bits a browser has: ANSI, UTF-8, 256 colours, truecolor.
const BROWSER_MTTS: u32 = 1 | 4 | 8 | 256;
/// MTTS bit: the connection is encrypted.
const MTTS_SSL: u32 = 2048;

/// Whether a game-server holds the game right now (from its leadership lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameStatus {
    Running,
    Restarting,
}

impl GameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GameStatus::Running => "running",
            GameStatus::Restarting => "restarting",
        }
    }
}

/// What a browser may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum FromBrowser {
    Input {
        text: String,
    },
    Window {
        width: u16,
        height: u16,
    },
    Client {
        name: String,
        #[serde(default)]
        version: String,
    },
    Gmcp {
        package: String,
        #[serde(default)]
        data: Option<serde_json::Value>,
    },
}

/// What the gateway sends a browser.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ToBrowser<'a> {
    Hello {
        protocol: u32,
        game: &'a str,
    },
    Text {
        text: &'a str,
    },
    Prompt {
        text: &'a str,
    },
    Gmcp {
        package: &'a str,
        data: serde_json::Value,
    },
    Msdp {
        variable: &'a str,
        value: &'a str,
    },
    Status {
        game: &'a str,
    },
    Error {
        message: &'a str,
    },
}

/// One browser connection's protocol state.
#[derive(Debug, Clone)]
pub struct WebCodec {
    max_line_bytes: usize,
    info: ClientInfo,
}

impl WebCodec {
    pub fn new(max_line_bytes: usize, tls: bool) -> Self {
        Self {
            max_line_bytes,
            info: ClientInfo {
                terminal_type: "WEB".into(),
                mtts: BROWSER_MTTS | if tls { MTTS_SSL } else { 0 },
                charset: "UTF-8".into(),
                gmcp: true,
                msdp: true,
            },
        }
    }

    /// The first message: the protocol version and the game's name.
    pub fn greeting(&self, game: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write(
            &ToBrowser::Hello {
                protocol: PROTOCOL_VERSION,
                game,
            },
            &mut out,
        );
        out
    }

    /// Reads one text message, appending the events it holds.
    pub fn receive(&mut self, message: &[u8], events: &mut Vec<Inbound>) {
        let parsed = match serde_json::from_slice::<FromBrowser>(message) {
            Ok(m) => m,
            Err(e) => {
                events.push(Inbound::ProtocolError(format!(
                    "not a message this gateway knows: {e}"
                )));
                return;
            }
        };
        match parsed {
            FromBrowser::Input { text } => self.lines(&text, events),
            FromBrowser::Window { width, height } if width > 0 && height > 0 => {
                events.push(Inbound::WindowSize { width, height });
            }
            FromBrowser::Window { .. } => {
                events.push(Inbound::ProtocolError("a window is at least 1 by 1".into()));
            }
            FromBrowser::Client { name, version } => {
                let mut name: String = name
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_CLIENT_NAME)
                    .collect();
                if name.is_empty() {
                    events.push(Inbound::ProtocolError("a client needs a name".into()));
                    return;
                }
                let version: String = version.chars().filter(|c| !c.is_control()).take(16).collect();
                if !version.is_empty() {
                    name = format!("{name} {version}");
                }
                if self.info.terminal_type != name {
                    self.info.terminal_type = name;
                    events.push(Inbound::ClientInfoChanged);
                }
            }
            FromBrowser::Gmcp { package, data } => {
                if package.is_empty() || package.len() > 128 || package.contains(char::is_whitespace) {
                    events.push(Inbound::ProtocolError("a GMCP package is one word".into()));
                    return;
                }
                let json = data.map(|d| d.to_string()).unwrap_or_default();
                events.push(Inbound::Gmcp { package, json });
            }
        }
    }

    /// A binary message: not part of the protocol.
    pub fn receive_binary(&mut self, events: &mut Vec<Inbound>) {
        events.push(Inbound::ProtocolError(
            "binary messages are not accepted: send JSON text".into(),
        ));
    }

    /// Each line of typed text, as a telnet line would be (CR LF, LF or CR end a line), cut at
    /// `max_line_bytes` on a character boundary.
    fn lines(&self, text: &str, events: &mut Vec<Inbound>) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.len() <= self.max_line_bytes {
                events.push(Inbound::Line(line.as_bytes().to_vec()));
                continue;
            }
            let mut cut = self.max_line_bytes;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            events.push(Inbound::LineTruncated {
                line: line.as_bytes()[..cut].to_vec(),
                dropped: line.len() - cut,
            });
        }
    }

    pub fn client_info(&self) -> &ClientInfo {
        &self.info
    }

    /// Game text, ANSI codes kept; a final line end is implied by the message.
    pub fn encode_text(&self, text: &str, out: &mut Vec<u8>) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        write(&ToBrowser::Text { text }, out);
    }

    pub fn encode_prompt(&self, text: &str, out: &mut Vec<u8>) {
        write(&ToBrowser::Prompt { text }, out);
    }

    /// GMCP data as JSON (a string when the game's text is not JSON).
    pub fn encode_gmcp(&self, package: &str, json: &str, out: &mut Vec<u8>) {
        let data = if json.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(json).unwrap_or_else(|_| serde_json::Value::String(json.to_owned()))
        };
        write(&ToBrowser::Gmcp { package, data }, out);
    }

    pub fn encode_msdp(&self, variable: &str, value: &str, out: &mut Vec<u8>) {
        write(&ToBrowser::Msdp { variable, value }, out);
    }

    pub fn encode_status(&self, status: GameStatus, out: &mut Vec<u8>) {
        write(
            &ToBrowser::Status {
                game: status.as_str(),
            },
            out,
        );
    }

    pub fn encode_error(&self, message: &str, out: &mut Vec<u8>) {
        write(&ToBrowser::Error { message }, out);
    }
}

/// Appends one message and the newline that ends it.
fn write(message: &ToBrowser<'_>, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, message).expect("a message always serializes");
    out.push(b'\n');
}

/// The messages staged in `out`, one per line.
pub fn messages(out: &[u8]) -> impl Iterator<Item = &[u8]> {
    out.split(|b| *b == b'\n').filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(codec: &mut WebCodec, message: &str) -> Vec<Inbound> {
        let mut events = Vec::new();
        codec.receive(message.as_bytes(), &mut events);
        events
    }

    fn sent(out: &[u8]) -> Vec<serde_json::Value> {
        messages(out)
            .map(|m| serde_json::from_slice(m).expect("each staged line is one JSON object"))
            .collect()
    }

    #[test]
    fn typed_text_becomes_lines_like_telnet_input() {
        let mut c = WebCodec::new(8192, false);
        assert_eq!(
            read(&mut c, r#"{"type":"input","text":"say hello"}"#),
            [Inbound::Line(b"say hello".to_vec())]
        );
        assert_eq!(
            read(
                &mut c,
                r#"{"type":"input","text":"look\r\nsay two\nsay three\n"}"#
            ),
            [
                Inbound::Line(b"look".to_vec()),
                Inbound::Line(b"say two".to_vec()),
                Inbound::Line(b"say three".to_vec())
            ],
            "a paste is one command per line"
        );
        assert_eq!(
            read(&mut c, r#"{"type":"input","text":""}"#),
            [Inbound::Line(Vec::new())],
            "an empty line is a line"
        );
    }

    #[test]
    fn a_long_line_is_cut_on_a_character_boundary() {
        let mut c = WebCodec::new(10, false);
        let events = read(&mut c, r#"{"type":"input","text":"say ééééééé"}"#);
        assert_eq!(
            events,
            [Inbound::LineTruncated {
                line: "say ééé".as_bytes().to_vec(),
                dropped: 8
            }]
        );
    }

    #[test]
    fn window_client_and_gmcp_messages() {
        let mut c = WebCodec::new(8192, true);
        assert_eq!(c.client_info().charset, "UTF-8");
        assert_ne!(c.client_info().mtts & MTTS_SSL, 0, "over TLS");
        assert_eq!(
            read(&mut c, r#"{"type":"window","width":120,"height":40}"#),
            [Inbound::WindowSize {
                width: 120,
                height: 40
            }]
        );
        assert_eq!(
            read(&mut c, r#"{"type":"client","name":"mush-web","version":"1"}"#),
            [Inbound::ClientInfoChanged]
        );
        assert_eq!(c.client_info().terminal_type, "mush-web 1");
        assert!(
            read(&mut c, r#"{"type":"client","name":"mush-web","version":"1"}"#).is_empty(),
            "the same client again changes nothing"
        );
        assert_eq!(
            read(
                &mut c,
                r#"{"type":"gmcp","package":"Core.Hello","data":{"client":"mush-web"}}"#
            ),
            [Inbound::Gmcp {
                package: "Core.Hello".into(),
                json: r#"{"client":"mush-web"}"#.into()
            }]
        );
    }

    #[test]
    fn anything_else_is_a_protocol_error_that_says_why() {
        let mut c = WebCodec::new(8192, false);
        for bad in [
            "not json",
            "{}",
            r#"{"type":"input"}"#,
            r#"{"type":"input","text":5}"#,
            r#"{"type":"shell","text":"rm"}"#,
            r#"{"type":"input","text":"x","extra":1}"#,
            r#"{"type":"window","width":0,"height":10}"#,
            r#"{"type":"window","width":70000,"height":10}"#,
            r#"{"type":"client","name":""}"#,
            r#"{"type":"gmcp","package":"two words"}"#,
            "[1,2,3]",
            "\u{0}\u{1}",
        ] {
            let events = read(&mut c, bad);
            assert!(
                matches!(events.as_slice(), [Inbound::ProtocolError(why)] if !why.is_empty()),
                "{bad:?} gave {events:?}"
            );
        }
        let mut events = Vec::new();
        c.receive_binary(&mut events);
        assert!(matches!(events.as_slice(), [Inbound::ProtocolError(_)]));
    }

    #[test]
    fn output_is_one_json_object_per_line() {
        let c = WebCodec::new(8192, false);
        let mut out = c.greeting("Test Game");
        c.encode_text("\x1b[1;31mRed\x1b[0m line one\nline \"two\"\n", &mut out);
        c.encode_prompt("> ", &mut out);
        c.encode_gmcp("Room.Info", r#"{"name":"The Hall","num":2}"#, &mut out);
        c.encode_gmcp("Odd", "not json", &mut out);
        c.encode_msdp("HEALTH", "10", &mut out);
        c.encode_status(GameStatus::Restarting, &mut out);
        c.encode_error("what?", &mut out);
        let sent = sent(&out);
        assert_eq!(sent.len(), 8, "{sent:?}");
        assert_eq!(sent[0]["type"], "hello");
        assert_eq!(sent[0]["protocol"], 1);
        assert_eq!(sent[0]["game"], "Test Game");
        assert_eq!(
            sent[1]["text"], "\x1b[1;31mRed\x1b[0m line one\nline \"two\"",
            "ANSI kept, the final line end implied"
        );
        assert_eq!(sent[2]["type"], "prompt");
        assert_eq!(sent[3]["data"]["name"], "The Hall");
        assert_eq!(sent[4]["data"], "not json");
        assert_eq!(sent[5]["variable"], "HEALTH");
        assert_eq!(sent[6]["game"], "restarting");
        assert_eq!(sent[7]["message"], "what?");
    }
}
