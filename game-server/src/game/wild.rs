//! Wildcard patterns (`*` any run, `?` one character, `\` takes the next literally), matched
//! case-insensitively, with the text each wildcard took (for `$`-commands'
//! `%0`-`%9`).
//!
//! Why bounded: patterns come from builders and text from players; the classic two-pointer match
//! backtracks only to the last `*`, so no pattern makes it exponential (at worst pattern length
//! times text length, both bounded by the line and attribute limits). Earlier `*`s take as little
//! as they can, the last one the rest, as in PennMUSH.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    One,
    Char(char),
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => Tok::Char(chars.next().unwrap_or('\\').to_lowercase().next().unwrap_or('\\')),
            c => Tok::Char(c.to_lowercase().next().unwrap_or(c)),
        });
    }
    out
}

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    captures(pattern, text).is_some()
}

/// What each `*` and `?` took, in order, when `text` matches `pattern` (in the text's own case).
pub fn captures(pattern: &str, text: &str) -> Option<Vec<String>> {
    let p = tokens(pattern);
    let original: Vec<char> = text.chars().collect();
    let t: Vec<char> = original
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    // For each wildcard token so far, the span of text it took.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let (mut pi, mut ti) = (0, 0);
    // The last star: its token, where its span begins and ends, the spans recorded before it.
    let mut star: Option<(usize, usize, usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                Tok::Star => {
                    star = Some((pi, ti, ti, spans.len()));
                    spans.push((ti, ti));
                    pi += 1;
                    continue;
                }
                Tok::One if ti < t.len() => {
                    spans.push((ti, ti + 1));
                    pi += 1;
                    ti += 1;
                    continue;
                }
                Tok::Char(c) if ti < t.len() && t[ti] == c => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == t.len() {
            break;
        }
        // A mismatch: the last star takes one more character, or there is no match.
        let (sp, begin, end, recorded) = star?;
        if end >= t.len() {
            return None;
        }
        star = Some((sp, begin, end + 1, recorded));
        spans.truncate(recorded);
        spans.push((begin, end + 1));
        pi = sp + 1;
        ti = end + 1;
    }
    Some(
        spans
            .into_iter()
            .map(|(a, b)| original[a..b].iter().collect())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks_capture_what_they_took() {
        assert_eq!(captures("smell *", "smell the rose").unwrap(), ["the rose"]);
        assert_eq!(
            captures("give * to *", "give a coin to Bob").unwrap(),
            ["a coin", "Bob"]
        );
        assert_eq!(
            captures("give * to *", "give a to b to c").unwrap(),
            ["a", "b to c"],
            "earlier stars take as little as they can"
        );
        assert_eq!(captures("?at", "Cat").unwrap(), ["C"]);
        assert_eq!(captures("*", "").unwrap(), [""]);
        assert_eq!(
            captures("SMELL *", "smell It").unwrap(),
            ["It"],
            "case-insensitive, text kept"
        );
        assert!(captures("smell *", "sniff rose").is_none());
        assert!(captures("a?c", "ac").is_none());
        assert_eq!(captures("\\*x*", "*xyz").unwrap(), ["yz"]);
        assert!(matches("*a*b*c*", "xxaxxbxxcxx"));
    }

    #[test]
    fn a_pattern_that_would_backtrack_forever_elsewhere_ends() {
        let text = "a".repeat(2_000);
        let pattern = format!("{}b", "*a".repeat(100));
        assert!(!matches(&pattern, &text));
    }
}
