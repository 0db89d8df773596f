//! The telnet codec (pure, no I/O): bytes from a player's socket in, [`Inbound`] events out;
//! game text, prompts, GMCP, MSDP and MSSP in, bytes for the socket out.
//!
//! Why a pure codec: the session task owns the socket, the Kafka producer and the timers; the
//! protocol rules (RFC 854 framing, RFC 1143 negotiation, the MUD extensions) are easier to get
//! right, and to test against hostile input, as a plain state machine with no I/O. Everything it
//! holds is bounded by [`CodecConfig`], and no input makes it panic.
//!
//! Layout: [`codes`] (byte values), `parser` (framing), `options` (Q-method negotiation),
//! `line` (line assembly), `text` (output encoding), one file per option family (`naws`,
//! `ttype`, `charset`, `gmcp`, `msdp`, `mssp`), `mccp` (the output compressor). This file ties
//! them together in [`TelnetCodec`].
//!
//! Conventions chosen:
//! * We offer SGA (`WILL SGA`), as most MUD servers do: a client that agrees (`DO SGA`) gets
//!   prompts without GA (RFC 858), marked by EOR when that is agreed too; a client that refuses
//!   (`DONT SGA`, or no answer) keeps `IAC GA` after each prompt. (BSD telnet then types a
//!   character at a time with local echo; lines still assemble here as usual.)
//! * We never echo (`DO ECHO` is refused): clients echo their own input.
//! * Subnegotiations of known options are read whatever the negotiation state (some clients
//!   send NAWS before their WILL arrives, or a CHARSET REQUEST without WILL CHARSET, which is
//!   answered), but we start nothing (TTYPE SEND, our CHARSET REQUEST, MCCP2) unless the
//!   option was agreed.

pub mod codes;

mod charset;
mod gmcp;
mod line;
mod mccp;
mod msdp;
mod mssp;
mod naws;
mod options;
mod parser;
mod text;
mod ttype;

#[cfg(test)]
mod tests;

use mush_protocol::ClientInfo;

pub use mccp::Compressor;

use charset::{Charset, CharsetMessage};
use codes::{AO, AYT, BRK, DM, EC, EL, EOR_CMD, GA, IAC, NOP, SE, WILL, WONT, opt};
use line::LineAssembler;
use options::{OptionTable, Side};
use parser::{Parser, Token};
use ttype::TtypeCycle;

/// Limits and offers of one connection's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecConfig {
    /// Longer input lines are cut (see [`Inbound::LineTruncated`]).
    pub max_line_bytes: usize,
    /// A longer subnegotiation is dropped and reported as [`Inbound::ProtocolError`]; parsing
    /// resumes at its `IAC SE`. Also bounds decoded GMCP/MSDP events.
    pub max_subneg_bytes: usize,
    /// Offer MCCP2 (`WILL COMPRESS2`).
    pub offer_mccp: bool,
}

impl Default for CodecConfig {
    fn default() -> Self {
        Self {
            max_line_bytes: 8192,
            max_subneg_bytes: 32768,
            offer_mccp: true,
        }
    }
}

/// What the client's bytes amounted to, in the order they arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// One complete line without its terminator (CR LF, CR NUL, bare LF, and bare CR all end a
    /// line; NUL bytes are dropped; BS and DEL erase the previous character, UTF-8 aware).
    /// Converted from ISO-8859-1 (or US-ASCII) to UTF-8 when that charset was agreed; otherwise
    /// the bytes as read (may be invalid UTF-8: the game decides).
    Line(Vec<u8>),
    /// A line longer than `max_line_bytes`: its first bytes (at most `max_line_bytes`, cut at a
    /// character boundary when the text is UTF-8) and how many received bytes were left out.
    LineTruncated {
        line: Vec<u8>,
        dropped: usize,
    },
    /// Bytes to write to the client now (negotiation answers, TTYPE SEND, CHARSET REQUEST, ...).
    Reply(Vec<u8>),
    /// MCCP2 was agreed: the `Reply` just before this one is `IAC SB COMPRESS2 IAC SE`; write it
    /// uncompressed and compress everything written after it.
    StartCompression,
    /// The client reported a new window size (NAWS); repeats of the same size are not reported.
    WindowSize {
        width: u16,
        height: u16,
    },
    /// Terminal type, MTTS, charset, GMCP or MSDP changed: read [`TelnetCodec::client_info`].
    ClientInfoChanged,
    Gmcp {
        package: String,
        json: String,
    },
    /// One MSDP variable; arrays and tables rendered as JSON text, plain strings as they are.
    Msdp {
        variable: String,
        value: String,
    },
    /// The client agreed to MSSP: answer with [`TelnetCodec::encode_mssp`] from live figures.
    MsspRequested,
    /// The client broke the protocol in a way the codec recovered from (for logs and metrics;
    /// the connection goes on).
    ProtocolError(String),
}

