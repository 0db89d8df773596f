//! Word lists, PennMUSH's list functions: a list is words separated by a delimiter, a space
//! unless given. A space delimiter ignores leading and trailing spaces and takes a run of spaces
//! as one separator; any other delimiter (one character) keeps empty words (`a||b` is three).
//!
//! * Words: `first rest last extract elements member words items index wordpos lnum revwords`.
//! * Editing: `ldelete lreplace`/`replace`, `linsert`/`insert`, `remove splice itemize elist`.
//! * Sorting and sets: `sort unique setunion setinter setdiff setsymdiff shuffle` (sort types
//!   below), `sortby` (a user function compares).
//! * Wildcards (`*` any run, `?` one character, `\` a literal; case-insensitive): `grab graball
//!   match`/`element`, `matchall`.
//! * Loops: `iter`/`parse` (with `itext inum ilev ibreak`), `map filter filterbool fold`,
//!   `firstof allof`.
//!
//! Sort types (`help sorting`): `a` case-sensitive text, `i` case-insensitive text, `d` dbrefs,
//! `n` integers, `f` decimals, `m` "magic" (case-insensitive, numbers inside compared as numbers,
//! `#dbref` compared by the object's name), `name`/`namei` objects by name, `owner`, `loc`,
//! `conn`, `idle`, `ctime`/`mtime` (creation time: PennMUSH sorts `mtime` by creation time
//! too), `attr:<name>`/`attri:<name>` by an attribute's text, `lattr` attribute names; `-` before
//! a type reverses it. With no type, a list of integers sorts as `n`, of numbers as `f`, of
//! dbrefs as `d`, anything else as `m`; an unknown type sorts as `a`. Objects that do not exist
//! go last in the object sorts.
//!
//! Why bounded: every loop burns a unit of the line's fuel per word (and a user function call
//! burns its own), and stops with [`OUT_OF_FUEL`] when the tank is empty; results are cut at
//! [`MAX_OUTPUT`] bytes.
//!
//! Known differences from PennMUSH:
//! * `shuffle()` is a fixed permutation of its list (seeded from the list's text): the same list
//!   shuffles the same way every time.
//! * `sortby()` sorts with a stable merge sort (PennMUSH picks random pivots): equal elements
//!   keep their order, and an inconsistent comparison gives one fixed order, not a random one.
//! * With exactly four arguments, `setunion()` and friends take the fourth as a sort type only
//!   when it is one (as the help says); otherwise it is the output separator.
//! * `%i0`-`%i9` are not substitutions here; `itext()` and `inum()` give the same.
//! * Sorting by `loc` does not check that the object may be located.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use super::objects::{call_ufun, object_attribute, read_attribute};
use super::{Function, MANY, NOT_INTEGER, eager, int, lazy, truthy};
use crate::game::softcode::{Evaluator, IterFrame, MAX_OUTPUT, OUT_OF_FUEL, push, truncate};
use crate::game::wild;
use crate::game::world::ObjectId;

pub static FUNCTIONS: &[Function] = &[
    lazy("ALLOF", 2, MANY, allof),
    eager("ELEMENT", 2, 3, match_first),
    eager("ELEMENTS", 2, 4, elements),
    eager("ELIST", 1, 5, elist),
    eager("EXTRACT", 1, 4, extract),
    eager("FILTER", 2, 33, filter),
    eager("FILTERBOOL", 2, 33, filterbool),
    eager("FIRST", 1, 2, first),
    lazy("FIRSTOF", 0, MANY, firstof),
    eager("FOLD", 2, 4, fold),
    eager("GRAB", 2, 3, grab),
    eager("GRABALL", 2, 4, graball),
    eager("IBREAK", 0, 1, ibreak),
    eager("ILEV", 0, 0, ilev),
    eager("INDEX", 4, 4, index),
    eager("INSERT", 3, 4, linsert),
    eager("INUM", 1, 1, inum),
    eager("ITEMIZE", 1, 4, itemize),
    eager("ITEMS", 2, 2, count_items),
    lazy("ITER", 2, 4, iter),
    eager("ITEXT", 1, 1, itext),
    eager("LAST", 1, 2, last),
    eager("LDELETE", 2, 4, ldelete),
    eager("LINSERT", 3, 4, linsert),
    eager("LNUM", 1, 3, lnum),
    eager("LREPLACE", 3, 5, lreplace),
    eager("MAP", 2, 4, map),
    eager("MATCH", 2, 3, match_first),
    eager("MATCHALL", 2, 4, matchall),
    eager("MEMBER", 2, 3, member),
    lazy("PARSE", 2, 4, iter),
    eager("REMOVE", 2, 3, remove),
    eager("REPLACE", 3, 5, lreplace),
    eager("REST", 1, 2, rest),
    eager("REVWORDS", 1, 3, revwords),
    eager("SETDIFF", 2, 5, setdiff),
    eager("SETINTER", 2, 5, setinter),
    eager("SETSYMDIFF", 2, 5, setsymdiff),
    eager("SETUNION", 2, 5, setunion),
    eager("SHUFFLE", 1, 3, shuffle),
    eager("SORT", 1, 4, sort),
    eager("SORTBY", 2, 4, sortby),
    eager("SPLICE", 3, 4, splice),
    eager("UNIQUE", 1, 4, unique),
    eager("WORDPOS", 2, 3, wordpos),
    eager("WORDS", 1, 2, words),
];

pub const BAD_SEPARATOR: &str = "#-1 SEPARATOR MUST BE ONE CHARACTER";
pub const NOT_INTEGERS: &str = "#-1 ARGUMENTS MUST BE INTEGERS";
pub const OUT_OF_RANGE: &str = "#-1 OUT OF RANGE";
pub const ARGUMENT_OUT_OF_RANGE: &str = "#-1 ARGUMENT OUT OF RANGE";
/// What a `#dbref` inside a magic-sorted word becomes when there is no such object.
const NOT_VISIBLE: &str = "#-1 NO SUCH OBJECT VISIBLE";

// ---------------------------------------------------------------------------------------------
// Splitting and joining.

/// A delimiter: one character; absent or empty means a space.
fn delimiter(arg: Option<&str>) -> Result<char, String> {
    match arg {
        None | Some("") => Ok(' '),
        Some(d) => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(BAD_SEPARATOR.to_owned()),
            }
        }
    }
}

/// The delimiter at argument `i` (see [`sep_at`]); the function returns the error text when it
/// is not one character.
macro_rules! delimiter_or_return {
    ($args:expr, $i:expr) => {
        match sep_at($args, $i) {
            Ok(sep) => sep,
            Err(error) => return error,
        }
    };
}

/// The delimiter at argument `i` (0-based).
fn sep_at(args: &[String], i: usize) -> Result<char, String> {
    delimiter(args.get(i).map(String::as_str))
}

/// The output separator at argument `i` when given (even empty), the delimiter otherwise.
fn osep_at(args: &[String], i: usize, sep: char) -> String {
    args.get(i).cloned().unwrap_or_else(|| sep.to_string())
}

/// The words of a list (see the module documentation); an empty list has none.
fn split(list: &str, sep: char) -> Vec<&str> {
    if sep == ' ' {
        list.split(' ').filter(|w| !w.is_empty()).collect()
    } else if list.is_empty() {
        Vec::new()
    } else {
        list.split(sep).collect()
    }
}

/// The words as the matching functions walk them: at least one, possibly empty (so `match()` of
/// an empty list against `*` is 1, as in PennMUSH).
fn tokens(list: &str, sep: char) -> Vec<&str> {
    let words = split(list, sep);
    if words.is_empty() { vec![""] } else { words }
}

/// Words joined by `sep`, cut at [`MAX_OUTPUT`] bytes.
fn join<'a>(words: impl IntoIterator<Item = &'a str>, sep: &str) -> String {
    let mut out = String::new();
    for (i, word) in words.into_iter().enumerate() {
        if i > 0 {
            push(&mut out, sep);
        }
        push(&mut out, word);
        if out.len() >= MAX_OUTPUT {
            break;
        }
    }
    out
}

