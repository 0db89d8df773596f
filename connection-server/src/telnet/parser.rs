//! The byte-level RFC 854 state machine: splits the raw stream into data runs, commands,
//! negotiations and subnegotiations.
//!
//! It knows nothing about what options mean; it only frames. It is resumable at any byte, so a
//! sequence cut across two socket reads gives exactly the tokens it would give in one read. It
//! never holds more than `max_subneg` bytes: a longer subnegotiation is dropped (reported once)
//! and the parser skips to its `IAC SE`. An `IAC <command>` inside a subnegotiation (other than
//! `IAC IAC` and `IAC SE`) means the peer forgot to close it: the subnegotiation is dropped and
//! the command is handled normally, so a broken `IAC SB` cannot swallow the session.

use super::codes::{DO, DONT, IAC, SB, SE, WILL, WONT};

/// One framed unit of the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// Plain data bytes (an `IAC IAC` pair comes out as a one-byte run holding 0xFF).
    Data(&'a [u8]),
    /// `IAC <byte>` for every byte but IAC, SB and the four negotiation verbs.
    Command(u8),
    /// `IAC WILL|WONT|DO|DONT <option>`.
    Negotiate { verb: u8, option: u8 },
    /// `IAC SB <option> <data> IAC SE`, with `IAC IAC` inside already undoubled.
    Subneg { option: u8, data: Vec<u8> },
    /// Something the peer got wrong that the parser recovered from.
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Negotiate(u8),
    SbOption,
    Sb,
    SbIac,
}

#[derive(Debug)]
pub(crate) struct Parser {
    state: State,
    max_subneg: usize,
    sb_option: u8,
    sb_buf: Vec<u8>,
    /// The current subnegotiation outgrew `max_subneg`: skipping to its end.
    sb_overflow: bool,
}

impl Parser {
    pub(crate) fn new(max_subneg: usize) -> Self {
        Self {
            state: State::Data,
            max_subneg,
            sb_option: 0,
            sb_buf: Vec::new(),
            sb_overflow: false,
        }
    }

