//! Line assembly: turns the data bytes of the stream into complete input lines.
//!
//! Clients end lines in every way telnet has seen (CR LF, CR NUL, bare LF, bare CR), and some
//! send one keystroke at a time with BS/DEL for corrections; the game wants whole, edited lines.
//! A line is emitted as soon as its terminator arrives (a CR ends the line at once and the LF or
//! NUL after it is swallowed), so the result does not depend on how the bytes were chunked.
//! Never more than `max` bytes are held: the rest of an overlong line is counted, not kept.

use super::Inbound;

#[derive(Debug)]
pub(crate) struct LineAssembler {
    buf: Vec<u8>,
    max: usize,
    /// Bytes (as received) of the current line that did not fit.
    dropped: usize,
    /// The previous data byte was CR: a following LF or NUL belongs to that line end.
    after_cr: bool,
}

impl LineAssembler {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            dropped: 0,
            after_cr: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Memory held for the line being typed.
    pub(crate) fn held_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Feeds data bytes. `latin1`: the client's charset is single-byte (ISO-8859-1 or ASCII) and
    /// bytes are converted to UTF-8 as they arrive; otherwise bytes are kept as read.
    pub(crate) fn push(&mut self, data: &[u8], latin1: bool, events: &mut Vec<Inbound>) {
        for &b in data {
            if std::mem::take(&mut self.after_cr) && (b == b'\n' || b == 0) {
                continue;
            }
            match b {
                b'\r' => {
                    self.finish(events);
                    self.after_cr = true;
                }
                b'\n' => self.finish(events),
                0 => {}
                0x08 | 0x7f => self.erase_char(),
                _ if latin1 && b >= 0x80 => {
                    self.push_char(&[0xC0 | (b >> 6), 0x80 | (b & 0x3F)]);
                }
                _ => self.push_char(&[b]),
            }
        }
    }