/// The 1-based position `num` names in a list of `total` words (negative counts from the end);
/// `None` if it is not an integer or names no word. Inserting, a negative position names the
/// place after that word, and position 1 (or -1) of an empty list is its first place.
fn position(num: &str, total: usize, insert: bool) -> Option<usize> {
    let given = int(num)?;
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    let negative = given < 0;
    let i = if negative { total + 1 + given } else { given };
    if i < 1 || i > total {
        return (total == 0 && insert && ((i == 0 && negative) || i == 1)).then_some(1);
    }
    let i = usize::try_from(i).ok()?;
    Some(if insert && negative { i + 1 } else { i })
}

/// A strict integer (`12`, `-3`, `+4`), as PennMUSH's `is_strict_integer`.
fn strict_integer(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// A strict number (an integer or a decimal, with an exponent or not).
fn strict_number(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit()) && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `#12` or `#12:1700000000` (an object id).
fn is_objid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('#') else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let (number, stamp) = match rest.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (rest, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(number) && stamp.is_none_or(digits)
}

/// The number of `#12` or `#12:stamp`; `None` for anything else.
fn dbref_number(s: &str) -> Option<i64> {
    let rest = s.trim().strip_prefix('#')?;
    let number = rest.split_once(':').map_or(rest, |(n, _)| n);
    number.parse().ok()
}

/// The object a word names, if it is a dbref of an object that exists.
fn object_of(ev: &Evaluator<'_>, word: &str) -> Option<ObjectId> {
    let n = u64::try_from(dbref_number(word)?).ok()?;
    let id = ObjectId(n);
    ev.game.world.get(id).map(|_| id)
}

/// The integer a word starts with, as C's `strtol` reads it (0 when none).
fn leading_integer(s: &str) -> i64 {
    let s = s.trim_start();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative { -n } else { n }
}

/// The number a word starts with, as C's `strtod` reads it (0 when none).
fn leading_number(s: &str) -> f64 {
    let s = s.trim_start();
    let b = s.as_bytes();
    let mut end = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        end = 1;
    }
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let whole = digits(end);
    end += whole;
    let mut fraction = 0;
    if b.get(end) == Some(&b'.') {
        fraction = digits(end + 1);
        if whole + fraction > 0 {
            end += 1 + fraction;
        }
    }
    if whole + fraction == 0 {
        return 0.0;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut at = end + 1;
        if matches!(b.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent > 0 {
            end = at + exponent;
        }
    }
    s[..end]
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .unwrap_or(0.0)
}

// ---------------------------------------------------------------------------------------------
// Words.

/// `lnum(n)`: 0 to n-1; `lnum(a,b)`: a to b (downwards if b < a); a third argument separates.
fn lnum(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (first, last) = if args.len() == 1 {
        match int(&args[0]) {
            Some(n) if n <= 0 => return String::new(),
            Some(n) => (0, n - 1),
            None => return NOT_INTEGER.to_owned(),
        }
    } else {
        match (int(&args[0]), int(&args[1])) {
            (Some(a), Some(b)) => (a, b),
            _ => return NOT_INTEGER.to_owned(),
        }
    };
    let sep = args.get(2).map_or(" ", String::as_str);
    let step: i64 = if last >= first { 1 } else { -1 };
    let mut out = String::new();
    let mut n = first;
    loop {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&n.to_string());
        if n == last || out.len() >= MAX_OUTPUT {
            break;
        }
        n += step;
    }
    truncate(&mut out);
    out
}

/// A list without the spaces around it when space is its delimiter.
fn trimmed(list: &str, sep: char) -> &str {
    if sep == ' ' { list.trim_matches(' ') } else { list }
}

/// `words(list[, delim])`: how many words (empty ones count unless the delimiter is a space).
fn words(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match sep_at(args, 1) {
        Ok(sep) => split(&args[0], sep).len().to_string(),
        Err(e) => e,
    }
}

/// `first(list[, delim])`: the first word.
fn first(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    match sep_at(args, 1) {
        Ok(sep) => split(&args[0], sep).first().copied().unwrap_or("").to_owned(),
        Err(e) => e,
    }
}

/// `rest(list[, delim])`: the list after its first word, as written.
fn rest(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 1);
    let list = trimmed(&args[0], sep);
    match list.find(sep) {
        Some(at) => {
            let after = &list[at + sep.len_utf8()..];
            if sep == ' ' {
                after.trim_start_matches(' ')
            } else {
                after
            }
            .to_owned()
        }
        None => String::new(),
    }
}

/// `last(list[, delim])`: the last word.
fn last(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 1);
    let list = trimmed(&args[0], sep);
    match list.rfind(sep) {
        Some(at) => list[at + sep.len_utf8()..].to_owned(),
        None => list.to_owned(),
    }
}

/// `extract(list[, first[, length[, delim]]])`: `length` words (1 by default) from word `first`
/// (1 by default); a negative `first` counts from the end, a negative `length` ends that far from
/// the end.
fn extract(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 3);
    if args.iter().skip(1).take(2).any(|a| int(a).is_none()) {
        return NOT_INTEGERS.to_owned();
    }
    let words = split(&args[0], sep);
    let n = words.len();
    let start: i64 = match args.get(1) {
        Some(a) => position(a, n, false).map_or(-1, |p| p as i64 - 1),
        None => 0,
    };
    let mut len: i64 = args.get(2).and_then(|a| int(a)).unwrap_or(1);
    if len < 0 {
        len = position(&args[2], n, false).map_or(-1, |p| p as i64) - start;
    }
    if start < 0 || start >= n as i64 || len < 1 {
        return String::new();
    }
    let start = start as usize;
    let end = n.min(start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX)));
    join(words[start..end].iter().copied(), &sep.to_string())
}

/// `elements(list, positions[, delim[, osep]])`: the words at the space-separated positions
/// (negative ones count from the end), in that order.
fn elements(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let words = split(&args[0], sep);
    let picked = tokens(&args[1], ' ')
        .into_iter()
        .filter_map(|p| position(p, words.len(), false))
        .map(|p| words[p - 1]);
    join(picked, &osep)
}

/// `member(list, word[, delim])`: the position of the first word equal to `word`
/// (case-sensitive), 0 if none.
fn member(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    if args[1].contains(sep) {
        return "#-1 CAN ONLY TEST ONE ELEMENT".to_owned();
    }
    tokens(&args[0], sep)
        .iter()
        .position(|w| *w == args[1])
        .map_or(0, |i| i + 1)
        .to_string()
}

/// `items(list, delim)`: how many times the delimiter appears, plus one (empty words count, even
/// with a space).
fn count_items(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = args[1].chars().next().unwrap_or(' ');
    (args[0].matches(sep).count() + 1).to_string()
}

/// `index(list, character, first, length)`: `length` items from item `first`, split at the
/// character (a space when empty), as written; leading and trailing spaces trimmed.
fn index(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(start), Some(mut count)) = (int(&args[2]), int(&args[3])) else {
        return NOT_INTEGERS.to_owned();
    };
    let sep = args[1].chars().next().unwrap_or(' ');
    let mut s = args[0].as_str();
    if start < 1 || count < 1 || s.is_empty() {
        return String::new();
    }
    for _ in 1..start {
        match s.find(sep) {
            Some(at) => s = &s[at + sep.len_utf8()..],
            None => return String::new(),
        }
    }
    s = s.trim_start_matches(' ');
    let Some(head) = s.chars().next() else {
        return String::new();
    };
    if head == sep {
        count -= 1;
    }
    // Just after the last separator passed (or after the first character, which is then the
    // separator itself): the items end one separator before it.
    let mut end = Some(head.len_utf8());
    while count > 0 && end.is_some() {
        count -= 1;
        end = end.and_then(|from| s[from..].find(sep).map(|at| from + at + sep.len_utf8()));
    }
    let cut = end.map_or(s.len(), |after| after - sep.len_utf8());
    s[..cut].trim_end_matches(' ').to_owned()
}

