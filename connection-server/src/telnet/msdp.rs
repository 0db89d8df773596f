//! MSDP (option 69): typed variables between client and server.
//!
//! `IAC SB MSDP MSDP_VAR name MSDP_VAL value IAC SE`, where a value is a string, an array
//! (`ARRAY_OPEN (VAL value)* ARRAY_CLOSE`) or a table (`TABLE_OPEN (VAR name VAL value)*
//! TABLE_CLOSE`). The game speaks JSON, not MSDP, so structured values are translated: inbound
//! arrays and tables become JSON text (plain strings stay plain), and an outbound value that is
//! a JSON array or object is sent as an MSDP array or table. Nesting is bounded so a hostile
//! client cannot make the decoder recurse deeply.

use super::codes::{opt, push_subneg};

const VAR: u8 = 1;
const VAL: u8 = 2;
const TABLE_OPEN: u8 = 3;
const TABLE_CLOSE: u8 = 4;
const ARRAY_OPEN: u8 = 5;
const ARRAY_CLOSE: u8 = 6;
/// Deepest array/table nesting accepted from a client (real use stays under 4).
const MAX_DEPTH: usize = 32;

#[derive(Debug, PartialEq, Eq)]
enum Value {
    Str(String),
    Array(Vec<Value>),
    Table(Vec<(String, Value)>),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Text up to the next framing byte.
    fn string(&mut self) -> String {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| (VAR..=ARRAY_CLOSE).contains(&b))
            .unwrap_or(rest.len());
        self.pos += n;
        String::from_utf8_lossy(&rest[..n]).into_owned()
    }

    /// A value, just after its VAL.
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        match self.peek() {
            Some(TABLE_OPEN | ARRAY_OPEN) if depth >= MAX_DEPTH => {
                Err(format!("MSDP value nested deeper than {MAX_DEPTH}"))
            }
            Some(TABLE_OPEN) => {
                self.pos += 1;
                Ok(Value::Table(self.pairs(depth + 1, Some(TABLE_CLOSE))?))
            }
            Some(ARRAY_OPEN) => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(ARRAY_CLOSE) => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        Some(VAL) => {
                            self.pos += 1;
                            items.push(self.value(depth + 1)?);
                        }
                        None => return Err("MSDP array not closed".to_string()),
                        Some(b) => return Err(format!("unexpected byte {b} in an MSDP array")),
                    }
                }
            }
            _ => Ok(Value::Str(self.string())),
        }
    }

    /// `(VAR name (VAL value)*)*` up to `close` (or the end of the data at top level). Several
    /// VALs for one VAR make an array, as the MSDP specification allows.
    fn pairs(&mut self, depth: usize, close: Option<u8>) -> Result<Vec<(String, Value)>, String> {
        let mut pairs = Vec::new();
        loop {
            match self.peek() {
                None if close.is_none() => return Ok(pairs),
                None => return Err("MSDP table not closed".to_string()),
                Some(b) if Some(b) == close => {
                    self.pos += 1;
                    return Ok(pairs);
                }
                Some(VAR) => {
                    self.pos += 1;
                    let name = self.string();
                    let mut values = Vec::new();
                    while self.peek() == Some(VAL) {
                        self.pos += 1;
                        values.push(self.value(depth)?);
                    }
                    let value = match values.len() {
                        0 => Value::Str(String::new()),
                        1 => values.remove(0),
                        _ => Value::Array(values),
                    };
                    pairs.push((name, value));
                }
                Some(b) => return Err(format!("unexpected byte {b} where MSDP expects a variable")),
            }
        }
    }
}

/// Reads a client message into (variable, value) pairs, values rendered as described above.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader { data, pos: 0 };
    let pairs = reader.pairs(0, None)?;
    if pairs.is_empty() {
        return Err("MSDP message without a variable".to_string());
    }
    Ok(pairs
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::Str(s) => s,
                other => {
                    let mut json = String::new();
                    render_json(&other, &mut json);
                    json
                }
            };
            (name, text)
        })
        .collect())
}

