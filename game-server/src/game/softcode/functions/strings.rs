//! Text: `strlen mid left right strcat cat repeat ucstr lcstr capstr edit trim space ljust rjust
//! center before after pos lpos strmatch flip reverse squish secure escape comp alphamax alphamin
//! art chr ord strinsert strdelete delete strreplace stripansi lit s decompose wrap spellnum ansi
//! isword`.
//!
//! Lengths and positions count characters, not bytes, and skip the colour codes `ansi()` puts in
//! (PennMUSH counts the text its markup is laid over): `mid(ansi(r,abc),1,1)` is a red `b`. A
//! coloured string is read into a [`Text`] (each character with its [`Style`]), cut or padded,
//! and written back with the escape codes a terminal understands.
//!
//! Functions PennMUSH lets take commas in their last argument (`ucstr(a,b)` is `A,B`) are lazy
//! here: the pieces the evaluator split are joined back and evaluated as one.
//!
//! Why bounded: `repeat()`, `space()`, the `*just()` family, `edit()` and `wrap()` can be asked
//! for far more than [`MAX_OUTPUT`]; they stop building once the result is that long instead of
//! allocating what was asked for.

use super::{Function, MANY, NOT_INTEGER, eager, int, lazy, number, truthy};
use crate::game::softcode::{Evaluator, MAX_OUTPUT, OUT_OF_FUEL, push, truncate};
use crate::game::world::ObjectId;

pub static FUNCTIONS: &[Function] = &[
    eager("AFTER", 2, 2, after),
    eager("ALPHAMAX", 1, MANY, alphamax),
    eager("ALPHAMIN", 1, MANY, alphamin),
    lazy("ANSI", 2, MANY, ansi),
    eager("ART", 1, 1, art),
    eager("BEFORE", 2, 2, before),
    lazy("CAPSTR", 1, MANY, capstr),
    eager("CAT", 1, MANY, cat),
    eager("CENTER", 2, 4, center),
    eager("CHR", 1, 1, chr),
    eager("COMP", 2, 3, comp),
    lazy("DECOMPOSE", 1, MANY, decompose),
    eager("DELETE", 3, 3, strdelete),
    eager("EDIT", 3, MANY, edit),
    lazy("ESCAPE", 1, MANY, escape),
    lazy("FLIP", 1, MANY, flip),
    eager("ISWORD", 1, 1, isword),
    lazy("LCSTR", 1, MANY, lcstr),
    eager("LEFT", 2, 2, left),
    lazy("LIT", 1, MANY, lit),
    eager("LJUST", 2, 4, ljust),
    eager("LPOS", 2, 2, lpos),
    eager("MID", 3, 3, mid),
    eager("ORD", 1, 1, ord),
    eager("POS", 2, 2, pos),
    eager("REPEAT", 2, 2, repeat),
    lazy("REVERSE", 1, MANY, flip),
    eager("RIGHT", 2, 2, right),
    eager("RJUST", 2, 4, rjust),
    lazy("S", 1, MANY, s),
    lazy("SECURE", 1, MANY, secure),
    eager("SPACE", 1, 1, space),
    eager("SPELLNUM", 1, 1, spellnum),
    eager("SQUISH", 1, 2, squish),
    eager("STRCAT", 1, MANY, strcat),
    eager("STRDELETE", 3, 3, strdelete),
    lazy("STRINSERT", 3, MANY, strinsert),
    lazy("STRIPANSI", 1, MANY, stripansi),
    eager("STRLEN", 1, 1, strlen),
    eager("STRMATCH", 2, 3, strmatch),
    eager("STRREPLACE", 4, 4, strreplace),
    eager("TRIM", 1, 3, trim),
    lazy("UCSTR", 1, MANY, ucstr),
    eager("WRAP", 2, 4, wrap),
];

const INTEGERS: &str = "#-1 ARGUMENTS MUST BE INTEGERS";
const POSITIVE: &str = "#-1 ARGUMENT MUST BE POSITIVE INTEGER";
const OUT_OF_RANGE: &str = "#-1 OUT OF RANGE";
const ARGUMENT_OUT_OF_RANGE: &str = "#-1 ARGUMENT OUT OF RANGE";
const NOT_NUMBER: &str = "#-1 ARGUMENT MUST BE NUMBER";
const EMPTY_FILL: &str = "#-1 FILL ARGUMENT MAY NOT BE ZERO-LENGTH";
const ONE_CHARACTER: &str = "#-1 SEPARATOR MUST BE ONE CHARACTER";
const UNPRINTABLE: &str = "#-1 UNPRINTABLE CHARACTER";
const RESET: &str = "\x1b[0m";

// Coloured text.

/// The colour and attributes one character is shown with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    hilite: bool,
    underline: bool,
    flash: bool,
    inverse: bool,
    /// 0-7: black red green yellow blue magenta cyan white.
    fg: Option<u8>,
    bg: Option<u8>,
}

const COLOURS: &[u8; 8] = b"xrgybmcw";

impl Style {
    fn is_plain(&self) -> bool {
        *self == Self::default()
    }

    /// The escape sequence that turns this style on (after a reset).
    fn sgr(&self) -> String {
        let mut codes: Vec<String> = Vec::new();
        for (on, code) in [
            (self.hilite, "1"),
            (self.underline, "4"),
            (self.flash, "5"),
            (self.inverse, "7"),
        ] {
            if on {
                codes.push(code.to_owned());
            }
        }
        if let Some(c) = self.fg {
            codes.push((30 + c).to_string());
        }
        if let Some(c) = self.bg {
            codes.push((40 + c).to_string());
        }
        format!("\x1b[{}m", codes.join(";"))
    }

    /// Applies the parameters of one `ESC[...m` sequence.
    fn apply_sgr(&mut self, params: &str) {
        let mut params = params.split(';');
        while let Some(p) = params.next() {
            let code: u32 = if p.is_empty() {
                0
            } else {
                p.parse().unwrap_or(u32::MAX)
            };
            match code {
                // 256-colour and true-colour codes: not kept, and their numbers are no codes.
                38 | 48 => {
                    let skip = if params.next() == Some("2") { 3 } else { 1 };
                    params.by_ref().take(skip).for_each(drop);
                }
                0 => *self = Self::default(),
                1 => self.hilite = true,
                4 => self.underline = true,
                5 => self.flash = true,
                7 => self.inverse = true,
                22 => self.hilite = false,
                24 => self.underline = false,
                25 => self.flash = false,
                27 => self.inverse = false,
                30..=37 => self.fg = Some((code - 30) as u8),
                39 => self.fg = None,
                40..=47 => self.bg = Some((code - 40) as u8),
                49 => self.bg = None,
                _ => {}
            }
        }
    }

