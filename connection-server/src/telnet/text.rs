//! Output text encoding: game text (UTF-8, '\n' line breaks) to telnet NVT bytes.
//!
//! Telnet lines end in CR LF, a bare CR may not be sent, and a 0xFF byte must be doubled or the
//! client reads it as a command. Single-byte clients (ISO-8859-1, US-ASCII) get one byte per
//! character, '?' for what their charset cannot show. Nothing else is altered: colour escapes and
//! other control characters pass through for the client to interpret.

use super::charset::Charset;
use super::codes::IAC;

/// Each '\n'-separated line followed by CR LF; a final '\n' does not add an empty line, and ""
/// is one empty line. A CR directly before LF is part of the line break; any other CR is dropped.
pub(crate) fn encode_text(charset: Charset, text: &str, out: &mut Vec<u8>) {
    // CRs are dropped, so CRs after the final '\n' must not make it look like a last line.
    let text = text.trim_end_matches('\r');
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        encode_line(charset, line, out);
        out.extend_from_slice(b"\r\n");
    }
}

/// Lines separated by CR LF with no line end after the last one (a prompt stays on its line).
pub(crate) fn encode_prompt_text(charset: Charset, text: &str, out: &mut Vec<u8>) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        encode_line(charset, line, out);
    }
}

fn encode_line(charset: Charset, line: &str, out: &mut Vec<u8>) {
    match charset.max_char() {
        // UTF-8 never contains 0xFF, so there is nothing to double.
        None => line
            .split('\r')
            .for_each(|part| out.extend_from_slice(part.as_bytes())),
        Some(max) => {
            for c in line.chars().filter(|&c| c != '\r') {
                let b = if c as u32 <= max { c as u32 as u8 } else { b'?' };
                out.push(b);
                if b == IAC {
                    out.push(IAC);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(charset: Charset, s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_text(charset, s, &mut out);
        out
    }

    #[test]
    fn carriage_returns_after_the_final_line_end_add_no_line() {
        assert_eq!(text(Charset::Unknown, "\n\r"), b"\r\n");
        assert_eq!(text(Charset::Unknown, "a\n\r\r"), b"a\r\n");
        assert_eq!(text(Charset::Unknown, "a\n\r\n"), b"a\r\n\r\n");
    }

    #[test]
    fn lines_end_in_crlf_without_an_extra_empty_line() {
        assert_eq!(text(Charset::Unknown, "hello"), b"hello\r\n");
        assert_eq!(text(Charset::Unknown, "hello\n"), b"hello\r\n");
        assert_eq!(text(Charset::Unknown, ""), b"\r\n");
        assert_eq!(text(Charset::Unknown, "\n"), b"\r\n");
        assert_eq!(text(Charset::Unknown, "a\n\nb"), b"a\r\n\r\nb\r\n");
        assert_eq!(text(Charset::Unknown, "a\n\n"), b"a\r\n\r\n");
    }

    #[test]
    fn carriage_returns_are_normalised() {
        assert_eq!(text(Charset::Utf8, "a\r\nb\r\n"), b"a\r\nb\r\n");
        // Diku-style "\n\r" and stray CRs do not produce bare CRs or extra lines.
        assert_eq!(text(Charset::Utf8, "a\n\rb\rc"), b"a\r\nbc\r\n");
    }

    #[test]
    fn other_control_characters_pass_through() {
        assert_eq!(
            text(Charset::Utf8, "\x1b[1mbold\x1b[0m\ttab\x07"),
            b"\x1b[1mbold\x1b[0m\ttab\x07\r\n"
        );
    }

    #[test]
    fn latin1_output_converts_and_doubles_iac() {
        assert_eq!(text(Charset::Latin1, "café ÿ €"), b"caf\xe9 \xff\xff ?\r\n");
        assert_eq!(text(Charset::Ascii, "café"), b"caf?\r\n");
        assert_eq!(text(Charset::Utf8, "café"), "café\r\n".as_bytes());
    }

    #[test]
    fn prompt_text_has_no_final_line_end() {
        let mut out = Vec::new();
        encode_prompt_text(Charset::Utf8, "HP 10\n> ", &mut out);
        assert_eq!(out, b"HP 10\r\n> ");
    }
}