fn render_json(value: &Value, out: &mut String) {
    match value {
        Value::Str(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render_json(item, out);
            }
            out.push(']');
        }
        Value::Table(pairs) => {
            out.push('{');
            for (i, (name, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(name, out);
                out.push(':');
                render_json(item, out);
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `IAC SB MSDP VAR variable VAL value IAC SE`, a JSON array/object value as an MSDP
/// array/table (JSON numbers as their text, booleans as "1"/"0", null as "").
pub(crate) fn encode(variable: &str, value: &str, out: &mut Vec<u8>) {
    let mut payload = vec![VAR];
    push_text(variable, &mut payload);
    payload.push(VAL);
    let trimmed = value.trim_start();
    let structured = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(value)
            .ok()
            .filter(|v| v.is_array() || v.is_object())
    } else {
        None
    };
    match structured {
        Some(json) => encode_json(&json, &mut payload),
        None => push_text(value, &mut payload),
    }
    push_subneg(out, opt::MSDP, &payload);
}

/// serde_json refuses input nested deeper than 128, which bounds this recursion.
fn encode_json(value: &serde_json::Value, payload: &mut Vec<u8>) {
    use serde_json::Value as J;
    match value {
        J::Null => {}
        J::Bool(b) => payload.push(if *b { b'1' } else { b'0' }),
        J::Number(n) => push_text(&n.to_string(), payload),
        J::String(s) => push_text(s, payload),
        J::Array(items) => {
            payload.push(ARRAY_OPEN);
            for item in items {
                payload.push(VAL);
                encode_json(item, payload);
            }
            payload.push(ARRAY_CLOSE);
        }
        J::Object(map) => {
            payload.push(TABLE_OPEN);
            for (name, item) in map {
                payload.push(VAR);
                push_text(name, payload);
                payload.push(VAL);
                encode_json(item, payload);
            }
            payload.push(TABLE_CLOSE);
        }
    }
}

/// Text without the bytes that frame MSDP (NUL and 1..=6), which cannot be carried.
fn push_text(text: &str, payload: &mut Vec<u8>) {
    payload.extend(text.bytes().filter(|&b| b > ARRAY_CLOSE));
}

#[cfg(test)]
mod tests {
    use super::super::codes::{IAC, SB, SE};
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn decodes_plain_variables() {
        let data = b"\x01LIST\x02COMMANDS\x01SEND\x02HEALTH";
        assert_eq!(
            decode(data),
            Ok(pairs(&[("LIST", "COMMANDS"), ("SEND", "HEALTH")]))
        );
    }

    #[test]
    fn several_values_for_one_variable_make_an_array() {
        let data = b"\x01REPORT\x02HEALTH\x02MANA";
        assert_eq!(decode(data), Ok(pairs(&[("REPORT", r#"["HEALTH","MANA"]"#)])));
    }

    #[test]
    fn arrays_and_tables_become_json() {
        let data = b"\x01ROOM\x02\x03\x01VNUM\x026008\x01EXITS\x02\x03\x01n\x026011\x04\x01TAGS\x02\x05\x02a\x02b\"c\x06\x04";
        assert_eq!(
            decode(data),
            Ok(pairs(&[(
                "ROOM",
                r#"{"VNUM":"6008","EXITS":{"n":"6011"},"TAGS":["a","b\"c"]}"#
            )]))
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(decode(b"junk\x01A\x02B").is_err());
        assert!(decode(b"\x01A\x02\x05\x02x").is_err());
        assert!(decode(b"\x01A\x02\x03\x01k\x02v").is_err());
        assert!(decode(b"").is_err());
        let mut deep = b"\x01A".to_vec();
        for _ in 0..100 {
            deep.extend_from_slice(b"\x02\x05");
        }
        assert!(decode(&deep).is_err());
    }

    #[test]
    fn encodes_strings_and_json_structures() {
        let mut out = Vec::new();
        encode("HEALTH", "100", &mut out);
        assert_eq!(
            out,
            [&[IAC, SB, opt::MSDP, VAR][..], b"HEALTH\x02100", &[IAC, SE]].concat()
        );
        out.clear();
        encode("GROUP", r#"["a",{"k":"v"}]"#, &mut out);
        let body = b"\x01GROUP\x02\x05\x02a\x02\x03\x01k\x02v\x04\x06";
        assert_eq!(out, [&[IAC, SB, opt::MSDP][..], body, &[IAC, SE]].concat());
        // Not JSON (or JSON but not a structure): sent as the string it is.
        out.clear();
        encode("NOTE", "[not json", &mut out);
        assert_eq!(
            out,
            [&[IAC, SB, opt::MSDP][..], b"\x01NOTE\x02[not json", &[IAC, SE]].concat()
        );
    }

    #[test]
    fn structured_values_round_trip_through_json() {
        let json = r#"{"exits":{"e":"12","n":"11"},"name":"Hall","tags":["a","b"]}"#;
        let mut out = Vec::new();
        encode("ROOM", json, &mut out);
        let payload = &out[3..out.len() - 2];
        let decoded = decode(payload).unwrap();
        let back: serde_json::Value = serde_json::from_str(&decoded[0].1).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(json).unwrap());
    }
}
