//! Telnet byte values (RFC 854 commands, option codes) and the two framing helpers every encoder
//! shares: IAC doubling and subnegotiation framing.
//!
//! Kept in one place so that the parser, the negotiation table and the encoders cannot disagree
//! on a number, and so that no encoder forgets to double a 0xFF byte inside its payload.

/// Interpret As Command: starts every telnet command; doubled to send a 0xFF data byte.
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
/// Start of subnegotiation.
pub const SB: u8 = 250;
/// Go Ahead (RFC 854): the classic "prompt ends here" mark.
pub const GA: u8 = 249;
/// Erase Line.
pub const EL: u8 = 248;
/// Erase Character.
pub const EC: u8 = 247;
/// Are You There.
pub const AYT: u8 = 246;
/// Abort Output.
pub const AO: u8 = 245;
/// Interrupt Process.
pub const IP: u8 = 244;
/// Break.
pub const BRK: u8 = 243;
/// Data Mark.
pub const DM: u8 = 242;
pub const NOP: u8 = 241;
/// End of subnegotiation.
pub const SE: u8 = 240;
/// End Of Record command (RFC 885), sent after a prompt once the EOR option is agreed.
pub const EOR_CMD: u8 = 239;

/// Option codes.
pub mod opt {
    pub const ECHO: u8 = 1;
    /// Suppress Go Ahead (RFC 858).
    pub const SGA: u8 = 3;
    /// Terminal type (RFC 1091, extended by MTTS).
    pub const TTYPE: u8 = 24;
    /// End of record (RFC 885).
    pub const EOR: u8 = 25;
    /// Negotiate About Window Size (RFC 1073).
    pub const NAWS: u8 = 31;
    /// RFC 2066.
    pub const CHARSET: u8 = 42;
    /// Mud Server Data Protocol.
    pub const MSDP: u8 = 69;
    /// Mud Server Status Protocol.
    pub const MSSP: u8 = 70;
    /// MCCP2 (zlib output compression).
    pub const COMPRESS2: u8 = 86;
    /// Generic Mud Communication Protocol.
    pub const GMCP: u8 = 201;
}

/// Appends `bytes` with every 0xFF doubled, as data inside the telnet stream must be.
pub fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| b == IAC) {
        out.extend_from_slice(&rest[..=i]);
        out.push(IAC);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends `IAC SB option <payload, IAC doubled> IAC SE`.
pub fn push_subneg(out: &mut Vec<u8>, option: u8, payload: &[u8]) {
    out.extend_from_slice(&[IAC, SB, option]);
    push_escaped(out, payload);
    out.extend_from_slice(&[IAC, SE]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_doubles_every_iac_and_nothing_else() {
        let mut out = Vec::new();
        push_escaped(&mut out, &[1, 255, 2, 255, 255]);
        assert_eq!(out, [1, 255, 255, 2, 255, 255, 255, 255]);
    }

    #[test]
    fn subneg_frame_escapes_its_payload() {
        let mut out = Vec::new();
        push_subneg(&mut out, opt::NAWS, &[0, 255, 0, 24]);
        assert_eq!(out, [IAC, SB, opt::NAWS, 0, 255, 255, 0, 24, IAC, SE]);
    }
}