    /// Applies `ansi()` letters, left to right (later ones win; `n` clears what came before).
    /// Unknown letters are ignored, as PennMUSH does; so is a colour given by name, hex code or
    /// number (`+orange`, `#ff0000`, `/<0 0 255>`, `208`), from where it starts to the end of
    /// the word.
    fn apply_letters(&mut self, letters: &str) {
        for c in letters.chars() {
            match c {
                '+' | '#' | '<' | '/' | '0'..='9' => break,
                'n' => *self = Self::default(),
                'h' => self.hilite = true,
                'u' => self.underline = true,
                'f' => self.flash = true,
                'i' => self.inverse = true,
                'H' => self.hilite = false,
                'U' => self.underline = false,
                'F' => self.flash = false,
                'I' => self.inverse = false,
                'd' => self.fg = None,
                'D' => self.bg = None,
                _ => {
                    if let Some(i) = COLOURS.iter().position(|b| *b as char == c) {
                        self.fg = Some(i as u8);
                    } else if let Some(i) = COLOURS.iter().position(|b| b.to_ascii_uppercase() as char == c) {
                        self.bg = Some(i as u8);
                    }
                }
            }
        }
    }

    /// This style with `outer`'s under it: what the inner one sets wins.
    fn over(self, outer: Style) -> Style {
        Style {
            hilite: self.hilite || outer.hilite,
            underline: self.underline || outer.underline,
            flash: self.flash || outer.flash,
            inverse: self.inverse || outer.inverse,
            fg: self.fg.or(outer.fg),
            bg: self.bg.or(outer.bg),
        }
    }

    /// The `ansi()` letters for this style (for `decompose()`).
    fn letters(&self) -> String {
        let mut out = String::new();
        for (on, c) in [
            (self.flash, 'f'),
            (self.hilite, 'h'),
            (self.inverse, 'i'),
            (self.underline, 'u'),
        ] {
            if on {
                out.push(c);
            }
        }
        if let Some(c) = self.fg {
            out.push(COLOURS[c as usize] as char);
        }
        if let Some(c) = self.bg {
            out.push(COLOURS[c as usize].to_ascii_uppercase() as char);
        }
        out
    }
}

/// A string as characters, each with its style; escape codes are not characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Text {
    chars: Vec<char>,
    styles: Vec<Style>,
}

impl Text {
    fn parse(s: &str) -> Self {
        let mut text = Text::default();
        let mut style = Style::default();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\x1b' {
                text.push(c, style);
                continue;
            }
            if it.peek() != Some(&'[') {
                continue;
            }
            it.next();
            let mut params = String::new();
            for p in it.by_ref() {
                if ('\x40'..='\x7e').contains(&p) {
                    if p == 'm' {
                        style.apply_sgr(&params);
                    }
                    break;
                }
                params.push(p);
            }
        }
        text
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    fn push(&mut self, c: char, style: Style) {
        self.chars.push(c);
        self.styles.push(style);
    }

    fn append(&mut self, other: &Text) {
        self.chars.extend_from_slice(&other.chars);
        self.styles.extend_from_slice(&other.styles);
    }

    /// Characters `start..end` (clipped to the text).
    fn slice(&self, start: usize, end: usize) -> Text {
        let end = end.min(self.len());
        let start = start.min(end);
        Text {
            chars: self.chars[start..end].to_vec(),
            styles: self.styles[start..end].to_vec(),
        }
    }

    fn restyled(mut self, f: impl Fn(Style) -> Style) -> Self {
        for s in &mut self.styles {
            *s = f(*s);
        }
        self
    }

    fn string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Back to a string, with the escape codes for the styles.
    fn render(&self) -> String {
        let mut out = String::with_capacity(self.chars.len());
        let mut current = Style::default();
        for (c, s) in self.chars.iter().zip(&self.styles) {
            if *s != current {
                if !current.is_plain() {
                    out.push_str(RESET);
                }
                if !s.is_plain() {
                    out.push_str(&s.sgr());
                }
                current = *s;
            }
            out.push(*c);
        }
        if !current.is_plain() {
            out.push_str(RESET);
        }
        out
    }

    /// `fill` repeated (and cut) to exactly `width` characters.
    fn filled(fill: &Text, width: usize) -> Text {
        let mut out = Text::default();
        if fill.len() == 0 {
            return out;
        }
        while out.len() + fill.len() <= width {
            out.append(fill);
        }
        out.append(&fill.slice(0, width - out.len()));
        out
    }

    fn reversed(mut self) -> Self {
        self.chars.reverse();
        self.styles.reverse();
        self
    }
}

fn strip(s: &str) -> String {
    if s.contains('\x1b') {
        Text::parse(s).string()
    } else {
        s.to_owned()
    }
}

// Lazy helpers: an argument that may hold commas.

/// The arguments from `from` on, joined back at their commas and evaluated as one.
fn rest(ev: &mut Evaluator<'_>, raw: &[&str], from: usize) -> String {
    match &raw[from..] {
        [one] => ev.eval_arg(one),
        pieces => {
            let joined = pieces.join(",");
            if !ev.fuel.burn(1) {
                return OUT_OF_FUEL.to_owned();
            }
            ev.eval(joined.trim())
        }
    }
}

fn whole(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    rest(ev, raw, 0)
}

// Numbers as PennMUSH's string functions read them.

/// A whole number made of digits only (PennMUSH's strict unsigned check).
fn strict_unsigned(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// A width: a non-negative integer (empty is 0), capped at [`MAX_OUTPUT`].
fn width(s: &str) -> Option<usize> {
    match int(s) {
        Some(n) if n >= 0 => Some((n as u64).min(MAX_OUTPUT as u64) as usize),
        _ => None,
    }
}

/// A count or position as an index (negative ones are 0).
fn clamp(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

// The functions.

fn strlen(_: &mut Evaluator<'_>, args: &[String]) -> String {
    Text::parse(&args[0]).len().to_string()
}

/// `mid(string, first, length)`: a negative length counts backwards from `first`.
fn mid(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(mut first), Some(mut len)) = (int(&args[1]), int(&args[2])) else {
        return INTEGERS.to_owned();
    };
    if first < 0 {
        return OUT_OF_RANGE.to_owned();
    }
    if len < 0 {
        first = first.saturating_add(len).saturating_add(1).max(0);
        len = len.saturating_neg();
    }
    let first = clamp(first);
    Text::parse(&args[0])
        .slice(first, first.saturating_add(clamp(len)))
        .render()
}

fn left(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match int(&args[1]) {
        None => NOT_INTEGER.to_owned(),
        Some(n) if n < 0 => OUT_OF_RANGE.to_owned(),
        Some(n) => Text::parse(&args[0]).slice(0, clamp(n)).render(),
    }
}

fn right(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match int(&args[1]) {
        None => NOT_INTEGER.to_owned(),
        Some(n) if n < 0 => OUT_OF_RANGE.to_owned(),
        Some(n) => {
            let text = Text::parse(&args[0]);
            let n = clamp(n);
            if n > text.len() {
                return args[0].clone();
            }
            text.slice(text.len() - n, text.len()).render()
        }
    }
}

fn strcat(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let mut out = String::new();
    for a in args {
        push(&mut out, a);
    }
    out
}

fn cat(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            push(&mut out, " ");
        }
        push(&mut out, a);
    }
    out
}