/// `wordpos(list, n[, delim])`: which word the `n`th character (from 1) falls in; a delimiter
/// belongs to the word after it; `#-1` past the end.
fn wordpos(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(at) = int(&args[1]) else {
        return NOT_INTEGER.to_owned();
    };
    let sep = delimiter_or_return!(args, 2);
    let chars: Vec<char> = args[0].chars().collect();
    if at <= 0 || at as u64 > chars.len() as u64 {
        return "#-1".to_owned();
    }
    let target = at as usize - 1;
    // The words lie between `lo` and `hi` (a space delimiter ignores the spaces around them).
    let (mut lo, mut hi) = (0, chars.len());
    if sep == ' ' {
        while lo < hi && chars[lo] == ' ' {
            lo += 1;
        }
        while hi > lo && chars[hi - 1] == ' ' {
            hi -= 1;
        }
    }
    let mut word = 1;
    let mut i = lo;
    loop {
        while i < hi && chars[i] != sep {
            i += 1;
        }
        if target < i {
            return word.to_string();
        }
        if i >= hi {
            return (word + 1).to_string();
        }
        i += 1;
        if sep == ' ' {
            while i < hi && chars[i] == ' ' {
                i += 1;
            }
        }
        word += 1;
    }
}

/// `revwords(list[, delim[, osep]])`: the words in reverse order.
fn revwords(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 1);
    let osep = osep_at(args, 2, sep);
    join(split(&args[0], sep).into_iter().rev(), &osep)
}

// ---------------------------------------------------------------------------------------------
// Editing.

/// `ldelete(list, positions[, delim[, osep]])`: the list without the words at the positions
/// (all counted in the original list).
fn ldelete(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let words = split(&args[0], sep);
    let mut keep = vec![true; words.len()];
    for p in tokens(&args[1], ' ') {
        if let Some(p) = position(p, words.len(), false) {
            keep[p - 1] = false;
        }
    }
    join(
        words.iter().zip(&keep).filter(|(_, k)| **k).map(|(w, _)| *w),
        &osep,
    )
}

/// `lreplace(list, positions, new[, delim[, osep]])`: the words at the positions replaced by
/// `new`.
fn lreplace(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 3);
    let osep = osep_at(args, 4, sep);
    let mut words = split(&args[0], sep);
    for p in tokens(&args[1], ' ') {
        if let Some(p) = position(p, words.len(), false) {
            words[p - 1] = &args[2];
        }
    }
    join(words, &osep)
}

/// `linsert(list, position, new[, delim])`: `new` becomes word `position`; a negative position
/// puts it after that word from the end (-1: last). A position past the end leaves the list as
/// it was.
fn linsert(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 3);
    let mut words = split(&args[0], sep);
    match position(&args[1], words.len(), true) {
        Some(p) if p <= words.len() + 1 => {
            words.insert(p - 1, &args[2]);
            join(words, &sep.to_string())
        }
        _ => args[0].clone(),
    }
}

/// `remove(list, words[, delim])`: the list without the first occurrence of each of `words`
/// (case-sensitive).
fn remove(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let mut doomed: HashMap<&str, usize> = HashMap::new();
    for w in split(&args[1], sep) {
        *doomed.entry(w).or_default() += 1;
    }
    let kept = split(&args[0], sep)
        .into_iter()
        .filter(|w| match doomed.get_mut(w) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        });
    join(kept, &sep.to_string())
}

/// `splice(list1, list2, word[, delim])`: `list1` with each word equal to `word` replaced by the
/// word at the same place in `list2`.
fn splice(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 3);
    let word = args[2].as_str();
    if word.is_empty() {
        return "#-1 NEED A WORD".to_owned();
    }
    if split(word, sep).len() != 1 {
        return "#-1 TOO MANY WORDS".to_owned();
    }
    let (one, two) = (split(&args[0], sep), split(&args[1], sep));
    if one.len() != two.len() {
        return "#-1 NUMBER OF WORDS MUST BE EQUAL".to_owned();
    }
    let spliced = one
        .iter()
        .zip(&two)
        .map(|(a, b)| if *a == word { *b } else { *a });
    join(spliced, &sep.to_string())
}

/// English enumeration: `a`, `a and b`, `a, b, and c`.
fn enumerate(words: &[&str], conjunction: &str, punctuation: &str, space: &str) -> String {
    let mut out = String::new();
    let n = words.len();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            if i == n - 1 {
                if n >= 3 {
                    push(&mut out, punctuation);
                }
                push(&mut out, space);
                push(&mut out, conjunction);
            } else {
                push(&mut out, punctuation);
            }
            push(&mut out, space);
        }
        push(&mut out, word);
        if out.len() >= MAX_OUTPUT {
            break;
        }
    }
    out
}

/// `itemize(list[, delim[, conjunction[, punctuation]]])`: `a, b, and c` ("and" and "," by
/// default).
fn itemize(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 1);
    let conjunction = args.get(2).map_or("and", String::as_str);
    let punctuation = args.get(3).map_or(",", String::as_str);
    enumerate(&split(&args[0], sep), conjunction, punctuation, " ")
}

/// `elist(list[, conjunction[, delim[, osep[, punctuation]]]])`: `itemize()` with `osep` after
/// the punctuation.
fn elist(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let conjunction = args.get(1).map_or("and", String::as_str);
    let space = args.get(3).map_or(" ", String::as_str);
    let punctuation = args.get(4).map_or(",", String::as_str);
    enumerate(&split(&args[0], sep), conjunction, punctuation, space)
}

// ---------------------------------------------------------------------------------------------
// Wildcards.

/// `grab(list, pattern[, delim])`: the first word matching the wildcard pattern.
fn grab(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let pattern = args[1].as_str();
    tokens(&args[0], sep)
        .into_iter()
        .find(|w| wild::matches(pattern, w))
        .unwrap_or("")
        .to_owned()
}

/// `graball(list, pattern[, delim[, osep]])`: every word matching the pattern.
fn graball(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let pattern = args[1].as_str();
    let mut out = String::new();
    for word in tokens(&args[0], sep) {
        if wild::matches(pattern, word) {
            // As PennMUSH: no separator while nothing has been written.
            if !out.is_empty() {
                push(&mut out, &osep);
            }
            push(&mut out, word);
            if out.len() >= MAX_OUTPUT {
                break;
            }
        }
    }
    out
}

/// `match(list, pattern[, delim])`: the position of the first word matching the pattern, 0 if
/// none.
fn match_first(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let pattern = args[1].as_str();
    tokens(&args[0], sep)
        .into_iter()
        .position(|w| wild::matches(pattern, w))
        .map_or(0, |i| i + 1)
        .to_string()
}

/// `matchall(list, pattern[, delim[, osep]])`: the positions of every word matching the pattern.
fn matchall(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let pattern = args[1].as_str();
    let found: Vec<String> = tokens(&args[0], sep)
        .into_iter()
        .enumerate()
        .filter(|(_, w)| wild::matches(pattern, w))
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    join(found.iter().map(String::as_str), &osep)
}

// ---------------------------------------------------------------------------------------------
// Sorting.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alpha,
    Insensitive,
    Dbref,
    Numeric,
    Float,
    Magic,
    Name,
    NameInsensitive,
    Idle,
    Conn,
    Created,
    Owner,
    Location,
    Attribute,
    AttributeInsensitive,
    AttributeName,
}

impl Kind {
    /// Sorts of objects: words that are not existing objects go last.
    fn of_objects(self) -> bool {
        matches!(
            self,
            Kind::Name
                | Kind::NameInsensitive
                | Kind::Idle
                | Kind::Conn
                | Kind::Created
                | Kind::Owner
                | Kind::Location
                | Kind::Attribute
                | Kind::AttributeInsensitive
        )
    }

    fn ignores_case(self) -> bool {
        matches!(
            self,
            Kind::Insensitive | Kind::Magic | Kind::NameInsensitive | Kind::AttributeInsensitive
        )
    }
}

/// A sort type: what is compared, which way, and (for `attr:`) which attribute.
#[derive(Debug, Clone, PartialEq)]
struct SortType {
    kind: Kind,
    descending: bool,
    attribute: String,
}

impl SortType {
    fn of(kind: Kind) -> Self {
        Self {
            kind,
            descending: false,
            attribute: String::new(),
        }
    }

