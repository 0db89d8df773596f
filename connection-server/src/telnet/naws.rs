//! NAWS (RFC 1073): the client's window size, sent whenever it changes.
//!
//! The game wraps text and draws maps to the width, so the value is passed on; a malformed
//! report is an error to log, not a reason to drop the connection.

/// Reads `width_hi width_lo height_hi height_lo` (the parser has already undoubled IAC IAC, so a
/// dimension of 255 arrives here as one byte).
pub(crate) fn decode(data: &[u8]) -> Result<(u16, u16), String> {
    match *data {
        [w1, w0, h1, h0] => Ok((u16::from_be_bytes([w1, w0]), u16::from_be_bytes([h1, h0]))),
        _ => Err(format!(
            "NAWS subnegotiation of {} bytes instead of 4",
            data.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_width_and_height() {
        assert_eq!(decode(&[0, 80, 0, 24]), Ok((80, 24)));
        assert_eq!(decode(&[1, 44, 255, 255]), Ok((300, 65535)));
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(decode(&[0, 80, 0]).is_err());
        assert!(decode(&[0, 80, 0, 24, 0]).is_err());
    }
}