/// `repeat(string, n)`: built only as far as [`MAX_OUTPUT`].
fn repeat(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(times) = int(&args[1]) else {
        return NOT_INTEGER.to_owned();
    };
    if times < 0 {
        return "#-1 ARGUMENT MUST BE NON-NEGATIVE INTEGER".to_owned();
    }
    let s = &args[0];
    if s.is_empty() {
        return String::new();
    }
    let most = MAX_OUTPUT / s.len() + 1;
    let mut out = s.repeat((times as u64).min(most as u64) as usize);
    truncate(&mut out);
    out
}

fn space(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match strict_unsigned(&args[0]) {
        Some(n) => " ".repeat(n.min(MAX_OUTPUT as u64) as usize),
        None => POSITIVE.to_owned(),
    }
}

fn recase(s: &str, f: impl Fn(char) -> Vec<char>) -> String {
    let text = Text::parse(s);
    let mut out = Text::default();
    for (c, st) in text.chars.iter().zip(&text.styles) {
        for u in f(*c) {
            out.push(u, *st);
        }
    }
    out.render()
}

fn ucstr(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    recase(&whole(ev, raw), |c| c.to_uppercase().collect())
}

fn lcstr(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    recase(&whole(ev, raw), |c| c.to_lowercase().collect())
}

/// The first character in upper case.
fn capstr(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let s = whole(ev, raw);
    let text = Text::parse(&s);
    let Some(first) = text.chars.first() else {
        return s;
    };
    let mut out = Text::default();
    for u in first.to_uppercase() {
        out.push(u, text.styles[0]);
    }
    out.append(&text.slice(1, text.len()));
    out.render()
}

/// `edit(string, from, to, ...)`: every `from` replaced by `to`, pair after pair; `^` prepends,
/// `$` appends, an empty `from` puts `to` around and between every character.
fn edit(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let mut text = Text::parse(&args[0]);
    for pair in args[1..].chunks_exact(2) {
        let needle: Vec<char> = strip(&pair[0]).chars().collect();
        let with = Text::parse(&pair[1]);
        if needle.is_empty() && with.len() == 0 {
            continue;
        }
        let mut out = Text::default();
        match needle.as_slice() {
            ['^'] => {
                out.append(&with);
                out.append(&text);
            }
            ['$'] => {
                out.append(&text);
                out.append(&with);
            }
            [] => {
                out.append(&with);
                for i in 0..text.len() {
                    if out.len() > MAX_OUTPUT {
                        break;
                    }
                    out.append(&text.slice(i, i + 1));
                    out.append(&with);
                }
            }
            _ => {
                let mut i = 0;
                while i < text.len() {
                    if out.len() > MAX_OUTPUT {
                        break;
                    }
                    if text.chars[i..].starts_with(&needle) {
                        out.append(&with);
                        i += needle.len();
                    } else {
                        out.push(text.chars[i], text.styles[i]);
                        i += 1;
                    }
                }
            }
        }
        text = out;
        if text.len() > MAX_OUTPUT {
            text = text.slice(0, MAX_OUTPUT + 1);
        }
    }
    let mut out = text.render();
    truncate(&mut out);
    out
}

/// `trim(string[, characters[, style]])`: style `l` trims the left only, `r` the right only.
fn trim(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let style = args
        .get(2)
        .and_then(|s| s.chars().next())
        .map(|c| c.to_ascii_lowercase());
    let set: Vec<char> = match args.get(1).map(|s| strip(s)) {
        Some(s) if !s.is_empty() => s.chars().collect(),
        _ => vec![' '],
    };
    let text = Text::parse(&args[0]);
    let mut start = 0;
    let mut end = text.len();
    if style != Some('l') {
        while end > 0 && set.contains(&text.chars[end - 1]) {
            end -= 1;
        }
    }
    if style != Some('r') {
        while start < end && set.contains(&text.chars[start]) {
            start += 1;
        }
    }
    text.slice(start, end).render()
}

/// The single-character argument at `i` (a space when absent or empty).
fn one_char(args: &[String], i: usize) -> Result<char, String> {
    let s = args.get(i).map(|s| strip(s)).unwrap_or_default();
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(' '),
        (Some(c), None) => Ok(c),
        _ => Err(ONE_CHARACTER.to_owned()),
    }
}

/// `squish(string[, char])`: leading and trailing runs removed, inner runs made one.
fn squish(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let sep = match one_char(args, 1) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let text = Text::parse(&args[0]);
    let mut out = Text::default();
    let mut pending: Option<Style> = None;
    for (c, st) in text.chars.iter().zip(&text.styles) {
        if *c == sep {
            if out.len() > 0 && pending.is_none() {
                pending = Some(*st);
            }
            continue;
        }
        if let Some(p) = pending.take() {
            out.push(sep, p);
        }
        out.push(*c, *st);
    }
    out.render()
}

enum Side {
    Left,
    Right,
}

/// `ljust()` and `rjust()`: padded with `fill` to `width`, or cut when the fourth argument is
/// true (`ljust` keeps the start, `rjust` the end).
fn justify(args: &[String], side: Side) -> String {
    let Some(width) = width(&args[1]) else {
        return POSITIVE.to_owned();
    };
    let text = Text::parse(&args[0]);
    if text.len() >= width {
        if args.get(3).is_some_and(|t| truthy(t)) {
            return match side {
                Side::Left => text.slice(0, width),
                Side::Right => text.slice(text.len() - width, text.len()),
            }
            .render();
        }
        return args[0].clone();
    }
    let fill = match args.get(2).filter(|f| !f.is_empty()) {
        None => Text::parse(" "),
        Some(f) => Text::parse(f),
    };
    if fill.len() == 0 {
        return EMPTY_FILL.to_owned();
    }
    let pad = Text::filled(&fill, width - text.len());
    let mut out = Text::default();
    match side {
        Side::Left => {
            out.append(&text);
            out.append(&pad);
        }
        Side::Right => {
            out.append(&pad);
            out.append(&text);
        }
    }
    out.render()
}

fn ljust(_: &mut Evaluator<'_>, args: &[String]) -> String {
    justify(args, Side::Left)
}

fn rjust(_: &mut Evaluator<'_>, args: &[String]) -> String {
    justify(args, Side::Right)
}

/// `center(string, width[, fill[, rightfill]])`: the left side is the shorter; the right fill
/// defaults to the left one mirrored.
fn center(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(width) = width(&args[1]) else {
        return POSITIVE.to_owned();
    };
    let text = Text::parse(&args[0]);
    if text.len() >= width {
        return args[0].clone();
    }
    let left_width = (width - text.len()) / 2;
    let right_width = width - text.len() - left_width;
    let fill = args.get(2).map_or("", String::as_str);
    let right_fill = args.get(3).map(String::as_str);
    let (left, right) = if fill.is_empty() && right_fill.is_none_or(str::is_empty) {
        let space = Text::parse(" ");
        (space.clone(), space)
    } else {
        let left = Text::parse(fill);
        if left.len() == 0 {
            return EMPTY_FILL.to_owned();
        }
        let right = match right_fill {
            Some("") => Text::parse(" "),
            Some(r) => Text::parse(r),
            None => left.clone().reversed(),
        };
        if right.len() == 0 {
            return EMPTY_FILL.to_owned();
        }
        (left, right)
    };
    let mut out = Text::filled(&left, left_width);
    out.append(&text);
    out.append(&Text::filled(&right, right_width));
    out.render()
}