    /// Bytes held for an unfinished subnegotiation (never more than `max_subneg`).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.sb_buf.len()
    }

    /// Memory held for the unfinished subnegotiation.
    pub(crate) fn held_bytes(&self) -> usize {
        self.sb_buf.capacity()
    }

    /// The next token from `input[*pos..]`, advancing `*pos`; `None` once the input is used up
    /// (an unfinished sequence stays in the parser's state for the next call).
    pub(crate) fn next_token<'a>(&mut self, input: &'a [u8], pos: &mut usize) -> Option<Token<'a>> {
        while *pos < input.len() {
            match self.state {
                State::Data => {
                    let rest = &input[*pos..];
                    let n = rest.iter().position(|&b| b == IAC).unwrap_or(rest.len());
                    if n > 0 {
                        *pos += n;
                        return Some(Token::Data(&rest[..n]));
                    }
                    *pos += 1;
                    self.state = State::Iac;
                }
                State::Iac => {
                    let at = *pos;
                    let b = input[at];
                    *pos += 1;
                    match b {
                        IAC => {
                            self.state = State::Data;
                            return Some(Token::Data(&input[at..=at]));
                        }
                        WILL | WONT | DO | DONT => self.state = State::Negotiate(b),
                        SB => self.state = State::SbOption,
                        _ => {
                            self.state = State::Data;
                            return Some(Token::Command(b));
                        }
                    }
                }
                State::Negotiate(verb) => {
                    let option = input[*pos];
                    *pos += 1;
                    self.state = State::Data;
                    return Some(Token::Negotiate { verb, option });
                }
                State::SbOption => {
                    self.sb_option = input[*pos];
                    *pos += 1;
                    self.sb_buf.clear();
                    self.sb_overflow = false;
                    self.state = State::Sb;
                }
                State::Sb => {
                    let rest = &input[*pos..];
                    let n = rest.iter().position(|&b| b == IAC).unwrap_or(rest.len());
                    *pos += n;
                    if n < rest.len() {
                        *pos += 1;
                        self.state = State::SbIac;
                    }
                    if let Some(error) = self.sb_append(&rest[..n]) {
                        return Some(error);
                    }
                }
                State::SbIac => match input[*pos] {
                    SE => {
                        *pos += 1;
                        self.state = State::Data;
                        if self.sb_overflow {
                            self.sb_overflow = false;
                        } else {
                            let data = std::mem::take(&mut self.sb_buf);
                            return Some(Token::Subneg {
                                option: self.sb_option,
                                data,
                            });
                        }
                    }
                    IAC => {
                        *pos += 1;
                        self.state = State::Sb;
                        if let Some(error) = self.sb_append(&[IAC]) {
                            return Some(error);
                        }
                    }
                    other => {
                        // Not consumed: the byte is read again as a command in the Iac state.
                        self.state = State::Iac;
                        self.sb_buf = Vec::new();
                        let was_dropped = std::mem::replace(&mut self.sb_overflow, false);
                        if !was_dropped {
                            return Some(Token::Error(format!(
                                "subnegotiation of option {} not closed before IAC {other}: dropped",
                                self.sb_option
                            )));
                        }
                    }
                },
            }
        }
        None
    }

    fn sb_append(&mut self, bytes: &[u8]) -> Option<Token<'static>> {
        if self.sb_overflow || bytes.is_empty() {
            return None;
        }
        if self.sb_buf.len() + bytes.len() > self.max_subneg {
            self.sb_overflow = true;
            self.sb_buf = Vec::new();
            return Some(Token::Error(format!(
                "subnegotiation of option {} longer than {} bytes: dropped",
                self.sb_option, self.max_subneg
            )));
        }
        self.sb_buf.extend_from_slice(bytes);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::codes::{GA, NOP, opt};
    use super::*;

    /// Owned form of a token, for comparing runs made of different chunkings.
    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Data(Vec<u8>),
        Command(u8),
        Negotiate(u8, u8),
        Subneg(u8, Vec<u8>),
        Error,
    }

    fn tokens(parser: &mut Parser, chunks: &[&[u8]]) -> Vec<Owned> {
        let mut out: Vec<Owned> = Vec::new();
        for chunk in chunks {
            let mut pos = 0;
            while let Some(t) = parser.next_token(chunk, &mut pos) {
                let owned = match t {
                    Token::Data(d) => {
                        // Data runs may be split differently; merge adjacent ones.
                        if let Some(Owned::Data(prev)) = out.last_mut() {
                            prev.extend_from_slice(d);
                            continue;
                        }
                        Owned::Data(d.to_vec())
                    }
                    Token::Command(c) => Owned::Command(c),
                    Token::Negotiate { verb, option } => Owned::Negotiate(verb, option),
                    Token::Subneg { option, data } => Owned::Subneg(option, data),
                    Token::Error(_) => Owned::Error,
                };
                out.push(owned);
            }
        }
        out
    }

    #[test]
    fn frames_data_commands_negotiations_and_subnegotiations() {
        let input = [
            b'h',
            b'i',
            IAC,
            IAC,
            b'!',
            IAC,
            NOP,
            IAC,
            WILL,
            opt::NAWS,
            IAC,
            SB,
            opt::NAWS,
            0,
            80,
            0,
            24,
            IAC,
            SE,
            b'x',
            IAC,
            GA,
        ];
        let got = tokens(&mut Parser::new(64), &[&input]);
        assert_eq!(
            got,
            vec![
                Owned::Data(vec![b'h', b'i', 255, b'!']),
                Owned::Command(NOP),
                Owned::Negotiate(WILL, opt::NAWS),
                Owned::Subneg(opt::NAWS, vec![0, 80, 0, 24]),
                Owned::Data(vec![b'x']),
                Owned::Command(GA),
            ]
        );
    }

    #[test]
    fn doubled_iac_inside_subnegotiation_is_one_byte() {
        let input = [IAC, SB, opt::NAWS, 0, IAC, IAC, 0, 24, IAC, SE];
        let got = tokens(&mut Parser::new(64), &[&input]);
        assert_eq!(got, vec![Owned::Subneg(opt::NAWS, vec![0, 255, 0, 24])]);
    }

    #[test]
    fn byte_by_byte_gives_the_same_tokens() {
        let input = [
            b'a', IAC, IAC, IAC, DO, 3, IAC, SB, 24, 0, b'X', IAC, IAC, IAC, SE, b'b', IAC, NOP, b'\r',
        ];
        let whole = tokens(&mut Parser::new(64), &[&input]);
        let pieces: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(tokens(&mut Parser::new(64), &pieces), whole);
    }

    #[test]
    fn oversized_subnegotiation_is_dropped_once_and_parsing_resumes_after_se() {
        let mut input = vec![IAC, SB, opt::GMCP];
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend([IAC, IAC]); // still inside, still dropped
        input.extend([IAC, SE, b'o', b'k']);
        let mut parser = Parser::new(10);
        let got = tokens(&mut parser, &[&input]);
        assert_eq!(got, vec![Owned::Error, Owned::Data(b"ok".to_vec())]);
        assert_eq!(parser.buffered(), 0);
    }

    #[test]
    fn subnegotiation_of_exactly_the_limit_is_kept_one_more_is_dropped() {
        let input = [IAC, SB, opt::GMCP, 1, 2, 3, 4, IAC, SE];
        let got = tokens(&mut Parser::new(4), &[&input]);
        assert_eq!(got, vec![Owned::Subneg(opt::GMCP, vec![1, 2, 3, 4])]);
        // One byte more, arriving as a doubled IAC in a later read: dropped.
        let got = tokens(&mut Parser::new(4), &[&input[..7], &[IAC, IAC, IAC, SE]]);
        assert_eq!(got, vec![Owned::Error]);
    }

    #[test]
    fn unterminated_subnegotiation_ends_at_the_next_command() {
        let input = [IAC, SB, opt::TTYPE, 0, b'A', IAC, WILL, opt::NAWS, b'z'];
        let got = tokens(&mut Parser::new(64), &[&input]);
        assert_eq!(
            got,
            vec![
                Owned::Error,
                Owned::Negotiate(WILL, opt::NAWS),
                Owned::Data(vec![b'z'])
            ]
        );
    }

    #[test]
    fn unterminated_subnegotiation_never_holds_more_than_the_limit() {
        let mut parser = Parser::new(16);
        let mut input = vec![IAC, SB, opt::MSDP];
        input.extend(std::iter::repeat_n(b'y', 10_000));
        let got = tokens(&mut parser, &[&input, &input[3..]]);
        assert_eq!(got, vec![Owned::Error]);
        assert_eq!(parser.buffered(), 0);
    }
}
