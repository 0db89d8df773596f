//! Softcode: the PennMUSH-style language builders program the world in (`think`, `@dolist`,
//! `u()`, `$`-commands, the text of `say`, `@emit` and `@pemit`).
//!
//! * `[...]` evaluates what is inside (nested brackets work) and puts the result in its place.
//! * An expression that *starts* with `name(args)` is a function call (so `think add(1,2)` is 3);
//!   elsewhere, text is text unless bracketed. Arguments are expressions themselves, evaluated
//!   before the call, except for the functions that decide what to evaluate (`if`, `switch`,
//!   `iter`, ...; see [`functions::Run::Lazy`]).
//! * `%` substitutions: `%r` newline, `%b` space, `%t` tab, `%n`/`%N` the enactor's name, `%#` the
//!   enactor, `%!` the executor (the object whose code runs), `%@` the caller, `%l` the enactor's
//!   location, `%0`-`%9` the arguments, `%q0`-`%q9` and `%qa`-`%qz` the registers (`setq()`), `%s`
//!   `%o` `%p` `%a` the enactor's pronouns (from its `SEX` attribute), `%va`-`%vz` the executor's
//!   `VA`-`VZ` attributes, `%%` a percent. Inside `iter()`, `##` is the item and `#@` its position;
//!   inside `switch()`, `#$` is the value switched on.
//! * `\x` is `x` taken literally; `{...}` is kept as is (braces removed, not evaluated).
//! * Errors read like PennMUSH's: `#-1 FUNCTION (FOO) NOT FOUND`, `#-1 ARGUMENTS MUST BE NUMBERS`.
//!
//! Why bounded: input comes from players. Every function call and every bracket evaluated burns
//! the line's [`Fuel`] (so do the KiB of text a function returns); nesting deeper than
//! [`MAX_DEPTH`] or an empty tank put an error in place of the result, and output longer than
//! [`MAX_OUTPUT`] bytes is cut.

#[cfg(test)]
mod conformance;
pub mod functions;
mod parse;

use mush_protocol::Timestamp;

use super::Game;
use super::budget::Fuel;
use super::world::ObjectId;
use parse::Brackets;
pub use parse::{split_top, unbrace};

pub const MAX_OUTPUT: usize = 8_192;
pub const MAX_DEPTH: u32 = 50;
/// What a call or bracket gives once the line's fuel is gone (PennMUSH's words).
pub const OUT_OF_FUEL: &str = "#-1 FUNCTION INVOCATION LIMIT EXCEEDED";
pub const RECURSION: &str = "#-1 FUNCTION RECURSION LIMIT EXCEEDED";

/// Evaluates `input` typed by `enactor` (who is also the executor) at `now`, burning `fuel`.
pub fn evaluate(game: &Game, enactor: ObjectId, now: Timestamp, input: &str, fuel: &mut Fuel) -> String {
    Evaluator::new(game, now, fuel, enactor, enactor).eval(input)
}

/// Output a function asks for (`pemit()`, `emit()`, ...), made by the command that evaluated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    /// To these objects (players hear it on every connection; other objects' listeners may).
    To(Vec<ObjectId>, String),
    /// To everyone in a room but the listed objects.
    Room {
        room: ObjectId,
        except: Vec<ObjectId>,
        text: String,
    },
}

/// One `iter()` level: the item and its 1-based position.
#[derive(Debug, Clone)]
pub struct IterFrame {
    pub item: String,
    pub position: usize,
}

/// The `%q` registers: `0`-`9` and `a`-`z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registers([Option<String>; 36]);

impl Default for Registers {
    fn default() -> Self {
        Self(std::array::from_fn(|_| None))
    }
}

impl Registers {
    fn index(name: &str) -> Option<usize> {
        let mut chars = name.trim().chars();
        let c = chars.next()?.to_ascii_lowercase();
        if chars.next().is_some() {
            return None;
        }
        match c {
            '0'..='9' => Some(c as usize - '0' as usize),
            'a'..='z' => Some(10 + c as usize - 'a' as usize),
            _ => None,
        }
    }

    /// A register's value ("" when unset); `None` for a name that is no register.
    pub fn get(&self, name: &str) -> Option<&str> {
        Self::index(name).map(|i| self.0[i].as_deref().unwrap_or(""))
    }

    /// Sets a register; false for a name that is no register.
    pub fn set(&mut self, name: &str, value: String) -> bool {
        match Self::index(name) {
            Some(i) => {
                self.0[i] = Some(value);
                true
            }
            None => false,
        }
    }
}