/// One connection's telnet state: negotiation, partial input, what the client told us.
#[derive(Debug)]
pub struct TelnetCodec {
    config: CodecConfig,
    parser: Parser,
    lines: LineAssembler,
    options: OptionTable,
    ttype: TtypeCycle,
    charset: Charset,
    info: ClientInfo,
    window: Option<(u16, u16)>,
    compressing: bool,
}

impl TelnetCodec {
    pub fn new(config: CodecConfig) -> Self {
        Self {
            config,
            parser: Parser::new(config.max_subneg_bytes),
            lines: LineAssembler::new(config.max_line_bytes),
            options: OptionTable::new(),
            ttype: TtypeCycle::default(),
            charset: Charset::Unknown,
            info: ClientInfo::default(),
            window: None,
            compressing: false,
        }
    }

    /// Our opening offers, to send once right after accept: `DO NAWS`, `DO TTYPE`, `WILL SGA`,
    /// `WILL EOR`, `WILL GMCP`, `WILL MSDP`, `WILL MSSP`, `WILL CHARSET`, and `WILL COMPRESS2`
    /// if MCCP is offered. A second call returns nothing (the offers are pending or settled already).
    pub fn greeting(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offers = vec![
            (Side::Him, opt::NAWS),
            (Side::Him, opt::TTYPE),
            (Side::Us, opt::SGA),
            (Side::Us, opt::EOR),
            (Side::Us, opt::GMCP),
            (Side::Us, opt::MSDP),
            (Side::Us, opt::MSSP),
            (Side::Us, opt::CHARSET),
        ];
        if self.config.offer_mccp {
            offers.push((Side::Us, opt::COMPRESS2));
        }
        for (side, option) in offers {
            if let Some(command) = self.options.request_enable(side, option) {
                out.extend_from_slice(&command);
            }
        }
        out
    }

    /// Feeds bytes read from the socket, appending the events they complete. Any chunking gives
    /// the same events: unfinished sequences wait in the codec for the next call.
    pub fn receive(&mut self, input: &[u8], events: &mut Vec<Inbound>) {
        let mut pos = 0;
        while let Some(token) = self.parser.next_token(input, &mut pos) {
            match token {
                Token::Data(data) => self.lines.push(data, self.charset.single_byte(), events),
                Token::Command(command) => self.on_command(command, events),
                Token::Negotiate { verb, option } => self.on_negotiate(verb, option, events),
                Token::Subneg { option, data } => self.on_subneg(option, &data, events),
                Token::Error(what) => events.push(Inbound::ProtocolError(what)),
            }
        }
    }

    pub fn client_info(&self) -> &ClientInfo {
        &self.info
    }

    /// The last size the client reported (width, height); 0 means unknown per RFC 1073.
    pub fn window_size(&self) -> Option<(u16, u16)> {
        self.window
    }

    pub fn eor_enabled(&self) -> bool {
        self.options.enabled(Side::Us, opt::EOR)
    }

    pub fn gmcp_enabled(&self) -> bool {
        self.options.enabled(Side::Us, opt::GMCP)
    }

    pub fn msdp_enabled(&self) -> bool {
        self.options.enabled(Side::Us, opt::MSDP)
    }

    /// Game text: each '\n'-separated line followed by CR LF (a final '\n' adds no empty line;
    /// "" is one empty line), in the agreed charset, 0xFF doubled, stray CRs dropped.
    pub fn encode_text(&self, text: &str, out: &mut Vec<u8>) {
        text::encode_text(self.charset, text, out);
    }

