//! GMCP (option 201): `IAC SB GMCP <Package.Name> <json> IAC SE`, UTF-8, both directions.
//!
//! The gateway does not interpret GMCP: packages and their JSON go to the game as text. The only
//! work is framing, splitting the package from the JSON, and keeping the size bounded.

use super::codes::{opt, push_subneg};

/// Splits a client message into (package, json); the JSON is empty for a bare package.
pub(crate) fn decode(data: &[u8]) -> Result<(String, String), String> {
    let text = String::from_utf8_lossy(data);
    let text = text.trim();
    let (package, json) = match text.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&text[..i], text[i..].trim_start()),
        None => (text, ""),
    };
    if package.is_empty() {
        return Err("GMCP message without a package name".to_string());
    }
    Ok((package.to_string(), json.to_string()))
}

/// Appends `IAC SB GMCP <package>[ <json>] IAC SE`.
pub(crate) fn encode(package: &str, json: &str, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(package.len() + 1 + json.len());
    payload.extend_from_slice(package.as_bytes());
    if !json.is_empty() {
        payload.push(b' ');
        payload.extend_from_slice(json.as_bytes());
    }
    push_subneg(out, opt::GMCP, &payload);
}

#[cfg(test)]
mod tests {
    use super::super::codes::{IAC, SB, SE};
    use super::*;

    #[test]
    fn splits_package_from_json() {
        assert_eq!(
            decode(br#"Core.Hello {"client":"Mudlet","version":"4.17"}"#),
            Ok((
                "Core.Hello".to_string(),
                r#"{"client":"Mudlet","version":"4.17"}"#.to_string()
            ))
        );
        assert_eq!(decode(b"Core.Ping"), Ok(("Core.Ping".to_string(), String::new())));
        assert_eq!(
            decode(b"Core.Ping  \n"),
            Ok(("Core.Ping".to_string(), String::new()))
        );
        assert!(decode(b"   ").is_err());
    }

    #[test]
    fn encodes_package_and_json_or_bare_package() {
        let mut out = Vec::new();
        encode("Char.Vitals", r#"{"hp":1}"#, &mut out);
        let mut expected = vec![IAC, SB, opt::GMCP];
        expected.extend_from_slice(br#"Char.Vitals {"hp":1}"#);
        expected.extend_from_slice(&[IAC, SE]);
        assert_eq!(out, expected);
        out.clear();
        encode("Core.Goodbye", "", &mut out);
        let mut expected = vec![IAC, SB, opt::GMCP];
        expected.extend_from_slice(b"Core.Goodbye");
        expected.extend_from_slice(&[IAC, SE]);
        assert_eq!(out, expected);
    }
}