/// The text before the first `needle` (a space when empty); all of it when there is none.
fn before(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let needle = if args[1].is_empty() { " " } else { &args[1] };
    match args[0].find(needle) {
        Some(i) => args[0][..i].to_owned(),
        None => args[0].clone(),
    }
}

/// The text after the first `needle` (a space when empty); nothing when there is none.
fn after(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let needle = if args[1].is_empty() { " " } else { &args[1] };
    match args[0].find(needle) {
        Some(i) => args[0][i + needle.len()..].to_owned(),
        None => String::new(),
    }
}

/// `pos(needle, haystack)`: where `needle` starts, counting from 1; `#-1` when absent.
fn pos(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let needle = strip(&args[0]);
    let haystack = strip(&args[1]);
    match haystack.find(&needle) {
        Some(i) => (haystack[..i].chars().count() + 1).to_string(),
        None => "#-1".to_owned(),
    }
}

/// `lpos(string, char)`: every position (from 0) of the character (a space when empty).
fn lpos(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let c = strip(&args[1]).chars().next().unwrap_or(' ');
    let positions: Vec<String> = strip(&args[0])
        .chars()
        .enumerate()
        .filter(|(_, x)| *x == c)
        .map(|(i, _)| i.to_string())
        .collect();
    let mut out = positions.join(" ");
    truncate(&mut out);
    out
}

/// `strmatch(string, pattern[, registers])`: 1 if the whole string matches; with registers,
/// what the wildcards matched goes into them, in order (`-` skips one).
fn strmatch(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(captures) = crate::game::wild::captures(&strip(&args[1]), &strip(&args[0])) else {
        return "0".to_owned();
    };
    let mut out = "1".to_owned();
    if let Some(names) = args.get(2) {
        for (i, name) in names.split(' ').filter(|n| !n.is_empty()).enumerate() {
            let value = captures.get(i).cloned().unwrap_or_default();
            if !ev.registers.set(name, value) && name != "-" {
                out.push_str("#-1 REGISTER NAME INVALID");
            }
        }
    }
    out
}

/// `flip(string)` (and `reverse()`): the characters in reverse order.
fn flip(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    Text::parse(&whole(ev, raw)).reversed().render()
}

/// The characters `escape()` and `secure()` treat as dangerous.
fn special(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | '{' | '}' | '$' | '^' | '%' | ',' | ';' | '\\'
    )
}

/// Dangerous characters replaced by spaces.
fn secure(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    whole(ev, raw)
        .chars()
        .map(|c| if special(c) { ' ' } else { c })
        .collect()
}

/// A `\` before the string and before every dangerous character after the first.
fn escape(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let s = whole(ev, raw);
    if s.is_empty() {
        return s;
    }
    let mut out = String::from("\\");
    for (i, c) in s.chars().enumerate() {
        if i > 0 && special(c) {
            out.push('\\');
        }
        out.push(c);
    }
    truncate(&mut out);
    out
}

/// `comp(a, b[, type])`: -1, 0 or 1. Types: `A` case-sensitive (the default), `I` ignoring
/// case, `N` integers, `F` decimal numbers, `D` dbrefs.
fn comp(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let a = strip(&args[0]);
    let b = strip(&args[1]);
    let kind = match args.get(2) {
        None => 'A',
        Some(t) => match t.chars().next() {
            Some(c) => c.to_ascii_uppercase(),
            None => return "#-1 INVALID THIRD ARGUMENT".to_owned(),
        },
    };
    let order = match kind {
        'A' => a.cmp(&b),
        'I' => a.to_lowercase().cmp(&b.to_lowercase()),
        'N' => {
            let strict = |s: &str| {
                let t = s.trim();
                let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                t.parse::<i128>().ok()
            };
            match (strict(&a), strict(&b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => return INTEGERS.to_owned(),
            }
        }
        'F' => match (number(&a), number(&b)) {
            (Some(x), Some(y)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
            }
            _ => return "#-1 ARGUMENTS MUST BE NUMBERS".to_owned(),
        },
        'D' => {
            let object = |s: &str| {
                s.trim()
                    .starts_with('#')
                    .then(|| s.trim().parse::<ObjectId>().ok())
                    .flatten()
                    .filter(|id| ev.game.world.get(*id).is_some())
            };
            match (object(&a), object(&b)) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                _ => return "#-1 INVALID DBREF".to_owned(),
            }
        }
        _ => return "#-1 INVALID THIRD ARGUMENT".to_owned(),
    };
    (order as i8).to_string()
}

/// The argument that sorts last (the first of equals).
fn alphamax(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let words: Vec<String> = args.iter().map(|a| strip(a)).collect();
    let mut best = 0;
    for (i, w) in words.iter().enumerate() {
        if *w > words[best] {
            best = i;
        }
    }
    words[best].clone()
}

/// The argument that sorts first (the first of equals).
fn alphamin(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let words: Vec<String> = args.iter().map(|a| strip(a)).collect();
    let mut best = 0;
    for (i, w) in words.iter().enumerate() {
        if *w < words[best] {
            best = i;
        }
    }
    words[best].clone()
}

/// `an` before a vowel, `a` otherwise.
fn art(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match strip(&args[0]).chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
    .to_owned()
}

/// The character with a code from 0 to 255 (Latin-1, as in PennMUSH).
fn chr(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(n) = strict_unsigned(&strip(&args[0])) else {
        return POSITIVE.to_owned();
    };
    if n > 255 {
        return "#-1 THIS ISN'T UNICODE".to_owned();
    }
    match char::from_u32(n as u32) {
        Some(c) if !c.is_control() => c.to_string(),
        _ => UNPRINTABLE.to_owned(),
    }
}

/// The code of a single character.
fn ord(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let s = strip(&args[0]);
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_control() => UNPRINTABLE.to_owned(),
        (Some(c), None) => (c as u32).to_string(),
        _ => "#-1 FUNCTION (ORD) EXPECTS ONE CHARACTER".to_owned(),
    }
}

/// `strinsert(string, position, text)`: `text` before the character at `position` (from 0);
/// appended when `position` is past the end.
fn strinsert(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let s = ev.eval_arg(raw[0]);
    let at = ev.eval_arg(raw[1]);
    let insert = rest(ev, raw, 2);
    let Some(at) = int(&at) else {
        return INTEGERS.to_owned();
    };
    if at < 0 {
        return ARGUMENT_OUT_OF_RANGE.to_owned();
    }
    let text = Text::parse(&s);
    let at = clamp(at);
    if at > text.len() {
        return s + &insert;
    }
    let mut out = text.slice(0, at);
    out.append(&Text::parse(&insert));
    out.append(&text.slice(at, text.len()));
    out.render()
}

/// `strdelete(string, first, length)` (and `delete()`): a negative length deletes leftwards from
/// `first`.
fn strdelete(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(mut first), Some(len)) = (int(&args[1]), int(&args[2])) else {
        return INTEGERS.to_owned();
    };
    if first < 0 {
        return OUT_OF_RANGE.to_owned();
    }
    let text = Text::parse(&args[0]);
    if clamp(first) > text.len() || len == 0 {
        return args[0].clone();
    }
    if len < 0 {
        first = first.saturating_add(len).saturating_add(1).max(0);
    }
    let first = clamp(first);
    let end = first.saturating_add(clamp(len.saturating_abs()));
    let mut out = text.slice(0, first);
    out.append(&text.slice(end, text.len()));
    out.render()
}