    /// A sort type as written (`n`, `-name`, `attr:color`); `None` if it names none.
    fn parse(s: &str) -> Option<Self> {
        const NAMES: &[(&str, Kind)] = &[
            ("A", Kind::Alpha),
            ("I", Kind::Insensitive),
            ("D", Kind::Dbref),
            ("N", Kind::Numeric),
            ("F", Kind::Float),
            ("M", Kind::Magic),
            ("NAME", Kind::Name),
            ("NAMEI", Kind::NameInsensitive),
            ("IDLE", Kind::Idle),
            ("CONN", Kind::Conn),
            ("CTIME", Kind::Created),
            ("MTIME", Kind::Created),
            ("OWNER", Kind::Owner),
            ("LOC", Kind::Location),
            ("ATTR", Kind::Attribute),
            ("ATTRI", Kind::AttributeInsensitive),
            ("LATTR", Kind::AttributeName),
        ];
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        // With a colon, the part before it is a prefix of the type's name (PennMUSH's
        // `strncasecmp`), the part after it an attribute.
        let (kind, attribute) = match name.split_once(':') {
            Some((prefix, attribute)) => {
                let kind = NAMES
                    .iter()
                    .find(|(n, _)| n.len() >= prefix.len() && n[..prefix.len()].eq_ignore_ascii_case(prefix))?
                    .1;
                (kind, attribute.to_ascii_uppercase())
            }
            None => (
                NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?.1,
                String::new(),
            ),
        };
        Some(Self {
            kind,
            descending,
            attribute,
        })
    }

    /// The type given, or alphabetical for an unknown one; `None` when none is given.
    fn given(arg: Option<&String>) -> Option<Self> {
        match arg.map(String::as_str) {
            None | Some("") => None,
            Some(s) => Some(Self::parse(s).unwrap_or_else(|| Self {
                descending: s.starts_with('-'),
                ..Self::of(Kind::Alpha)
            })),
        }
    }
}

/// What a list holds, as PennMUSH guesses it: integers, numbers, dbrefs (the first word must
/// be one), or anything (magic).
fn detect(words: &[&str]) -> Kind {
    let mut kind = Kind::Numeric;
    for (i, w) in words.iter().enumerate() {
        if kind == Kind::Numeric && strict_integer(w).is_some() {
            continue;
        }
        if matches!(kind, Kind::Numeric | Kind::Float) && strict_number(w) {
            kind = Kind::Float;
            continue;
        }
        if is_objid(w) && (i == 0 || kind == Kind::Dbref) {
            kind = Kind::Dbref;
            continue;
        }
        return Kind::Magic;
    }
    kind
}

/// The type two lists share: the same guess, decimals if both are numbers, magic otherwise.
fn detect_both(one: &[&str], two: &[&str]) -> Kind {
    let (a, b) = (detect(one), detect(two));
    let numeric = |k| matches!(k, Kind::Numeric | Kind::Float);
    if a == b {
        a
    } else if numeric(a) && numeric(b) {
        Kind::Float
    } else {
        Kind::Magic
    }
}

enum Key {
    Text(String),
    Int(i64),
    Float(f64),
}

/// One word ready to compare: its key, the object it names (-1: none) for the object sorts,
/// and for magic sorts the word in capitals (compared when keys tie).
struct Record {
    key: Key,
    object: i64,
    capitals: String,
}

/// The magic key: numbers zero-padded so they compare as numbers, `#dbref`s replaced by the
/// object's name (PennMUSH's own rules, fraction quirks included).
fn magic_key(ev: &Evaluator<'_>, word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let digits_from = |mut i: usize| -> (u64, usize, usize) {
        let (mut n, mut count) = (0u64, 0);
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            n = n.saturating_mul(10).saturating_add(u64::from(d));
            i += 1;
            count += 1;
        }
        (n, count, i)
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() && out.len() < MAX_OUTPUT {
        let c = chars[i];
        if c.is_ascii_digit() {
            let (n, _, next) = digits_from(i);
            out.push_str(&format!("{n:020}"));
            i = next;
            if chars.get(i) == Some(&'.') {
                i += 1;
                if chars.get(i).is_some_and(char::is_ascii_digit) {
                    let (fraction, count, next) = digits_from(i);
                    out.push_str(&fraction.to_string());
                    out.extend(std::iter::repeat_n('0', 20usize.saturating_sub(count)));
                    i = next;
                }
            }
        } else if c == '#' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            let (n, _, next) = digits_from(i + 1);
            match ev.game.world.get(ObjectId(n)) {
                Some(o) => out.push_str(&o.name),
                None => out.push_str(NOT_VISIBLE),
            }
            i = next;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn record(ev: &Evaluator<'_>, sort: &SortType, word: &str) -> Record {
    let object = if sort.kind.of_objects() {
        object_of(ev, word)
    } else {
        None
    };
    let world = &ev.game.world;
    let found = object.and_then(|id| world.get(id));
    let text = |s: String| {
        Key::Text(if sort.kind.ignores_case() {
            s.to_uppercase()
        } else {
            s
        })
    };
    let key = match sort.kind {
        Kind::Alpha | Kind::Insensitive | Kind::AttributeName => text(word.to_owned()),
        Kind::Magic => text(magic_key(ev, word)),
        Kind::Dbref => Key::Int(dbref_number(word).unwrap_or(-1)),
        Kind::Numeric => Key::Int(leading_integer(word)),
        Kind::Float => Key::Float(leading_number(word)),
        Kind::Name | Kind::NameInsensitive => text(found.map(|o| o.name.clone()).unwrap_or_default()),
        Kind::Attribute | Kind::AttributeInsensitive => text(
            object
                .and_then(|id| read_attribute(ev, id, &sort.attribute).ok().flatten())
                .unwrap_or_default(),
        ),
        Kind::Idle | Kind::Conn => {
            let secs = object.and_then(|id| match sort.kind {
                Kind::Idle => ev.game.idle_secs(id, ev.now),
                _ => ev.game.connected_secs(id, ev.now),
            });
            Key::Int(secs.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX)))
        }
        Kind::Created => Key::Int(found.map_or(0, |o| o.created_at_secs)),
        Kind::Owner => Key::Int(found.map_or(-1, |o| o.owner.0 as i64)),
        Kind::Location => Key::Int(found.and_then(|o| o.location).map_or(-1, |l| l.0 as i64)),
    };
    Record {
        key,
        object: object.map_or(-1, |id| id.0 as i64),
        capitals: if sort.kind == Kind::Magic {
            word.to_uppercase()
        } else {
            String::new()
        },
    }
}

/// Attribute names compare branch by branch (`A` < `A`B` < `AB`).
fn attribute_order(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('`'), b.split('`'));
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) => match p.cmp(q) {
                Ordering::Equal => {}
                other => return other,
            },
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        }
    }
}

fn compare(sort: &SortType, a: &Record, b: &Record) -> Ordering {
    let by_key = match (&a.key, &b.key) {
        (Key::Text(x), Key::Text(y)) if sort.kind == Kind::AttributeName => attribute_order(x, y),
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
        (Key::Int(x), Key::Int(y)) => x.cmp(y),
        (Key::Float(x), Key::Float(y)) if (x - y).abs() > 1e-9 => x.total_cmp(y),
        _ => Ordering::Equal,
    };
    let order = if sort.kind.of_objects() {
        match (a.object < 0, b.object < 0) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => by_key.then(a.object.cmp(&b.object)),
        }
    } else if sort.kind == Kind::Magic {
        by_key.then_with(|| a.capitals.cmp(&b.capitals))
    } else {
        by_key
    };
    if sort.descending { order.reverse() } else { order }
}

/// A stable bottom-up merge sort of `0..n` by `cmp`, which may be inconsistent (a user function
/// compares in `sortby()`): it only decides which of two goes first.
fn merge_sort(n: usize, mut cmp: impl FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut from: Vec<usize> = (0..n).collect();
    let mut to: Vec<usize> = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        to.clear();
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                if cmp(from[j], from[i]) == Ordering::Less {
                    to.push(from[j]);
                    j += 1;
                } else {
                    to.push(from[i]);
                    i += 1;
                }
            }
            to.extend_from_slice(&from[i..mid]);
            to.extend_from_slice(&from[j..end]);
            start = end;
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
}

/// The words sorted: records made once, then merged.
fn sorted<'w>(ev: &Evaluator<'_>, sort: &SortType, words: &[&'w str]) -> Vec<(&'w str, Record)> {
    let records: Vec<Record> = words.iter().map(|w| record(ev, sort, w)).collect();
    let order = merge_sort(words.len(), |i, j| compare(sort, &records[i], &records[j]));
    let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| (words[i], slots[i].take().expect("each index once")))
        .collect()
}

