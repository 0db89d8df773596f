//! MSSP (option 70): the server's status for MUD crawlers and client listings.
//!
//! `IAC SB MSSP (MSSP_VAR name MSSP_VAL value)* IAC SE`. Names and values are text; the bytes
//! that frame the message (NUL, VAR, VAL) cannot appear inside them and are removed.

use super::codes::{opt, push_subneg};

const VAR: u8 = 1;
const VAL: u8 = 2;

pub(crate) fn encode(variables: &[(&str, String)], out: &mut Vec<u8>) {
    let mut payload = Vec::new();
    for (name, value) in variables {
        payload.push(VAR);
        payload.extend(name.bytes().filter(|&b| b > VAL));
        payload.push(VAL);
        payload.extend(value.bytes().filter(|&b| b > VAL));
    }
    push_subneg(out, opt::MSSP, &payload);
}

#[cfg(test)]
mod tests {
    use super::super::codes::{IAC, SB, SE};
    use super::*;

    #[test]
    fn encodes_each_variable_with_its_value() {
        let mut out = Vec::new();
        encode(
            &[("NAME", "Test MUSH".to_string()), ("PLAYERS", "3".to_string())],
            &mut out,
        );
        let mut expected = vec![IAC, SB, opt::MSSP, VAR];
        expected.extend_from_slice(b"NAME");
        expected.push(VAL);
        expected.extend_from_slice(b"Test MUSH");
        expected.push(VAR);
        expected.extend_from_slice(b"PLAYERS");
        expected.push(VAL);
        expected.push(b'3');
        expected.extend_from_slice(&[IAC, SE]);
        assert_eq!(out, expected);
    }

    #[test]
    fn framing_bytes_inside_values_are_removed() {
        let mut out = Vec::new();
        encode(&[("A\u{1}", "x\u{2}y\u{0}".to_string())], &mut out);
        assert_eq!(out, [IAC, SB, opt::MSSP, VAR, b'A', VAL, b'x', b'y', IAC, SE]);
    }
}