/// `strreplace(string, first, length, text)`: the `length` characters from `first` replaced.
fn strreplace(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(first) = int(&args[1]) else {
        return INTEGERS.to_owned();
    };
    if first < 0 {
        return ARGUMENT_OUT_OF_RANGE.to_owned();
    }
    let Some(len) = int(&args[2]) else {
        return INTEGERS.to_owned();
    };
    if len < 0 {
        return ARGUMENT_OUT_OF_RANGE.to_owned();
    }
    let text = Text::parse(&args[0]);
    let first = clamp(first);
    if first > text.len() {
        return args[0].clone();
    }
    let mut out = text.slice(0, first);
    out.append(&Text::parse(&args[3]));
    out.append(&text.slice(first.saturating_add(clamp(len)), text.len()));
    out.render()
}

/// The text without its colour codes.
fn stripansi(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    strip(&whole(ev, raw))
}

/// The argument exactly as typed: not evaluated, spaces kept.
fn lit(_: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let mut out = raw.join(",");
    truncate(&mut out);
    out
}

/// The argument evaluated, and its result evaluated again.
fn s(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let once = whole(ev, raw);
    if !ev.fuel.burn(1) {
        return OUT_OF_FUEL.to_owned();
    }
    ev.eval(&once)
}

/// Plain text as `decompose()` writes it: dangerous characters escaped; newlines and tabs as
/// `%r` and `%t`; runs of spaces that evaluation would squish as `%b` (every other one, the
/// first of a leading run and the last of a trailing one), five or more as `[space(n)]`.
fn decompose_plain(chars: &[char], out: &mut String) {
    let spaces = |n: usize, leading: bool, trailing: bool, out: &mut String| {
        if n >= 5 {
            out.push_str(&format!("[space({n})]"));
            return;
        }
        let mut left = if trailing { n - 1 } else { n };
        if leading && left > 0 {
            out.push_str("%b");
            left -= 1;
        }
        while left > 0 {
            out.push(' ');
            left -= 1;
            if left > 0 {
                out.push_str("%b");
                left -= 1;
            }
        }
        if trailing {
            out.push_str("%b");
        }
    };
    let mut run = 0;
    let mut leading = true;
    for c in chars {
        if *c == ' ' {
            run += 1;
            continue;
        }
        if run > 0 {
            spaces(run, leading, false, out);
            run = 0;
        }
        leading = false;
        match c {
            '\n' => out.push_str("%r"),
            '\t' => out.push_str("%t"),
            c => {
                if special(*c) {
                    out.push('\\');
                }
                out.push(*c);
            }
        }
    }
    if run > 0 {
        spaces(run, leading, true, out);
    }
}

/// Text that evaluates back to the string: see [`decompose_plain`]; coloured runs as
/// `[ansi(codes,...)]`.
fn decompose(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let text = Text::parse(&whole(ev, raw));
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() && out.len() < MAX_OUTPUT {
        let style = text.styles[i];
        let end = (i..text.len())
            .find(|j| text.styles[*j] != style)
            .unwrap_or(text.len());
        if style.is_plain() {
            decompose_plain(&text.chars[i..end], &mut out);
        } else {
            out.push_str("[ansi(");
            out.push_str(&style.letters());
            out.push(',');
            decompose_plain(&text.chars[i..end], &mut out);
            out.push_str(")]");
        }
        i = end;
    }
    truncate(&mut out);
    out
}

/// Where the line starting at `s` ends when at most `max` characters fit: at a newline, at the
/// end, or at the last space; `None` when a word has to be cut.
fn line_length(s: &[char], max: usize) -> Option<usize> {
    let mut last = None;
    for (i, c) in s.iter().take(max).enumerate() {
        match c {
            '\n' | '\r' => return Some(i),
            ' ' => last = Some(i),
            _ => {}
        }
    }
    if s.len() <= max || matches!(s[max], '\n' | '\r') {
        return Some(max.min(s.len()));
    }
    last
}

/// `wrap(text, width[, first line width[, separator]])`: lines of at most `width` characters
/// broken at spaces (a word longer than a line is cut with a `-`), joined by the separator (a
/// newline unless given).
fn wrap(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if args[0].is_empty() {
        return String::new();
    }
    let text = Text::parse(&args[0]);
    if text.len() == 0 {
        return args[0].clone();
    }
    let read = |s: &str, default: i64| {
        if s.trim().is_empty() {
            return Some(default);
        }
        let t = s.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<i64>().unwrap_or(i64::MAX))
    };
    let Some(width) = read(&args[1], 72) else {
        return NOT_INTEGER.to_owned();
    };
    let first = match args.get(2) {
        None => width,
        Some(f) => match read(f, width) {
            Some(0) => width,
            Some(n) => n,
            None => return NOT_INTEGER.to_owned(),
        },
    };
    if width < 2 || first < 2 {
        return "#-1 WIDTH TOO SMALL".to_owned();
    }
    let separator = args.get(3).map_or("\n", String::as_str);
    let (width, first) = (clamp(width), clamp(first));
    let mut out = String::new();
    let mut at = 0;
    let mut line = 0;
    while at < text.len() && out.len() < MAX_OUTPUT {
        let max = if line == 0 { first } else { width };
        if line > 0 {
            push(&mut out, separator);
        }
        line += 1;
        match line_length(&text.chars[at..], max) {
            None => {
                push(&mut out, &text.slice(at, at + max - 1).render());
                push(&mut out, "-");
                at += max - 1;
            }
            Some(n) => {
                push(&mut out, &text.slice(at, at + n).render());
                let mut n = n;
                if text.chars.get(at + n) == Some(&'\r') {
                    n += 1;
                }
                at += n + 1;
            }
        }
    }
    out
}

/// Up to 999 written out (`seven hundred twelve`), empty for 0.
fn spell_group(digits: [u8; 3], out: &mut Vec<String>) {
    const ONES: [&str; 10] = [
        "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    const TEENS: [&str; 10] = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let [h, t, o] = digits.map(usize::from);
    if h > 0 {
        out.push(format!("{} hundred", ONES[h]));
    }
    if t == 1 {
        out.push(TEENS[o].to_owned());
    } else if t > 1 && o > 0 {
        out.push(format!("{}-{}", TENS[t], ONES[o]));
    } else if t > 1 {
        out.push(TENS[t].to_owned());
    } else if o > 0 {
        out.push(ONES[o].to_owned());
    }
}

/// A string of up to 15 digits, written out in words.
fn spell_digits(digits: &str) -> String {
    const BIG: [&str; 5] = ["", "thousand", "million", "billion", "trillion"];
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<[u8; 3]> = padded
        .as_bytes()
        .chunks(3)
        .map(|g| [g[0] - b'0', g[1] - b'0', g[2] - b'0'])
        .collect();
    let mut words = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let before = words.len();
        spell_group(*g, &mut words);
        let scale = groups.len() - 1 - i;
        if scale > 0 && words.len() > before {
            words.push(BIG[scale].to_owned());
        }
    }
    words.join(" ")
}