/// One evaluation: who runs it, what it may spend, and the state functions share.
pub struct Evaluator<'a> {
    pub game: &'a Game,
    pub now: Timestamp,
    pub fuel: &'a mut Fuel,
    /// `%!`: the object whose code runs (its permissions apply).
    pub executor: ObjectId,
    /// `%#`: who caused it.
    pub enactor: ObjectId,
    /// `%@`: the object that called this code (`u()` sets it).
    pub caller: ObjectId,
    /// `%0`-`%9`.
    pub args: Vec<String>,
    pub registers: Registers,
    /// `iter()` levels, innermost last.
    pub iter: Vec<IterFrame>,
    /// `switch()` values (`#$`), innermost last.
    pub switch: Vec<String>,
    pub depth: u32,
    /// Output functions asked for, in order.
    pub emits: Vec<Emit>,
    /// Set by `ibreak()`: the innermost `iter()` stops after this item.
    pub iter_break: bool,
    brackets: Vec<Brackets>,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        game: &'a Game,
        now: Timestamp,
        fuel: &'a mut Fuel,
        executor: ObjectId,
        enactor: ObjectId,
    ) -> Self {
        Self {
            game,
            now,
            fuel,
            executor,
            enactor,
            caller: enactor,
            args: Vec::new(),
            registers: Registers::default(),
            iter: Vec::new(),
            switch: Vec::new(),
            depth: 0,
            emits: Vec::new(),
            iter_break: false,
            brackets: Vec::new(),
        }
    }

    /// Evaluates a whole string of its own (a line, an attribute's text).
    pub fn eval(&mut self, source: &str) -> String {
        self.brackets.push(Brackets::of(source));
        let out = self.expr(source);
        self.brackets.pop();
        out
    }

    /// Evaluates an argument a lazy function was given unevaluated (a slice of the string being
    /// evaluated, so its brackets are already known).
    pub fn eval_arg(&mut self, raw: &str) -> String {
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        self.expr(raw.trim())
    }

    /// Runs `text` as the code of `executor` with arguments `args` (`u()`): one level deeper, the
    /// caller becomes the current executor; registers are shared, as in PennMUSH.
    pub fn call_code(&mut self, executor: ObjectId, text: &str, args: Vec<String>) -> String {
        if self.depth >= MAX_DEPTH {
            return RECURSION.to_owned();
        }
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        let saved_args = std::mem::replace(&mut self.args, args);
        let saved_executor = std::mem::replace(&mut self.executor, executor);
        let saved_caller = std::mem::replace(&mut self.caller, saved_executor);
        self.depth += 1;
        let out = self.eval(text);
        self.depth -= 1;
        self.args = saved_args;
        self.executor = saved_executor;
        self.caller = saved_caller;
        out
    }

    /// Splits a string at its top-level commas (for functions that take a list of clauses).
    pub fn split_args<'s>(&self, inner: &'s str) -> Vec<&'s str> {
        split_top(&self.brackets, inner, b',')
    }

    /// An expression: a leading `name(...)` is a call; the rest is text.
    fn expr(&mut self, s: &str) -> String {
        let mut out = String::new();
        let rest = match self.leading_call(s) {
            Some((name, inner, after)) => {
                let value = self.call(name, inner);
                push(&mut out, &value);
                after
            }
            None => s,
        };
        self.text(rest, &mut out);
        out
    }

    /// Text: brackets evaluated, `%` substitutions and `\` escapes applied, braces kept verbatim.
    fn text(&mut self, s: &str, out: &mut String) {
        let mut i = 0;
        while let Some(c) = s[i..].chars().next() {
            if out.len() >= MAX_OUTPUT || self.fuel.is_exhausted() {
                return;
            }
            if (c == '[' || c == '{')
                && let Some(end) = parse::closer_in(&self.brackets, s, i)
            {
                let inner = &s[i + 1..end];
                if c == '[' {
                    let value = self.nested(inner);
                    push(out, &value);
                } else {
                    push(out, inner);
                }
                i = end + 1;
                continue;
            }
            let rest = &s[i + c.len_utf8()..];
            let next = rest.chars().next();
            match (c, next) {
                ('\\', Some(n)) => {
                    push(out, n.encode_utf8(&mut [0; 4]));
                    i += 1 + n.len_utf8();
                }
                ('%', Some(n)) => {
                    i += 1 + n.len_utf8() + self.percent(n, &rest[n.len_utf8()..], out);
                }
                ('#', Some('#')) if !self.iter.is_empty() => {
                    let item = self.iter.last().map(|f| f.item.clone()).unwrap_or_default();
                    push(out, &item);
                    i += 2;
                }
                ('#', Some('@')) if !self.iter.is_empty() => {
                    let position = self.iter.last().map_or(0, |f| f.position);
                    push(out, &position.to_string());
                    i += 2;
                }
                ('#', Some('$')) if !self.switch.is_empty() => {
                    let value = self.switch.last().cloned().unwrap_or_default();
                    push(out, &value);
                    i += 2;
                }
                _ => {
                    push(out, c.encode_utf8(&mut [0; 4]));
                    i += c.len_utf8();
                }
            }
        }
    }

    /// One `%` substitution; returns how many characters after the code it also consumed
    /// (`%q0` consumes the register name).
    fn percent(&mut self, code: char, after: &str, out: &mut String) -> usize {
        let world = &self.game.world;
        match code {
            'r' | 'R' => push(out, "\n"),
            'b' | 'B' => push(out, " "),
            't' | 'T' => push(out, "\t"),
            'n' => push(out, &world.name_of(self.enactor)),
            'N' => push(out, &capitalize(&world.name_of(self.enactor))),
            '#' => push(out, &self.enactor.to_string()),
            '!' => push(out, &self.executor.to_string()),
            '@' => push(out, &self.caller.to_string()),
            'l' | 'L' => {
                let at = world.get(self.enactor).and_then(|o| o.location);
                push(out, &at.map_or("#-1".to_owned(), |l| l.to_string()));
            }
            '0'..='9' => {
                let n = code as usize - '0' as usize;
                let value = self.args.get(n).cloned().unwrap_or_default();
                push(out, &value);
            }
            'q' | 'Q' => {
                let name: String = after.chars().take(1).collect();
                if let Some(value) = self.registers.get(&name) {
                    let value = value.to_owned();
                    push(out, &value);
                    return name.len();
                }
                push(out, "q");
            }
            'v' | 'V' => {
                let Some(letter) = after.chars().next().filter(|c| c.is_ascii_alphabetic()) else {
                    push(out, "v");
                    return 0;
                };
                let name = format!("V{}", letter.to_ascii_uppercase());
                let value = world
                    .attribute(self.executor, &name)
                    .map(|(v, _)| v.to_owned())
                    .unwrap_or_default();
                push(out, &value);
                return 1;
            }
            's' | 'S' | 'o' | 'O' | 'p' | 'P' | 'a' | 'A' => {
                let word = pronoun(self.game, self.enactor, code.to_ascii_lowercase());
                if code.is_ascii_uppercase() {
                    push(out, &capitalize(&word));
                } else {
                    push(out, &word);
                }
            }
            other => push(out, other.encode_utf8(&mut [0; 4])),
        }
        0
    }

    /// A bracketed expression, one level deeper.
    fn nested(&mut self, inner: &str) -> String {
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        if self.depth >= MAX_DEPTH {
            return RECURSION.to_owned();
        }
        self.depth += 1;
        let value = self.expr(inner);
        self.depth -= 1;
        value
    }

    fn call(&mut self, name: &str, inner: &str) -> String {
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        if self.depth >= MAX_DEPTH {
            return RECURSION.to_owned();
        }
        let Some(f) = functions::find(name) else {
            return format!("#-1 FUNCTION ({}) NOT FOUND", name.to_ascii_uppercase());
        };
        let raw = self.split_args(inner);
        if raw.len() < f.min || raw.len() > f.max {
            return functions::arity_error(f);
        }
        self.depth += 1;
        let mut value = match f.run {
            functions::Run::Eager(run) => {
                let args: Vec<String> = raw.iter().map(|a| self.expr(a.trim())).collect();
                run(self, &args)
            }
            functions::Run::Lazy(run) => run(self, &raw),
        };
        self.depth -= 1;
        truncate(&mut value);
        self.fuel.burn_text(value.len());
        value
    }

    /// `name(inner)rest` at the start of `s`: (name, inner, rest).
    fn leading_call<'s>(&self, s: &'s str) -> Option<(&'s str, &'s str, &'s str)> {
        // Names are letters, digits and `_` (and `@@`, PennMUSH's comment function).
        let len = if s.starts_with("@@(") {
            2
        } else {
            s.bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count()
        };
        if len == 0 || s.as_bytes().get(len) != Some(&b'(') {
            return None;
        }
        let end = parse::closer_in(&self.brackets, s, len)?;
        Some((&s[..len], &s[len + 1..end], &s[end + 1..]))
    }
}

/// The enactor's pronoun (`s` subjective, `o` objective, `p` possessive, `a` absolute
/// possessive) from its `SEX` attribute (male, female, plural); "it" forms otherwise, as in
/// PennMUSH.
fn pronoun(game: &Game, who: ObjectId, code: char) -> String {
    let sex = game
        .world
        .attribute(who, "SEX")
        .map(|(v, _)| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let forms: [&str; 4] = match sex.chars().next() {
        Some('m') => ["he", "him", "his", "his"],
        Some('f' | 'w') => ["she", "her", "her", "hers"],
        Some('p') => ["they", "them", "their", "theirs"],
        _ => ["it", "it", "its", "its"],
    };
    let i = match code {
        's' => 0,
        'o' => 1,
        'p' => 2,
        _ => 3,
    };
    forms[i].to_owned()
}

/// The first character in upper case.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Appends, stopping at [`MAX_OUTPUT`] bytes (on a character boundary).
pub fn push(out: &mut String, s: &str) {
    let room = MAX_OUTPUT.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
    } else {
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&s[..cut]);
    }
}

/// Cuts a string to [`MAX_OUTPUT`] bytes (on a character boundary).
pub fn truncate(s: &mut String) {
    if s.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests;
