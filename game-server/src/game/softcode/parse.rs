//! Where brackets close, and where a call's arguments split: found once per evaluated string.
//!
//! Why linear: where each bracket closes is found in one pass over the string ([`Brackets`]), so
//! an unclosed `[` costs the same as any other character (a rescan per bracket made 8,000 unclosed
//! `[` cost 32 million steps).

/// Where every `[`, `(` and `{` of one string closes, found in one pass (escapes skipped, other
/// pairs nested inside, a closer that does not match the innermost open bracket ignored: exactly
/// what a scan from each bracket would find, without the rescans).
///
/// It records where its string lies in memory instead of borrowing it, so the evaluator can keep
/// a stack of them (one per string being evaluated: the line, an attribute `u()` runs); a slice
/// is looked up in the table of the string it lies in, anything else is scanned afresh. The
/// string must outlive its table's use (the evaluator pops the table before the string goes).
pub struct Brackets {
    start: usize,
    len: usize,
    /// `close[i]` is 1 + the index of the closer of the bracket at `i`, or 0.
    close: Vec<u32>,
}

impl Brackets {
    pub fn of(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut close = vec![0u32; bytes.len()];
        let mut open: Vec<(u8, usize)> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' | b'%' => i += 1,
                b'[' => open.push((b']', i)),
                b'(' => open.push((b')', i)),
                b'{' => open.push((b'}', i)),
                c @ (b']' | b')' | b'}') if open.last().is_some_and(|(want, _)| *want == c) => {
                    let (_, at) = open.pop().expect("not empty");
                    close[at] = (i + 1) as u32;
                }
                _ => {}
            }
            i += 1;
        }
        Self {
            start: source.as_ptr() as usize,
            len: source.len(),
            close,
        }
    }

    /// Whether `s` lies within this table's string.
    pub fn covers(&self, s: &str) -> bool {
        let base = (s.as_ptr() as usize).wrapping_sub(self.start);
        base <= self.len && base + s.len() <= self.len
    }

    /// The index in `s` of the bracket closing the one at `s[open]`; `None` if it does not close
    /// within `s`. `s` must lie within this table's string (see [`Brackets::covers`]).
    fn closer_within(&self, s: &str, open: usize) -> Option<usize> {
        let base = (s.as_ptr() as usize).wrapping_sub(self.start);
        match self.close.get(base + open).copied().unwrap_or(0) {
            0 => None,
            end => (end as usize - 1).checked_sub(base).filter(|e| *e < s.len()),
        }
    }

    /// How many brackets close (for tests).
    #[cfg(test)]
    pub fn closing(&self) -> usize {
        self.close.iter().filter(|c| **c != 0).count()
    }
}

/// Where the bracket at `s[open]` closes: from the innermost table that holds `s`, or a scan.
pub fn closer_in(tables: &[Brackets], s: &str, open: usize) -> Option<usize> {
    match tables.iter().rev().find(|t| t.covers(s)) {
        Some(table) => table.closer_within(s, open),
        None => closer(s, open),
    }
}

/// The index of the bracket closing the one at `open` (`[`, `(` or `{`), skipping escapes and
/// other bracket pairs inside; `None` if it is never closed. A scan: only for strings no table
/// holds.
pub fn closer(s: &str, open: usize) -> Option<usize> {
    let mut stack: Vec<u8> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' | b'%' => i += 1,
            b'[' => stack.push(b']'),
            b'(' => stack.push(b')'),
            b'{' => stack.push(b'}'),
            c @ (b']' | b')' | b'}') if stack.last() == Some(&c) => {
                stack.pop();
                if stack.is_empty() {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits `inner` at top-level occurrences of `sep` (outside brackets and braces, not escaped).
/// Empty `inner`: nothing.
pub fn split_top<'s>(tables: &[Brackets], inner: &'s str, sep: u8) -> Vec<&'s str> {
    if inner.trim().is_empty() {
        return Vec::new();
    }
    let bytes = inner.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' | b'%' => i += 1,
            b'[' | b'(' | b'{' => {
                if let Some(end) = closer_in(tables, inner, i) {
                    i = end;
                }
            }
            c if c == sep => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&inner[start.min(inner.len())..]);
    parts
}

/// `{text}` without its braces (one level), anything else as it is, trimmed.
pub fn unbrace(s: &str) -> &str {
    let t = s.trim();
    if t.starts_with('{') && closer(t, 0) == Some(t.len() - 1) {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unclosed_brackets_close_nothing() {
        let line = format!("x {} [add(1,2)]", "[".repeat(8_100));
        assert_eq!(
            Brackets::of(&line).closing(),
            2,
            "only the last [ and its ( close"
        );
    }

    #[test]
    fn splitting_respects_nesting_and_escapes() {
        let s = "a,[b,c],{d,e},f(g,h),i\\,j";
        let t = [Brackets::of(s)];
        assert_eq!(split_top(&t, s, b','), ["a", "[b,c]", "{d,e}", "f(g,h)", "i\\,j"]);
        assert_eq!(unbrace(" {x, y} "), "x, y");
        assert_eq!(unbrace("{a}{b}"), "{a}{b}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_one_pass_table_finds_what_a_scan_from_each_bracket_finds(s in "[ab\\\\%\\[\\](){}]{0,40}") {
            let tables = [Brackets::of(&s)];
            for (i, c) in s.char_indices() {
                if matches!(c, '[' | '(' | '{') {
                    let escaped = s[..i].bytes().rev().take_while(|b| *b == b'\\' || *b == b'%').count() % 2 == 1;
                    if escaped { continue; }
                    prop_assert_eq!(closer_in(&tables, &s, i), closer(&s, i), "at {} in {:?}", i, s);
                }
            }
        }
    }
}