    /// A prompt: the text without a line end, then `IAC EOR` if EOR was agreed, else `IAC GA`
    /// unless SGA was agreed.
    pub fn encode_prompt(&self, text: &str, out: &mut Vec<u8>) {
        text::encode_prompt_text(self.charset, text, out);
        if self.eor_enabled() {
            out.extend_from_slice(&[IAC, EOR_CMD]);
        } else if !self.options.enabled(Side::Us, opt::SGA) {
            out.extend_from_slice(&[IAC, GA]);
        }
    }

    /// `IAC SB GMCP <package> <json> IAC SE` (just the package when `json` is empty); `false`,
    /// with nothing written, if the client has not agreed to GMCP.
    pub fn encode_gmcp(&self, package: &str, json: &str, out: &mut Vec<u8>) -> bool {
        if !self.gmcp_enabled() {
            return false;
        }
        gmcp::encode(package, json, out);
        true
    }

    /// `IAC SB MSDP MSDP_VAR variable MSDP_VAL value IAC SE`, a JSON array/object value sent as
    /// an MSDP array/table; `false`, with nothing written, if the client has not agreed to MSDP.
    pub fn encode_msdp(&self, variable: &str, value: &str, out: &mut Vec<u8>) -> bool {
        if !self.msdp_enabled() {
            return false;
        }
        msdp::encode(variable, value, out);
        true
    }

    /// `IAC SB MSSP (MSSP_VAR name MSSP_VAL value)* IAC SE`.
    pub fn encode_mssp(&self, variables: &[(&str, String)], out: &mut Vec<u8>) {
        mssp::encode(variables, out);
    }

    /// Memory held for unfinished input (the partial line and subnegotiation), at most about
    /// `max_line_bytes + max_subneg_bytes`; counted against the gateway's memory budget.
    pub fn held_bytes(&self) -> usize {
        self.lines.held_bytes() + self.parser.held_bytes()
    }

    /// Bytes held for unfinished input: (partial line, partial subnegotiation).
    #[cfg(test)]
    fn buffered(&self) -> (usize, usize) {
        (self.lines.buffered(), self.parser.buffered())
    }

    /// Options the client may ask us to perform.
    fn us_supported(&self, option: u8) -> bool {
        match option {
            opt::SGA | opt::EOR | opt::GMCP | opt::MSDP | opt::MSSP | opt::CHARSET => true,
            opt::COMPRESS2 => self.config.offer_mccp,
            _ => false,
        }
    }

    /// Options we let the client perform.
    fn him_supported(option: u8) -> bool {
        matches!(option, opt::SGA | opt::NAWS | opt::TTYPE | opt::CHARSET)
    }

    fn on_command(&mut self, command: u8, events: &mut Vec<Inbound>) {
        match command {
            AYT => events.push(Inbound::Reply(b"[yes]\r\n".to_vec())),
            EC => self.lines.erase_char(),
            EL => self.lines.erase_line(),
            NOP | GA | DM | BRK | codes::IP | AO | EOR_CMD => {}
            SE => events.push(Inbound::ProtocolError(
                "IAC SE outside a subnegotiation".to_string(),
            )),
            other => events.push(Inbound::ProtocolError(format!("unknown telnet command {other}"))),
        }
    }

    fn on_negotiate(&mut self, verb: u8, option: u8, events: &mut Vec<Inbound>) {
        let side = if matches!(verb, WILL | WONT) {
            Side::Him
        } else {
            Side::Us
        };
        let acceptable = match side {
            Side::Him => Self::him_supported(option),
            Side::Us => self.us_supported(option),
        };
        let outcome = self.options.receive(verb, option, acceptable);
        if let Some(reply) = outcome.reply {
            events.push(Inbound::Reply(reply.to_vec()));
        }
        if let Some(enabled) = outcome.change {
            self.on_change(side, option, enabled, events);
        }
    }