/// Sorted words without neighbours that compare equal (the first of each run stays).
fn sorted_unique<'w>(ev: &Evaluator<'_>, sort: &SortType, words: &[&'w str]) -> Vec<(&'w str, Record)> {
    let mut out: Vec<(&str, Record)> = Vec::new();
    for (word, rec) in sorted(ev, sort, words) {
        if out
            .last()
            .is_none_or(|(_, last)| compare(sort, last, &rec) != Ordering::Equal)
        {
            out.push((word, rec));
        }
    }
    out
}

/// `sort(list[, type[, delim[, osep]]])`: the words sorted (see the sort types above).
fn sort(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let words = split(&args[0], sep);
    let sort = SortType::given(args.get(1)).unwrap_or_else(|| SortType::of(detect(&words)));
    join(sorted(ev, &sort, &words).into_iter().map(|(w, _)| w), &osep)
}

/// `unique(list[, type[, delim[, osep]]])`: the list without consecutive duplicates (compared
/// as text unless a type says how; it is not sorted).
fn unique(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let words = split(&args[0], sep);
    let sort = match args.get(1) {
        None => SortType::of(Kind::Alpha),
        given => SortType::given(given).unwrap_or_else(|| SortType::of(detect(&words))),
    };
    let mut kept: Vec<(&str, Record)> = Vec::new();
    for word in words {
        let rec = record(ev, &sort, word);
        if kept
            .last()
            .is_none_or(|(_, last)| compare(&sort, last, &rec) != Ordering::Equal)
        {
            kept.push((word, rec));
        }
    }
    join(kept.into_iter().map(|(w, _)| w), &osep)
}

#[derive(Clone, Copy)]
enum SetOp {
    Union,
    Inter,
    Diff,
    SymDiff,
}

/// The set functions: both lists sorted without duplicates, then walked together.
fn set_op(ev: &Evaluator<'_>, args: &[String], op: SetOp) -> String {
    if args[0].is_empty() && args[1].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 2);
    let (one, two) = (split(&args[0], sep), split(&args[1], sep));
    let auto = || SortType::of(detect_both(&one, &two));
    let (sort, osep) = match args.len() {
        0..=3 => (auto(), sep.to_string()),
        4 => match SortType::parse(&args[3]).filter(|_| !args[3].is_empty()) {
            Some(sort) => (sort, sep.to_string()),
            None => (auto(), args[3].clone()),
        },
        _ => (SortType::given(args.get(3)).unwrap_or_else(auto), args[4].clone()),
    };
    let (a, b) = (sorted_unique(ev, &sort, &one), sorted_unique(ev, &sort, &two));
    let (take_left, take_right, take_both) = match op {
        SetOp::Union => (true, true, true),
        SetOp::Inter => (false, false, true),
        SetOp::Diff => (true, false, false),
        SetOp::SymDiff => (true, true, false),
    };
    let mut out: Vec<&str> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match compare(&sort, &a[i].1, &b[j].1) {
            Ordering::Less => {
                if take_left {
                    out.push(a[i].0);
                }
                i += 1;
            }
            Ordering::Greater => {
                if take_right {
                    out.push(b[j].0);
                }
                j += 1;
            }
            Ordering::Equal => {
                if take_both {
                    out.push(a[i].0);
                }
                i += 1;
                j += 1;
            }
        }
    }
    if take_left {
        out.extend(a[i..].iter().map(|(w, _)| *w));
    }
    if take_right {
        out.extend(b[j..].iter().map(|(w, _)| *w));
    }
    join(out, &osep)
}

/// `setunion(list1, list2[, delim[, type[, osep]]])`: the words of either list, sorted, once.
fn setunion(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    set_op(ev, args, SetOp::Union)
}

/// `setinter(...)`: the words in both lists.
fn setinter(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    set_op(ev, args, SetOp::Inter)
}

/// `setdiff(...)`: the words of the first list that are not in the second.
fn setdiff(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    set_op(ev, args, SetOp::Diff)
}

/// `setsymdiff(...)`: the words in only one of the lists.
fn setsymdiff(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    set_op(ev, args, SetOp::SymDiff)
}

/// `shuffle(list[, delim[, osep]])`: the words in another order. A fixed permutation: seeded
/// from the list's text (FNV-1a), drawn with xorshift, so the same list always gives the same
/// order (PennMUSH's is random).
fn shuffle(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 1);
    if args[0].is_empty() {
        return String::new();
    }
    let osep = osep_at(args, 2, sep);
    let mut words = split(&args[0], sep);
    let mut state = args[0].bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let n = words.len();
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = i + (state % (n - i) as u64) as usize;
        words.swap(i, j);
    }
    join(words, &osep)
}

// ---------------------------------------------------------------------------------------------
// User functions over lists.

/// Whether `spec` (`obj/attr` or `attr`) names an attribute the executor may run: `Err` when
/// the object is not found or the attribute may not be read (the list functions then give
/// nothing, as PennMUSH's), `Ok(false)` when there is no such attribute.
fn ufun_exists(ev: &Evaluator<'_>, spec: &str) -> Result<bool, ()> {
    let (id, attr) = object_attribute(ev, spec).map_err(|_| ())?;
    read_attribute(ev, id, &attr).map(|a| a.is_some()).map_err(|_| ())
}

/// `map(obj/attr, list[, delim[, osep]])`: the attribute run for each word (`%0` the word, `%1`
/// its position).
fn map(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    let words = split(&args[1], sep);
    if words.is_empty() || ufun_exists(ev, &args[0]).is_err() {
        return String::new();
    }
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if !ev.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        let value = call_ufun(ev, &args[0], vec![(*word).to_owned(), (i + 1).to_string()]);
        if i > 0 {
            push(&mut out, &osep);
        }
        push(&mut out, &value);
        if out.len() >= MAX_OUTPUT {
            break;
        }
    }
    out
}

/// The words for which the attribute (given `%0` the word, `%1`... the extra arguments) says
/// yes: exactly `1` for `filter()`, any true value for `filterbool()`.
fn filter_by(ev: &mut Evaluator<'_>, args: &[String], yes: fn(&str) -> bool) -> String {
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    if ufun_exists(ev, &args[0]).is_err() {
        return String::new();
    }
    let extra = args.get(4..).unwrap_or_default();
    let mut kept: Vec<&str> = Vec::new();
    for word in split(&args[1], sep) {
        if !ev.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        let mut call_args = vec![word.to_owned()];
        call_args.extend(extra.iter().cloned());
        if yes(&call_ufun(ev, &args[0], call_args)) {
            kept.push(word);
        }
    }
    join(kept, &osep)
}

/// `filter(obj/attr, list[, delim[, osep[, arg1...]]])`: the words for which the attribute
/// gives `1`.
fn filter(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    filter_by(ev, args, |r| r == "1")
}

/// `filterbool(...)`: the words for which the attribute gives a true value.
fn filterbool(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    filter_by(ev, args, truthy)
}

/// `fold(obj/attr, list[, base[, delim]])`: the attribute run with `%0` the result so far
/// (`base`, or the first word) and `%1` the next word, `%2` counting calls from 0; always
/// called at least once.
fn fold(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = delimiter_or_return!(args, 3);
    if ufun_exists(ev, &args[0]).is_err() {
        return String::new();
    }
    let words = split(&args[1], sep);
    let mut next = 0;
    let mut acc = match args.get(2) {
        Some(base) => base.clone(),
        None => {
            next = 1;
            words.first().copied().unwrap_or("").to_owned()
        }
    };
    let mut calls = 0;
    loop {
        if !ev.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        let word = words.get(next).copied().unwrap_or("").to_owned();
        acc = call_ufun(ev, &args[0], vec![acc, word, calls.to_string()]);
        calls += 1;
        next += 1;
        if next >= words.len() {
            return acc;
        }
    }
}

/// `sortby(obj/attr, list[, delim[, osep]])`: the words sorted by the attribute, which compares
/// `%0` with `%1` (negative: `%0` first; positive: `%1` first; 0: either).
fn sortby(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let sep = delimiter_or_return!(args, 2);
    let osep = osep_at(args, 3, sep);
    if ufun_exists(ev, &args[0]) != Ok(true) {
        return String::new();
    }
    let words = split(&args[1], sep);
    let order = merge_sort(words.len(), |i, j| {
        if !ev.fuel.burn(1) {
            return Ordering::Equal;
        }
        let result = call_ufun(ev, &args[0], vec![words[i].to_owned(), words[j].to_owned()]);
        leading_integer(&result).cmp(&0)
    });
    if ev.fuel.is_exhausted() {
        return OUT_OF_FUEL.to_owned();
    }
    join(order.into_iter().map(|i| words[i]), &osep)
}

