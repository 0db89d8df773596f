//! A connection's protocol, whatever the transport: telnet (plain or TLS) or the browser's
//! JSON over WebSocket. The session reads [`Inbound`] events from it and stages the game's
//! output through it; it never looks at bytes itself.

use mush_protocol::ClientInfo;

pub use crate::telnet::Inbound;
use crate::telnet::TelnetCodec;
pub use crate::web::codec::GameStatus;
use crate::web::codec::WebCodec;

#[derive(Debug)]
pub enum ClientCodec {
    Telnet(Box<TelnetCodec>),
    Web(WebCodec),
}

impl ClientCodec {
    /// What is sent first: telnet's option offers, or the browser's `hello`.
    pub fn greeting(&mut self, game: &str) -> Vec<u8> {
        match self {
            ClientCodec::Telnet(c) => c.greeting(),
            ClientCodec::Web(c) => c.greeting(game),
        }
    }

    /// Bytes read from a telnet stream, or one WebSocket text message.
    pub fn receive(&mut self, input: &[u8], events: &mut Vec<Inbound>) {
        match self {
            ClientCodec::Telnet(c) => c.receive(input, events),
            ClientCodec::Web(c) => c.receive(input, events),
        }
    }

    /// A WebSocket binary message (never sent on a telnet stream).
    pub fn receive_binary(&mut self, events: &mut Vec<Inbound>) {
        if let ClientCodec::Web(c) = self {
            c.receive_binary(events);
        }
    }

    pub fn client_info(&self) -> &ClientInfo {
        match self {
            ClientCodec::Telnet(c) => c.client_info(),
            ClientCodec::Web(c) => c.client_info(),
        }
    }

    pub fn encode_text(&self, text: &str, out: &mut Vec<u8>) {
        match self {
            ClientCodec::Telnet(c) => c.encode_text(text, out),
            ClientCodec::Web(c) => c.encode_text(text, out),
        }
    }

    pub fn encode_prompt(&self, text: &str, out: &mut Vec<u8>) {
        match self {
            ClientCodec::Telnet(c) => c.encode_prompt(text, out),
            ClientCodec::Web(c) => c.encode_prompt(text, out),
        }
    }

    pub fn encode_gmcp(&self, package: &str, json: &str, out: &mut Vec<u8>) {
        match self {
            ClientCodec::Telnet(c) => {
                c.encode_gmcp(package, json, out);
            }
            ClientCodec::Web(c) => c.encode_gmcp(package, json, out),
        }
    }

    pub fn encode_msdp(&self, variable: &str, value: &str, out: &mut Vec<u8>) {
        match self {
            ClientCodec::Telnet(c) => {
                c.encode_msdp(variable, value, out);
            }
            ClientCodec::Web(c) => c.encode_msdp(variable, value, out),
        }
    }

    /// The MSSP answer (telnet only: a browser never asks).
    pub fn encode_mssp(&self, variables: &[(&str, String)], out: &mut Vec<u8>) {
        if let ClientCodec::Telnet(c) = self {
            c.encode_mssp(variables, out);
        }
    }

    /// Whether the game is restarting (a browser shows it; telnet players read the game's
    /// own messages and the gateway's notices).
    pub fn encode_status(&self, status: GameStatus, out: &mut Vec<u8>) {
        if let ClientCodec::Web(c) = self {
            c.encode_status(status, out);
        }
    }

    /// Why the last message was not understood (a browser shows it; a telnet protocol error is
    /// only counted, as telnet clients have no place to show it).
    pub fn encode_error(&self, message: &str, out: &mut Vec<u8>) {
        if let ClientCodec::Web(c) = self {
            c.encode_error(message, out);
        }
    }

    /// Memory held for unfinished input (a browser's messages arrive whole: none).
    pub fn held_bytes(&self) -> usize {
        match self {
            ClientCodec::Telnet(c) => c.held_bytes(),
            ClientCodec::Web(_) => 0,
        }
    }
}