    /// An option was just enabled or disabled.
    fn on_change(&mut self, side: Side, option: u8, enabled: bool, events: &mut Vec<Inbound>) {
        match (side, option) {
            (Side::Us, opt::GMCP) if self.info.gmcp != enabled => {
                self.info.gmcp = enabled;
                events.push(Inbound::ClientInfoChanged);
            }
            (Side::Us, opt::MSDP) if self.info.msdp != enabled => {
                self.info.msdp = enabled;
                events.push(Inbound::ClientInfoChanged);
            }
            (Side::Us, opt::MSSP) if enabled => events.push(Inbound::MsspRequested),
            (Side::Us, opt::CHARSET) if enabled => events.push(Inbound::Reply(charset::request())),
            (Side::Us, opt::COMPRESS2) => {
                if enabled && !self.compressing {
                    self.compressing = true;
                    let mut start = Vec::new();
                    codes::push_subneg(&mut start, opt::COMPRESS2, &[]);
                    events.push(Inbound::Reply(start));
                    events.push(Inbound::StartCompression);
                } else if !enabled && self.compressing {
                    events.push(Inbound::ProtocolError(
                        "client sent DONT COMPRESS2 after compression started; output stays compressed"
                            .to_string(),
                    ));
                }
            }
            (Side::Him, opt::TTYPE) if enabled => events.push(Inbound::Reply(self.ttype.start().to_vec())),
            _ => {}
        }
    }

    fn on_subneg(&mut self, option: u8, data: &[u8], events: &mut Vec<Inbound>) {
        let max = self.config.max_subneg_bytes;
        match option {
            opt::NAWS => match naws::decode(data) {
                Ok(size) => {
                    if self.window != Some(size) {
                        self.window = Some(size);
                        events.push(Inbound::WindowSize {
                            width: size.0,
                            height: size.1,
                        });
                    }
                }
                Err(what) => events.push(Inbound::ProtocolError(what)),
            },
            opt::TTYPE => {
                let outcome = self.ttype.on_reply(data, &mut self.info);
                if let Some(what) = outcome.error {
                    events.push(Inbound::ProtocolError(what));
                }
                if outcome.changed {
                    events.push(Inbound::ClientInfoChanged);
                }
                if outcome.send {
                    events.push(Inbound::Reply(ttype::SEND.to_vec()));
                }
            }
            opt::CHARSET => match charset::handle(data) {
                CharsetMessage::Accepted(charset) => self.set_charset(charset, events),
                CharsetMessage::Request { reply, chosen } => {
                    events.push(Inbound::Reply(reply));
                    if let Some(charset) = chosen {
                        self.set_charset(charset, events);
                    }
                }
                CharsetMessage::ReplyOnly(reply) => events.push(Inbound::Reply(reply)),
                CharsetMessage::Rejected | CharsetMessage::Ignored => {}
                CharsetMessage::Error(what) => events.push(Inbound::ProtocolError(what)),
            },
            opt::GMCP => match gmcp::decode(data) {
                Ok((package, json)) if package.len() + json.len() <= max => {
                    events.push(Inbound::Gmcp { package, json });
                }
                Ok(_) => events.push(Inbound::ProtocolError(format!(
                    "GMCP message longer than {max} bytes once decoded: dropped"
                ))),
                Err(what) => events.push(Inbound::ProtocolError(what)),
            },
            opt::MSDP => match msdp::decode(data) {
                Ok(pairs) => {
                    for (variable, value) in pairs {
                        if variable.len() + value.len() <= max {
                            events.push(Inbound::Msdp { variable, value });
                        } else {
                            events.push(Inbound::ProtocolError(format!(
                                "MSDP variable longer than {max} bytes once decoded: dropped"
                            )));
                        }
                    }
                }
                Err(what) => events.push(Inbound::ProtocolError(what)),
            },
            other => events.push(Inbound::ProtocolError(format!(
                "unexpected subnegotiation for option {other}"
            ))),
        }
    }

    fn set_charset(&mut self, charset: Charset, events: &mut Vec<Inbound>) {
        if self.charset != charset {
            self.charset = charset;
            self.info.charset = charset.name().to_string();
            events.push(Inbound::ClientInfoChanged);
        }
    }
}