// ---------------------------------------------------------------------------------------------
// iter() and its helpers.

thread_local! {
    /// `ibreak()` marks, by `iter()` level (0: outermost): that iter stops after its current
    /// word. Only this module's `iter()` and `ibreak()` touch it, and an `iter()` clears its
    /// level when it starts and ends, so no mark outlives the loop it was meant for.
    static BREAKS: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
}

/// `##` becomes the word, `#@` its position, before the pattern is evaluated (as PennMUSH's
/// textual replacement: nested loops see the outer word, and the word is itself evaluated).
fn substitute(pattern: &str, word: &str, position: usize) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find('#') {
        push(&mut out, &rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("##") {
            push(&mut out, word);
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("#@") {
            push(&mut out, &position.to_string());
            rest = tail;
        } else {
            push(&mut out, "#");
            rest = &after[1..];
        }
        if out.len() >= MAX_OUTPUT {
            return out;
        }
    }
    push(&mut out, rest);
    out
}

/// `iter(list, pattern[, delim[, osep]])`: the pattern evaluated once per word, with `##` the
/// word and `#@` its position (see [`substitute`]); `itext()`/`inum()` reach any level.
/// Results are separated by `osep` (a space by default, not the delimiter).
fn iter(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let sep = match raw.get(2).map(|d| ev.eval_arg(d)) {
        Some(d) => match delimiter(Some(&d)) {
            Ok(sep) => sep,
            Err(e) => return e,
        },
        None => ' ',
    };
    let osep = raw.get(3).map_or_else(|| " ".to_owned(), |o| ev.eval_arg(o));
    let list = ev.eval_arg(raw[0]);
    let words = split(&list, sep);
    if words.is_empty() {
        return String::new();
    }
    let pattern = raw[1].trim();
    let substituted = pattern.contains("##") || pattern.contains("#@");
    let level = ev.iter.len();
    BREAKS.with(|b| {
        let mut b = b.borrow_mut();
        b.truncate(level);
        b.resize(level + 1, false);
    });
    let outer_break = std::mem::take(&mut ev.iter_break);
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            push(&mut out, &osep);
        }
        if !ev.fuel.burn(1) {
            out = OUT_OF_FUEL.to_owned();
            break;
        }
        ev.iter.push(IterFrame {
            item: (*word).to_owned(),
            position: i + 1,
        });
        let value = if substituted {
            let code = substitute(pattern, word, i + 1);
            ev.eval(&code)
        } else {
            ev.eval_arg(pattern)
        };
        ev.iter.pop();
        push(&mut out, &value);
        let marked = BREAKS.with(|b| b.borrow_mut().get_mut(level).is_some_and(std::mem::take));
        let broken = std::mem::take(&mut ev.iter_break);
        if marked || broken || out.len() >= MAX_OUTPUT || ev.fuel.is_exhausted() {
            break;
        }
    }
    BREAKS.with(|b| b.borrow_mut().truncate(level));
    ev.iter_break = outer_break;
    out
}

/// `ibreak([levels])`: the innermost `iter()` (or that many levels of them) stops after the
/// current word; 0 does nothing.
fn ibreak(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let levels = match args.first().map(String::as_str) {
        None | Some("") => 1,
        Some(n) => match strict_integer(n) {
            Some(n) => n,
            None => return NOT_INTEGER.to_owned(),
        },
    };
    if levels == 0 {
        return String::new();
    }
    let depth = ev.iter.len();
    if levels < 0 || levels as u64 > depth as u64 {
        return OUT_OF_RANGE.to_owned();
    }
    BREAKS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < depth {
            b.resize(depth, false);
        }
        for mark in &mut b[depth - levels as usize..depth] {
            *mark = true;
        }
    });
    ev.iter_break = true;
    String::new()
}

/// `ilev()`: the current `iter()` level, 0 in the outermost, -1 outside any.
fn ilev(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    (ev.iter.len() as i64 - 1).to_string()
}

/// The `iter()` frame `n` levels out from the innermost (`L`: the outermost).
fn frame<'e>(ev: &'e Evaluator<'_>, n: &str) -> Result<&'e IterFrame, &'static str> {
    let depth = ev.iter.len();
    let out = if n.eq_ignore_ascii_case("l") {
        depth as i64 - 1
    } else {
        strict_integer(n).ok_or(NOT_INTEGER)?
    };
    if out < 0 || out >= depth as i64 {
        return Err(ARGUMENT_OUT_OF_RANGE);
    }
    Ok(&ev.iter[depth - 1 - out as usize])
}

/// `itext(n)`: the word of the `iter()` `n` levels out (0: the innermost, `L`: the outermost).
fn itext(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match frame(ev, &args[0]) {
        Ok(f) => f.item.clone(),
        Err(e) => e.to_owned(),
    }
}

/// `inum(n)`: the position of that word.
fn inum(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match frame(ev, &args[0]) {
        Ok(f) => f.position.to_string(),
        Err(e) => e.to_owned(),
    }
}

/// `firstof(expr..., default)`: the first argument that evaluates true (the others are not
/// evaluated), else the last one's value.
fn firstof(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let mut value = String::new();
    for arg in raw {
        value = ev.eval_arg(arg);
        if truthy(&value) {
            break;
        }
    }
    value
}