/// `spellnum(number)`: the number in words, decimals as tenths, hundredths...
fn spellnum(_: &mut Evaluator<'_>, args: &[String]) -> String {
    const TAIL: [&str; 15] = [
        "",
        "tenth",
        "hundredth",
        "thousandth",
        "ten-thousandth",
        "hundred-thousandth",
        "millionth",
        "ten-millionth",
        "hundred-millionth",
        "billionth",
        "ten-billionth",
        "hundred-billionth",
        "trillionth",
        "ten-trillionth",
        "hundred-trillionth",
    ];
    let s = strip(&args[0]);
    let s = s.trim_matches(' ');
    let (minus, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let s = s.trim_start_matches('0');
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return NOT_NUMBER.to_owned();
    }
    if whole.len() > 15 || fraction.len() > 14 {
        return OUT_OF_RANGE.to_owned();
    }
    let mut out = String::new();
    if whole.is_empty() {
        if fraction.is_empty() {
            out.push_str("zero");
        }
    } else {
        if minus {
            out.push_str("negative ");
        }
        out.push_str(&spell_digits(whole));
    }
    if !fraction.is_empty() {
        let significant = fraction.trim_start_matches('0');
        if !whole.is_empty() {
            out.push_str(" and ");
        } else if minus && !significant.is_empty() {
            out.push_str("negative ");
        }
        let tail = TAIL[fraction.len()];
        if significant.is_empty() {
            out.push_str(&format!("zero {tail}s"));
        } else if significant == "1" {
            out.push_str(&format!("one {tail}"));
        } else {
            out.push_str(&format!("{} {tail}s", spell_digits(significant)));
        }
    }
    out
}

/// `ansi(codes, text)`: the text in colour. Letters: `h` hilite, `u` underline, `f` flash, `i`
/// inverse, `n` normal, `x r g y b m c w` the colours, upper case for backgrounds; colours
/// already in the text are kept where they are set.
fn ansi(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let codes = ev.eval_arg(raw[0]);
    let text = rest(ev, raw, 1);
    let mut outer = Style::default();
    for word in codes.split(' ') {
        outer.apply_letters(word);
    }
    Text::parse(&text).restyled(|inner| inner.over(outer)).render()
}