    /// Adds one character's bytes (received as one byte), or counts it as dropped. Once a byte
    /// has been dropped the rest of the line is dropped too, so the kept part is a prefix.
    fn push_char(&mut self, bytes: &[u8]) {
        if self.dropped > 0 || self.buf.len() + bytes.len() > self.max {
            self.dropped += 1;
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// BS, DEL or telnet EC: removes the last character of the line being typed (a whole UTF-8
    /// sequence when the line ends in one, else one byte).
    pub(crate) fn erase_char(&mut self) {
        if self.dropped > 0 {
            // What was dropped is unknown beyond its byte count: take back one byte of it.
            self.dropped -= 1;
            return;
        }
        let len = self.buf.len();
        if len == 0 {
            return;
        }
        let is_cont = |b: u8| b & 0xC0 == 0x80;
        let mut start = len - 1;
        while start > 0 && len - start < 4 && is_cont(self.buf[start]) {
            start -= 1;
        }
        let lead = self.buf[start];
        let expected = match lead {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        if !is_cont(lead) && expected == len - start {
            self.buf.truncate(start);
        } else {
            self.buf.truncate(len - 1);
        }
    }

    /// Telnet EL: forgets the line being typed.
    pub(crate) fn erase_line(&mut self) {
        self.buf.clear();
        self.dropped = 0;
    }

    fn finish(&mut self, events: &mut Vec<Inbound>) {
        let mut line = std::mem::take(&mut self.buf);
        let mut dropped = std::mem::take(&mut self.dropped);
        if dropped == 0 {
            events.push(Inbound::Line(line));
            return;
        }
        // Cut at a character boundary when the kept part is UTF-8 but for its last character.
        if let Err(e) = std::str::from_utf8(&line)
            && e.error_len().is_none()
        {
            dropped += line.len() - e.valid_up_to();
            line.truncate(e.valid_up_to());
        }
        events.push(Inbound::LineTruncated { line, dropped });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(max: usize, latin1: bool, chunks: &[&[u8]]) -> Vec<Inbound> {
        let mut a = LineAssembler::new(max);
        let mut events = Vec::new();
        for c in chunks {
            a.push(c, latin1, &mut events);
        }
        events
    }

    fn line(s: &[u8]) -> Inbound {
        Inbound::Line(s.to_vec())
    }

    #[test]
    fn every_line_ending_ends_exactly_one_line() {
        let got = run(100, false, &[b"crlf\r\ncrnul\r\0lf\nbare\rnext\r\n"]);
        assert_eq!(
            got,
            vec![
                line(b"crlf"),
                line(b"crnul"),
                line(b"lf"),
                line(b"bare"),
                line(b"next")
            ]
        );
    }

    #[test]
    fn bare_cr_ends_the_line_without_waiting_for_the_next_byte() {
        let got = run(100, false, &[b"look\r"]);
        assert_eq!(got, vec![line(b"look")]);
        // ... and the LF arriving in the next read does not make an empty line.
        let got = run(100, false, &[b"look\r", b"\n", b"go\n"]);
        assert_eq!(got, vec![line(b"look"), line(b"go")]);
    }

    #[test]
    fn empty_lines_are_kept() {
        assert_eq!(run(100, false, &[b"\r\n\n"]), vec![line(b""), line(b"")]);
    }

    #[test]
    fn nul_bytes_are_dropped() {
        assert_eq!(run(100, false, &[b"a\0b\n"]), vec![line(b"ab")]);
    }

    #[test]
    fn backspace_and_delete_erase_whole_utf8_characters() {
        let got = run(100, false, &["héllo€\x7f\x08\x08\x08\x08ey\n".as_bytes()]);
        assert_eq!(got, vec![line("hey".as_bytes())]);
        // Erasing past the start of the line is harmless.
        assert_eq!(run(100, false, &[b"a\x08\x08\x08b\n"]), vec![line(b"b")]);
    }

    #[test]
    fn backspace_on_invalid_utf8_erases_one_byte() {
        assert_eq!(run(100, false, &[b"a\x80\x80\x08\n"]), vec![line(b"a\x80")]);
    }

    #[test]
    fn latin1_bytes_become_utf8_and_erase_as_one_character() {
        assert_eq!(run(100, true, &[b"caf\xe9\n"]), vec![line("café".as_bytes())]);
        assert_eq!(run(100, true, &[b"caf\xe9\x08e\n"]), vec![line(b"cafe")]);
    }

    #[test]
    fn long_line_is_cut_with_the_dropped_count() {
        let got = run(4, false, &[b"abcdefg\nok\n"]);
        assert_eq!(
            got,
            vec![
                Inbound::LineTruncated {
                    line: b"abcd".to_vec(),
                    dropped: 3
                },
                line(b"ok"),
            ]
        );
    }

    #[test]
    fn line_of_exactly_the_limit_is_not_truncated() {
        assert_eq!(run(4, false, &[b"abcd\n"]), vec![line(b"abcd")]);
    }

    #[test]
    fn truncation_cuts_at_a_utf8_boundary() {
        // "ab€" is 5 bytes; a limit of 3 would keep half of the euro sign.
        let got = run(3, false, &["ab€x\n".as_bytes()]);
        assert_eq!(
            got,
            vec![Inbound::LineTruncated {
                line: b"ab".to_vec(),
                dropped: 4
            }]
        );
    }

    #[test]
    fn truncation_counts_latin1_bytes_as_received() {
        // é becomes two UTF-8 bytes; it does not fit in the one byte left.
        let got = run(3, true, &[b"ab\xe9cd\n"]);
        assert_eq!(
            got,
            vec![Inbound::LineTruncated {
                line: b"ab".to_vec(),
                dropped: 3
            }]
        );
    }

    #[test]
    fn never_buffers_more_than_the_limit() {
        let mut a = LineAssembler::new(8);
        let mut events = Vec::new();
        for _ in 0..1000 {
            a.push(b"0123456789", false, &mut events);
            assert!(a.buffered() <= 8);
        }
        assert!(events.is_empty());
        a.push(b"\n", false, &mut events);
        assert_eq!(
            events,
            vec![Inbound::LineTruncated {
                line: b"01234567".to_vec(),
                dropped: 9992
            }]
        );
    }

    #[test]
    fn erase_line_forgets_the_partial_line() {
        let mut a = LineAssembler::new(100);
        let mut events = Vec::new();
        a.push(b"oops", false, &mut events);
        a.erase_line();
        a.push(b"fine\n", false, &mut events);
        assert_eq!(events, vec![line(b"fine")]);
    }
}