/// `allof(expr..., osep)`: every argument that evaluates true, separated by `osep` (which may
/// be empty).
fn allof(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let (last, exprs) = raw.split_last().expect("at least 2 arguments");
    let osep = ev.eval_arg(last);
    let mut out = String::new();
    let mut any = false;
    for arg in exprs {
        let value = ev.eval_arg(arg);
        if truthy(&value) {
            if any {
                push(&mut out, &osep);
            }
            any = true;
            push(&mut out, &value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Game;
    use crate::game::budget::Fuel;
    use crate::game::softcode::conformance::fixture;
    use crate::game::softcode::conformance::{think, think_in};
    use crate::game::world::WorldChange;

    fn now() -> mush_protocol::Timestamp {
        mush_protocol::Timestamp::from_micros(1_795_507_200 * 1_000_000)
    }

    /// The fixture with more attributes on Rose (#4).
    fn with_rose(attrs: &[(&str, &str)]) -> Game {
        let mut game = fixture();
        let mut rose = game.world.get(ObjectId(4)).expect("Rose").clone();
        for (k, v) in attrs {
            rose.attributes.insert((*k).into(), (*v).into());
        }
        game.world.apply(&WorldChange::Put(rose));
        game
    }

    #[test]
    fn first_rest_last() {
        assert_eq!(think("first(  a b c)"), "a");
        assert_eq!(think("first(|b,|)"), "");
        assert_eq!(think("first(a b,xx)"), BAD_SEPARATOR);
        assert_eq!(think("rest(a  b   c)"), "b   c");
        assert_eq!(think("rest(a|b|c,|)"), "b|c");
        assert_eq!(think("rest(a)"), "");
        assert_eq!(think("last(a b c )"), "c");
        assert_eq!(think("last(a|b|,|)"), "");
        assert_eq!(think("last(abc)"), "abc");
    }

    #[test]
    fn extract_and_elements_count_from_either_end() {
        assert_eq!(think("extract(This is a test string,3,2)"), "a test");
        assert_eq!(
            think("extract(Skip the first and last elements, 2, -2)"),
            "the first and last"
        );
        assert_eq!(
            think("extract(Get just the last three elements,-3, 3)"),
            "last three elements"
        );
        assert_eq!(think("extract(a b c)"), "a");
        assert_eq!(think("extract(a b c,4)"), "");
        assert_eq!(think("extract(a b c,2,99)"), "b c");
        assert_eq!(think("extract(a b c,x)"), NOT_INTEGERS);
        assert_eq!(think("extract(a|b|c,2,2,|)"), "b|c");
        assert_eq!(think("elements(Foo Ack Beep Moo Zot,2 4)"), "Ack Moo");
        assert_eq!(think("elements(Foof|Ack|Beep|Moo,3 1,|)"), "Beep|Foof");
        assert_eq!(think("elements(a b c,5 x -1 0 2,,-)"), "c-b");
    }

    #[test]
    fn member_words_items_index_wordpos() {
        assert_eq!(think("member(a b c,b)"), "2");
        assert_eq!(think("member(a b c,B)"), "0");
        assert_eq!(think("member(a b c,a b)"), "#-1 CAN ONLY TEST ONE ELEMENT");
        assert_eq!(think("words(a b,xx)"), BAD_SEPARATOR);
        assert_eq!(think("words(a||b,|)"), "3");
        assert_eq!(think("items(X%b%bX,%b)"), "3");
        assert_eq!(think("items(,|)"), "1");
        assert_eq!(
            think("index(Cup of Tea | Mug of Beer | Glass of Wine, |, 2, 1)"),
            "Mug of Beer"
        );
        assert_eq!(think("index(a|b|c,|,2,5)"), "b|c");
        assert_eq!(think("index(a||b,|,2,1)"), "");
        assert_eq!(think("index(a b c,,2,1)"), "b");
        assert_eq!(think("index(a|b,|,3,1)"), "");
        assert_eq!(think("index(a|b,|,x,1)"), NOT_INTEGERS);
        assert_eq!(think("wordpos(foo bar baz,5)"), "2");
        assert_eq!(think("wordpos(foo bar baz,4)"), "2");
        assert_eq!(think("wordpos(foo bar baz,1)"), "1");
        assert_eq!(think("wordpos(foo bar baz,11)"), "3");
        assert_eq!(think("wordpos(foo bar baz,12)"), "#-1");
        assert_eq!(think("wordpos(a|b|c,3,|)"), "2");
        assert_eq!(think("wordpos(a b,x)"), NOT_INTEGER);
    }

    #[test]
    fn editing_functions() {
        assert_eq!(think("ldelete(a b c, -1 -1)"), "a b");
        assert_eq!(think("ldelete(a b c, -1 -2)"), "a");
        assert_eq!(think("ldelete(foo bar baz boing,3,,%b~%b)"), "foo ~ bar ~ boing");
        assert_eq!(
            think("lreplace(this starts and ends the same, 1 -1, foo)"),
            "foo starts and ends the foo"
        );
        assert_eq!(think("replace(a|b|c,2,x,|,-)"), "a-x-c");
        assert_eq!(
            think("linsert(meep bleep gleep,-3,GOOP)"),
            "meep GOOP bleep gleep"
        );
        assert_eq!(think("insert(a b,-1,c)"), "a b c");
        assert_eq!(think("linsert(a  b,5,c)"), "a  b");
        assert_eq!(think("linsert(,1,a)"), "a");
        assert_eq!(think("linsert(,-1,a)"), "a");
        assert_eq!(think("remove(a b c b,b b)"), "a c");
        assert_eq!(think("remove(a b c b,b)"), "a c b");
        assert_eq!(think("splice(foo bar baz,eek moof gleep,bar)"), "foo moof baz");
        assert_eq!(think("splice(a b,c,a)"), "#-1 NUMBER OF WORDS MUST BE EQUAL");
        assert_eq!(think("splice(a b,c d,)"), "#-1 NEED A WORD");
        assert_eq!(think("splice(a b,c d,a b)"), "#-1 TOO MANY WORDS");
        assert_eq!(think("itemize(eggs bacon spam, ,&,;)"), "eggs; bacon; & spam");
        assert_eq!(think("elist(a b c,or,,%b/%b)"), "a, / b, / or / c");
        assert_eq!(think("revwords(a|b|c,|,-)"), "c-b-a");
    }

    #[test]
    fn wildcards_match_in_either_case_without_backtracking_blowup() {
        let p = "t*t";
        assert!(wild::matches(p, "TesT") && wild::matches(p, "tt") && !wild::matches(p, "tes"));
        assert!(wild::matches("*", ""));
        assert!(wild::matches("a?c", "abc") && !wild::matches("a?c", "ac"));
        assert!(wild::matches("a\\*", "a*") && !wild::matches("a\\*", "ab"));
        assert!(wild::matches("*a*b*c*", "xxaxxbxxcxx"));
        let long = "a".repeat(5_000);
        assert!(!wild::matches(&format!("{}b", "*a".repeat(50)), &long));
        assert_eq!(think("graball(This|is|testing|a|test,tes*,|)"), "testing|test");
        assert_eq!(
            think("graball(|a,*,|)"),
            "a",
            "no separator before the first output"
        );
        assert_eq!(think("matchall(I am testing a test, test*,,|)"), "3|5");
        assert_eq!(think("match(,*)"), "1");
        assert_eq!(think("element(a b c,C)"), "3");
        assert_eq!(think("grab(cat dog,x*)"), "");
    }

    #[test]
    fn sorting_guesses_types_and_takes_them() {
        assert_eq!(think("sort(10 9 100)"), "9 10 100");
        assert_eq!(think("sort(10 9 100,a)"), "10 100 9");
        assert_eq!(think("sort(1.5 -2 1)"), "-2 1 1.5");
        assert_eq!(think("sort(#10 #2 #1)"), "#1 #2 #10");
        assert_eq!(think("sort(item10 item9 Item1)"), "Item1 item9 item10");
        assert_eq!(think("sort(bar Baz foo,a)"), "Baz bar foo");
        assert_eq!(think("sort(bar Baz foo,i)"), "bar Baz foo");
        assert_eq!(think("sort(#4 #1 x)"), "#1 #4 x", "magic: dbrefs by name");
        assert_eq!(think("sort(#4 #2 #99 #3,name)"), "#2 #3 #4 #99");
        assert_eq!(think("sort(#4 #2 #3,-namei)"), "#4 #3 #2");
        assert_eq!(think("sort(#4 #8 #2,owner)"), "#2 #4 #8");
        assert_eq!(think("sort(#8 #4 #2,attr:color)"), "#2 #8 #4");
        assert_eq!(think("sort(3 1 2,-n)"), "3 2 1");
        assert_eq!(think("sort(c b a,,,-)"), "a-b-c");
        assert_eq!(think("sort(a,n,xx)"), BAD_SEPARATOR);
        assert_eq!(think("sort(b a,whatever)"), "a b");
        assert_eq!(think("sort(1.05 1.5 1.25,f)"), "1.05 1.25 1.5");
        assert_eq!(
            SortType::parse("attr:color").map(|s| (s.kind, s.attribute)),
            Some((Kind::Attribute, "COLOR".into()))
        );
        assert_eq!(SortType::parse("na:x").map(|s| s.kind), Some(Kind::Name));
        assert_eq!(
            SortType::parse("-F").map(|s| (s.kind, s.descending)),
            Some((Kind::Float, true))
        );
        assert!(SortType::parse("|").is_none());
        assert_eq!(attribute_order("A`B", "AB"), Ordering::Less);
        assert_eq!(attribute_order("A", "A`B"), Ordering::Less);
    }

    #[test]
    fn sets_and_unique() {
        assert_eq!(
            think("setunion(foo baz gleep bar, bar moof gleep)"),
            "bar baz foo gleep moof"
        );
        assert_eq!(think("setinter(foo baz gleep bar, bar moof gleep)"), "bar gleep");
        assert_eq!(think("setdiff(foo baz gleep bar, bar moof gleep)"), "baz foo");
        assert_eq!(
            think("setsymdiff(foo baz gleep bar, bar moof gleep)"),
            "baz foo moof"
        );
        assert_eq!(think("setunion(1 2.0, 2)"), "1 2.0");
        assert_eq!(think("setunion(10 9,1,,n)"), "1 9 10");
        assert_eq!(
            think("setunion(b a,c,,|)"),
            "a|b|c",
            "a fourth argument that is no type"
        );
        assert_eq!(think("setunion(b a,c,,)"), "abc");
        assert_eq!(think("setunion(b a,c,,-a,|)"), "c|b|a");
        assert_eq!(think("setunion(,)"), "");
        assert_eq!(think("unique(a b b c b)"), "a b c b");
        assert_eq!(think("unique(1 2 2.0 3, f)"), "1 2 3");
        assert_eq!(think("unique(1|2|3|3, n, |, _)"), "1_2_3");
    }

    #[test]
    fn shuffle_is_a_fixed_permutation() {
        let once = think("shuffle(a b c d e f g h)");
        assert_eq!(once, think("shuffle(a b c d e f g h)"));
        assert_eq!(think(&format!("sort({once})")), "a b c d e f g h");
        assert_eq!(think("shuffle(a)"), "a");
        assert_eq!(think("shuffle(,|)"), "");
        let many = think("lnum(100)");
        let shuffled = think(&format!("shuffle({many})"));
        assert_ne!(shuffled, many);
        assert_eq!(think(&format!("sort({shuffled})")), many);
    }

    #[test]
    fn iter_substitutes_nests_and_breaks() {
        assert_eq!(think("iter(This is a test string., strlen(##))"), "4 2 1 4 7");
        assert_eq!(think("iter(lnum(5), mul(add(##,#@),2))"), "2 6 10 14 18");
        assert_eq!(
            think("iter((1\\,1),add##)"),
            "2",
            "the word is evaluated, as PennMUSH's"
        );
        assert_eq!(think("iter(a|b, ##,|)"), "a b");
        assert_eq!(think("iter(a| b,##,|,|)"), "a| b");
        assert_eq!(
            think("iter(red blue, iter(fish shoe, #@:##))"),
            "1:red 1:red 2:blue 2:blue"
        );
        assert_eq!(
            think("iter(red blue,iter(fish shoe, inum(0):[itext(0)]/[itext(l)]))"),
            "1:fish/red 2:shoe/red 1:fish/blue 2:shoe/blue"
        );
        assert_eq!(
            think("ilev() [iter(a,ilev())] [iter(a,iter(b,ilev()))]"),
            "-1 0 1"
        );
        assert_eq!(think("itext(0)"), ARGUMENT_OUT_OF_RANGE);
        assert_eq!(think("iter(a,inum(x))"), NOT_INTEGER);
        assert_eq!(think("ibreak()"), OUT_OF_RANGE);
        assert_eq!(think("ibreak(0)"), "");
        assert_eq!(think("iter(a,ibreak(2))"), OUT_OF_RANGE);
        assert_eq!(think("iter(1 2 3,##[ibreak()])"), "1");
        assert_eq!(
            think("iter(a b, [ibreak()][iter(1 2,x)])"),
            "x x",
            "a break for the outer loop leaves the inner one alone"
        );
        assert_eq!(
            think(
                "iter(a b c, iter(1 2 3, [firstof(grab(1a 2a 3a 1b 2b 3b 1c 3c,[itext(0)][itext(1)]),ibreak(2))]))"
            ),
            "1a 2a 3a 1b 2b 3b 1c "
        );
        assert_eq!(
            think("iter(a b,[ibreak()]##) [iter(c d,##)]"),
            "a c d",
            "marks do not leak"
        );
        BREAKS.with(|b| assert!(b.borrow().is_empty()));
    }

    #[test]
    fn iter_is_bounded_by_fuel_and_output() {
        let game = fixture();
        let mut fuel = Fuel::unlimited_time(50);
        let out =
            Evaluator::new(&game, now(), &mut fuel, ObjectId(2), ObjectId(2)).eval("iter(lnum(1000),##)");
        assert_eq!(out, OUT_OF_FUEL);
        let big = think("iter(lnum(3000),iter(lnum(10),abcdefghij))");
        assert!(
            big.len() <= MAX_OUTPUT && big.len() > MAX_OUTPUT - 20,
            "{}",
            big.len()
        );
        let mut fuel = Fuel::unlimited_time(1_000_000);
        let nested = Evaluator::new(&game, now(), &mut fuel, ObjectId(2), ObjectId(2))
            .eval("iter(lnum(100),iter(lnum(100),iter(lnum(100),#@)))");
        assert!(nested.len() <= MAX_OUTPUT);
    }

    #[test]
    fn map_filter_fold_run_rose_attributes() {
        assert_eq!(think("map(#4/DOUBLE,5 4 3 2 1)"), "10 8 6 4 2");
        assert_eq!(think("map(Rose/DOUBLE,1;2;3,;)"), "2;4;6");
        assert_eq!(think("map(#4/ADD,10 20 30)"), "11 22 33", "%1 is the position");
        assert_eq!(think("map(#4/DOUBLE,)"), "");
        assert_eq!(think("map(#999/DOUBLE,1 2)"), "", "no such object: nothing");
        assert_eq!(think("filter(#4/DOUBLE,0.5 1 0.5)"), "0.5 0.5");
        assert_eq!(think("filterbool(#4/DOUBLE,0 1 2 0)"), "1 2");
        assert_eq!(think("filter(#4/ADD,3 1 3,,,-2)"), "33");
        assert_eq!(think("fold(#4/ADD,1 2 3 4 5)"), "15");
        assert_eq!(think("fold(#4/ADD,1|2|3,10,|)"), "16");
        let game = with_rose(&[("REP", "%0[lnum(%1)]"), ("CALLS", "%0%2"), ("PLUS", "%0+%1")]);
        assert_eq!(think_in(&game, "fold(#4/REP,1 2 3,List:)"), "List:00 10 1 2");
        assert_eq!(think_in(&game, "fold(#4/CALLS,a b c d)"), "a012");
        assert_eq!(
            think_in(&game, "fold(#4/PLUS,5)"),
            "5+",
            "one word: called once, %1 empty"
        );
        assert_eq!(
            think_in(&game, "fold(#4/PLUS,)"),
            "+",
            "no word: still called once"
        );
    }

    #[test]
    fn sortby_uses_the_comparison_and_survives_inconsistent_ones() {
        let game = with_rose(&[("CMP", "[add(%0,mul(%1,-1))]"), ("LIAR", "1")]);
        assert_eq!(think_in(&game, "sortby(#4/CMP,3 10 -2 7 7 0)"), "-2 0 3 7 7 10");
        assert_eq!(think_in(&game, "sortby(#4/CMP,3|1|2,|,-)"), "1-2-3");
        let liar = think_in(&game, "sortby(#4/LIAR,c a b d)");
        assert_eq!(think_in(&game, &format!("sort({liar})")), "a b c d");
        assert_eq!(think_in(&game, "sortby(#4/NOSUCH,b a)"), "");
        let mut fuel = Fuel::unlimited_time(40);
        let out = Evaluator::new(&game, now(), &mut fuel, ObjectId(2), ObjectId(2))
            .eval("sortby(#4/CMP,lnum(100))");
        assert_eq!(out, OUT_OF_FUEL);
    }

    #[test]
    fn firstof_and_allof_evaluate_lazily() {
        assert_eq!(think("firstof(0,2)"), "2");
        assert_eq!(think("firstof(0,#-1,)"), "");
        assert_eq!(think("firstof()"), "");
        assert_eq!(
            think("firstof(1,ibreak())"),
            "1",
            "later arguments are not evaluated"
        );
        assert_eq!(think("allof(foo, 0, #-1, bar, baz,)"), "foobarbaz");
        assert_eq!(think("allof(a,0,b,%b-%b)"), "a - b");
    }

    #[test]
    fn helpers() {
        assert_eq!(position("-1", 3, true), Some(4));
        assert_eq!(position("4", 3, true), None);
        assert_eq!(position("0", 3, false), None);
        assert_eq!(leading_integer("12abc"), 12);
        assert_eq!(leading_integer("-7"), -7);
        assert_eq!(leading_integer("x"), 0);
        assert_eq!(leading_number("1.5e2x"), 150.0);
        assert_eq!(leading_number("-.5"), -0.5);
        assert_eq!(leading_number("."), 0.0);
        assert!(is_objid("#12") && is_objid("#-1") && is_objid("#1:2") && !is_objid("#") && !is_objid("12"));
        assert_eq!(detect(&["1", "2"]), Kind::Numeric);
        assert_eq!(detect(&["1", "2.5"]), Kind::Float);
        assert_eq!(detect(&["#1", "#2"]), Kind::Dbref);
        assert_eq!(detect(&["1", "#2"]), Kind::Magic);
        assert_eq!(detect_both(&["1"], &["2.5"]), Kind::Float);
        assert_eq!(substitute("## #@ #x ###", "w", 3), "w 3 #x w#");
        assert_eq!(merge_sort(5, |a, b| b.cmp(&a)), vec![4, 3, 2, 1, 0]);
    }
}