/// 1 if every character is a letter (and there is at least one).
fn isword(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let s = strip(&args[0]);
    let word = !s.is_empty() && s.chars().all(char::is_alphabetic);
    if word { "1" } else { "0" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::softcode::conformance::think;

    fn red(s: &str) -> String {
        format!("\x1b[31m{s}\x1b[0m")
    }

    #[test]
    fn strlen_counts_characters_not_bytes_nor_colour_codes() {
        assert_eq!(think("strlen(foobar)"), "6");
        assert_eq!(think("strlen(héllo wörld)"), "11");
        assert_eq!(think("strlen(ansi(hr,abc))"), "3");
        assert_eq!(think("strlen(%q9)"), "0");
    }

    #[test]
    fn mid_left_and_right_cut_by_character() {
        assert_eq!(think("mid(testing, 2, 2)"), "st");
        assert_eq!(think("mid(testing, 2, -2)"), "es");
        assert_eq!(think("mid(testing,-1,2)"), OUT_OF_RANGE);
        assert_eq!(think("mid(testing,a,2)"), INTEGERS);
        assert_eq!(think("mid(ünïcödé,2,3)"), "ïcö");
        assert_eq!(think("mid(ansi(r,abc),1,1)"), red("b"));
        assert_eq!(think("left(abcdef,3)"), "abc");
        assert_eq!(think("left(abc,10)"), "abc");
        assert_eq!(think("left(abc,-1)"), OUT_OF_RANGE);
        assert_eq!(think("left(abc,x)"), NOT_INTEGER);
        assert_eq!(think("right(abcdef,2)"), "ef");
        assert_eq!(think("right(abc,9)"), "abc");
        assert_eq!(think("right(abc,-2)"), OUT_OF_RANGE);
        assert_eq!(think("right(日本語,2)"), "本語");
        assert_eq!(think("mid(abc,1,-9223372036854775808)"), "abc");
        assert_eq!(think("mid(abc,9223372036854775807,9223372036854775807)"), "");
        assert_eq!(think("strdelete(abc,1,-9223372036854775808)"), "");
    }

    #[test]
    fn cat_and_strcat_join() {
        assert_eq!(think("cat(foo bar, baz blech)"), "foo bar baz blech");
        assert_eq!(think("strcat(foo bar, baz blech)"), "foo barbaz blech");
        assert_eq!(think("cat(a,,b)"), "a  b");
        let long = format!("cat({0},{0})", "x".repeat(5000));
        assert_eq!(think(&long).len(), MAX_OUTPUT);
    }

    #[test]
    fn repeat_and_space_are_bounded() {
        assert_eq!(think("repeat(Test, 5)"), "TestTestTestTestTest");
        assert_eq!(think("repeat(x,0)"), "");
        assert_eq!(think("repeat(,5)"), "");
        assert_eq!(think("repeat(x,-1)"), "#-1 ARGUMENT MUST BE NON-NEGATIVE INTEGER");
        assert_eq!(think("repeat(x,y)"), NOT_INTEGER);
        assert_eq!(think("repeat(ab,999999999999)").len(), MAX_OUTPUT);
        assert_eq!(think("repeat(é,999999999999)").len(), MAX_OUTPUT);
        assert_eq!(think("a[space(5)]b"), "a     b");
        assert_eq!(think("space(-1)"), POSITIVE);
        assert_eq!(think("space(x)"), POSITIVE);
        assert_eq!(think("space(99999999999999999999)").len(), MAX_OUTPUT);
    }

    #[test]
    fn case_functions_take_commas_and_keep_colour() {
        assert_eq!(think("ucstr(Foo BAR baz)"), "FOO BAR BAZ");
        assert_eq!(think("lcstr(Foo BAR bAz)"), "foo bar baz");
        assert_eq!(think("capstr(foo bar baz)"), "Foo bar baz");
        assert_eq!(think("ucstr(a,b)"), "A,B");
        assert_eq!(think("ucstr(straße)"), "STRASSE");
        assert_eq!(think("capstr(élan)"), "Élan");
        assert_eq!(think("capstr(%q9)"), "");
        assert_eq!(think("ucstr(ansi(r,m))"), red("M"));
        assert_eq!(think("ucstr([add(1,2)]x)"), "3X");
    }

    #[test]
    fn edit_replaces_each_pair_in_turn() {
        assert_eq!(
            think("edit(this is a test,^,I think%b,$,.,a test,an exam)"),
            "I think this is an exam."
        );
        assert_eq!(think("edit(aaa,a,b)"), "bbb");
        assert_eq!(think("edit(abc,,-)"), "-a-b-c-");
        assert_eq!(think("edit(abcabc,bc,)"), "aa");
        assert_eq!(think("edit(aaa,a,aa)"), "aaaaaa");
        assert_eq!(think("edit(abc,b,x,x,y)"), "ayc");
        assert_eq!(think("edit(abc,b,x,c)"), "axc", "an odd last argument is ignored");
        let huge = format!("edit({},,{})", "x".repeat(100), "y".repeat(500));
        assert_eq!(think(&huge).len(), MAX_OUTPUT);
    }

    #[test]
    fn trim_and_squish() {
        assert_eq!(think("trim(%b%bfoo bar baz%b%b%beek%b%b)"), "foo bar baz   eek");
        assert_eq!(think("trim(***BLAM***,*)"), "BLAM");
        assert_eq!(think("trim(-----> WOW <---,-,r)"), "-----> WOW <");
        assert_eq!(think("trim(-----> WOW <---,-,l)"), "> WOW <---");
        assert_eq!(think("trim(=~=~=~= Trim Test =~=~=~=,= ~)"), "Trim Test");
        assert_eq!(
            think("squish(%b%bfoo bar%b%bbaz blech%b%b%beek%b)"),
            "foo bar baz blech eek"
        );
        assert_eq!(think("squish(||a|| b|c|d|, |)"), "a| b|c|d");
        assert_eq!(think("squish(a--b,--)"), ONE_CHARACTER);
    }

    #[test]
    fn justification_pads_and_cuts() {
        assert_eq!(think("x[ljust(foo,6)]x"), "xfoo   x");
        assert_eq!(think("ljust(foo,6,-)"), "foo---");
        assert_eq!(think("ljust(foo,12,=+)"), "foo=+=+=+=+=");
        assert_eq!(think("ljust(This is too long,9)"), "This is too long");
        assert_eq!(think("ljust(This is too long,9,,1)"), "This is t");
        assert_eq!(think("-[rjust(foo,6)]-"), "-   foo-");
        assert_eq!(think("rjust(foo,12,=-)"), "=-=-=-=-=foo");
        assert_eq!(think("rjust(This is too long,9,,1)"), " too long");
        assert_eq!(think("ljust(foo,-1)"), POSITIVE);
        assert_eq!(think("ljust(x,999999999999)").len(), MAX_OUTPUT);
        assert_eq!(think("center(X,5,-)"), "--X--");
        assert_eq!(think("center(X,5,-=)"), "-=X=-");
        assert_eq!(think("center(.NEAT.,15,-,=)"), "----.NEAT.=====");
        assert_eq!(think("center(hello,16,12345)"), "12345hello543215");
        assert_eq!(think("x[center(ab,5)]x"), "x ab  x");
        assert_eq!(think("center(toolong,3)"), "toolong");
        assert_eq!(think("center(x,4,,=)"), EMPTY_FILL);
        assert_eq!(think("center(x,99999999999999,-)").len(), MAX_OUTPUT);
    }

    #[test]
    fn before_after_pos_lpos() {
        assert_eq!(think("before(foo bar baz,bar)"), "foo ");
        assert_eq!(think("before(foo bar baz,r)"), "foo ba");
        assert_eq!(think("before(foo bar baz,x)"), "foo bar baz");
        assert_eq!(think("after(foo bar baz,ba)"), "r baz");
        assert_eq!(think("after(foo bar baz,x)"), "");
        assert_eq!(think("after(foo bar,)"), "bar");
        assert_eq!(think("pos(b,abc)"), "2");
        assert_eq!(think("pos(x,abc)"), "#-1");
        assert_eq!(think("pos(ö,föö)"), "2");
        assert_eq!(think("lpos(a-bc-def-g, -)"), "1 4 8");
        assert_eq!(think("lpos(a b c,)"), "1 3");
        assert_eq!(think("lpos(abc,x)"), "");
    }

    #[test]
    fn wildcards_match_whole_strings_ignoring_case() {
        assert_eq!(think("strmatch(Foo bar baz, *Baz)"), "1");
        assert_eq!(think("strmatch(Foo bar baz,*Foo)"), "0");
        assert_eq!(think("strmatch(Foo bar baz,*o*a*)"), "1");
        assert_eq!(think("strmatch(foo:bar,*:*,0 1)/%q0/%q1"), "1/foo/bar");
        assert_eq!(think("strmatch(a:b:c,*:*,0 1)/%q0/%q1"), "1/a/b:c");
        assert_eq!(think("strmatch(abc,a?c,x)/%qx"), "1/b");
        assert_eq!(think("strmatch(abc,abd,0)"), "0");
        assert_eq!(think("strmatch(a*c,a\\\\*c)"), "1");
        assert_eq!(think("strmatch(abc,a\\\\*c)"), "0");
        assert_eq!(think("strmatch(,*)"), "1");
        assert_eq!(think("strmatch(x,)"), "0");
        assert_eq!(think("strmatch(ab,*,!!)"), "1#-1 REGISTER NAME INVALID");
        assert_eq!(think("strmatch(ab,?*,- 0)%q0"), "1b");
        assert_eq!(
            crate::game::wild::captures("**", "ab"),
            Some(vec![String::new(), "ab".into()])
        );
        let long = "a".repeat(4000);
        assert_eq!(crate::game::wild::captures(&format!("*{long}b"), &long), None);
    }

    #[test]
    fn flip_secure_escape_decompose() {
        assert_eq!(think("flip(foo bar baz)"), "zab rab oof");
        assert_eq!(think("reverse(abc,def)"), "fed,cba");
        assert_eq!(think("flip(añb)"), "bña");
        assert_eq!(think("secure(a\\%b\\[c\\]d)"), "a b c d");
        assert_eq!(think("escape(\\[a\\])"), "\\[a\\]");
        assert_eq!(think("escape(ab\\,c)"), "\\ab\\,c");
        assert_eq!(think("escape(%q9)"), "");
        assert_eq!(
            think("decompose(This is \\[a [ansi(y,test)]\\][space(3)])"),
            "This is \\[a%b[ansi(y,test)]\\] %b%b"
        );
        assert_eq!(think("decompose(a%rb%tc)"), "a%rb%tc");
        assert_eq!(think("decompose([space(2)]a[space(6)]b)"), "%b a[space(6)]b");
        assert_eq!(think("decompose(a[space(4)]b)"), "a %b %bb");
    }

    #[test]
    fn comparisons() {
        assert_eq!(think("comp(a,b)"), "-1");
        assert_eq!(think("comp(b,a)"), "1");
        assert_eq!(think("comp(a,a)"), "0");
        assert_eq!(think("comp(a,A)"), "1");
        assert_eq!(think("comp(a,A,i)"), "0");
        assert_eq!(think("comp(9,10,n)"), "-1");
        assert_eq!(think("comp(9,10)"), "1");
        assert_eq!(think("comp(1.5,1.25,f)"), "1");
        assert_eq!(think("comp(x,1,n)"), INTEGERS);
        assert_eq!(think("comp(x,1,f)"), "#-1 ARGUMENTS MUST BE NUMBERS");
        assert_eq!(think("comp(#2,#10,d)"), "#-1 INVALID DBREF");
        assert_eq!(think("comp(#2,#8,d)"), "-1");
        assert_eq!(think("comp(a,b,)"), "#-1 INVALID THIRD ARGUMENT");
        assert_eq!(think("comp(a,b,q)"), "#-1 INVALID THIRD ARGUMENT");
        assert_eq!(think("alphamax(b,c,a)"), "c");
        assert_eq!(think("alphamin(b,c,a)"), "a");
        assert_eq!(think("alphamax(one)"), "one");
    }

    #[test]
    fn characters_and_articles() {
        assert_eq!(think("art(apple)"), "an");
        assert_eq!(think("art(Egg)"), "an");
        assert_eq!(think("art(pear)"), "a");
        assert_eq!(think("art(%q9)"), "a");
        assert_eq!(think("ord(A)"), "65");
        assert_eq!(think("ord(é)"), "233");
        assert_eq!(think("ord(ab)"), "#-1 FUNCTION (ORD) EXPECTS ONE CHARACTER");
        assert_eq!(think("ord(%q9)"), "#-1 FUNCTION (ORD) EXPECTS ONE CHARACTER");
        assert_eq!(think("ord(%t)"), UNPRINTABLE);
        assert_eq!(think("chr(65)"), "A");
        assert_eq!(think("chr(233)"), "é");
        assert_eq!(think("chr(7)"), UNPRINTABLE);
        assert_eq!(think("chr(256)"), "#-1 THIS ISN'T UNICODE");
        assert_eq!(think("chr(-1)"), POSITIVE);
        assert_eq!(think("isword(hello)"), "1");
        assert_eq!(think("isword(hello world)"), "0");
        assert_eq!(think("isword(%q9)"), "0");
    }

    #[test]
    fn insert_delete_replace() {
        assert_eq!(think("strinsert(barbaz, 0, foo)"), "foobarbaz");
        assert_eq!(think("strinsert(Myname, 2, %b)"), "My name");
        assert_eq!(think("strinsert(abc, 9, x)"), "abcx");
        assert_eq!(think("strinsert(abc, -1, x)"), ARGUMENT_OUT_OF_RANGE);
        assert_eq!(think("strinsert(abc, 1, x,y)"), "ax,ybc");
        assert_eq!(think("strdelete(abcdefgh, 3, 2)"), "abcfgh");
        assert_eq!(think("strdelete(abcdefgh, 3, -2)"), "abefgh");
        assert_eq!(think("delete(abcdefgh, 3, 2)"), "abcfgh");
        assert_eq!(think("strdelete(abc, 5, 1)"), "abc");
        assert_eq!(think("strdelete(abc, -1, 1)"), OUT_OF_RANGE);
        assert_eq!(think("strdelete(abc, 1, 99)"), "a");
        assert_eq!(think("strreplace(abcXYZgh, 3, 3, def)"), "abcdefgh");
        assert_eq!(think("strreplace(Fix teh typo, 4, 3, the)"), "Fix the typo");
        assert_eq!(think("strreplace(abc, 9, 1, x)"), "abc");
        assert_eq!(think("strreplace(abc, 1, -1, x)"), ARGUMENT_OUT_OF_RANGE);
    }

    #[test]
    fn literal_and_second_evaluation() {
        assert_eq!(think("lit(near       far)"), "near       far");
        assert_eq!(think("lit([add(1,2)],%b)"), "[add(1,2)],%b");
        assert_eq!(think("s(\\[ucstr(test)\\])"), "TEST");
        assert_eq!(think("s(%%r)"), "\n");
    }

    #[test]
    fn ansi_colours_and_strips() {
        assert_eq!(think("ansi(hr,text)"), "\x1b[1;31mtext\x1b[0m");
        assert_eq!(think("ansi(r,a,b)"), red("a,b"));
        assert_eq!(think("ansi(yB,foo)"), "\x1b[33;44mfoo\x1b[0m");
        assert_eq!(think("ansi(rn,foo)"), "foo");
        assert_eq!(think("ansi(r,)"), "");
        assert_eq!(think("ansi(G+orange,bar)"), "\x1b[42mbar\x1b[0m");
        assert_eq!(think("ansi(+yellow/+bisque b,x)"), "\x1b[34mx\x1b[0m");
        assert_eq!(Text::parse("\x1b[38;5;208;1mx").render(), "\x1b[1mx\x1b[0m");
        assert_eq!(Text::parse("\x1b[48;2;1;2;3;4mx").render(), "\x1b[4mx\x1b[0m");
        assert_eq!(
            think("ansi(r,a[ansi(h,b)]c)"),
            "\x1b[31ma\x1b[0m\x1b[1;31mb\x1b[0m\x1b[31mc\x1b[0m"
        );
        assert_eq!(think("stripansi(ansi(hr,text))"), "text");
        assert_eq!(think("decompose(ansi(hr,a b))"), "[ansi(hr,a b)]");
        assert_eq!(think("flip(ansi(r,ab)c)"), format!("c{}", red("ba")));
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(think("wrap(aaa bbb ccc,8)"), "aaa bbb\nccc");
        assert_eq!(
            think("wrap(aaa bbb ccc,7)"),
            "aaa\nbbb ccc",
            "a line that fills the width exactly is only kept when a newline or the end follows"
        );
        assert_eq!(think("wrap(aaa bbb ccc,4,8,|)"), "aaa bbb|ccc");
        assert_eq!(think("wrap(abcdefgh,4)"), "abc-\ndef-\ngh");
        assert_eq!(think("wrap(a%rb,10)"), "a\nb");
        assert_eq!(think("wrap(abc,1)"), "#-1 WIDTH TOO SMALL");
        assert_eq!(think("wrap(abc,x)"), NOT_INTEGER);
        assert_eq!(think("wrap(,10)"), "");
        let huge = format!("wrap({},2,2,{})", "x".repeat(4000), "y".repeat(4000));
        assert_eq!(think(&huge).len(), MAX_OUTPUT);
    }

    #[test]
    fn numbers_in_words() {
        assert_eq!(
            think("spellnum(12345)"),
            "twelve thousand three hundred forty-five"
        );
        assert_eq!(think("spellnum(0)"), "zero");
        assert_eq!(think("spellnum(-7)"), "negative seven");
        assert_eq!(think("spellnum(1000000)"), "one million");
        assert_eq!(think("spellnum(1.5)"), "one and five tenths");
        assert_eq!(think("spellnum(0.01)"), "one hundredth");
        assert_eq!(think("spellnum(2.0)"), "two and zero tenths");
        assert_eq!(think("spellnum(abc)"), NOT_NUMBER);
        assert_eq!(think("spellnum(1234567890123456)"), OUT_OF_RANGE);
        assert_eq!(
            think("spellnum(999999999999999)"),
            "nine hundred ninety-nine trillion nine hundred ninety-nine billion nine hundred \
             ninety-nine million nine hundred ninety-nine thousand nine hundred ninety-nine"
        );
    }

    #[test]
    fn styles_round_trip_through_text() {
        let s = "\x1b[1;31mab\x1b[0mc\x1b[44md\x1b[0m";
        assert_eq!(Text::parse(s).render(), s);
        assert_eq!(Text::parse("plain").render(), "plain");
        assert_eq!(Text::parse(s).string(), "abcd");
        assert_eq!(Text::parse("\x1b[2Jx").render(), "x", "other escapes are dropped");
    }
}
