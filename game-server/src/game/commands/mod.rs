//! The command table and the dispatcher: one place that says which commands exist, how they are
//! typed, whether they need a login, and what they do in one line.
//!
//! Why one table: `help` is generated from it, the metrics label comes from it (the dispatch
//! names what it ran in `Effects::label`), and adding a command is one file plus one entry. Each command lives in its own file with its own tests.
//!
//! How a line is read (PennMUSH order): a leading prefix (`"` say, `:` / `;` pose); then, when
//! logged in, the whole line as the name of an exit out of the room (`north`, `n`); then the first
//! word as a command name or alias, case-insensitively (but `QUIT` only in capitals, so that the
//! word "quit" in passing never ends a session). Anything else: `Huh?  (Type "help" for help.)`,
//! or a hint at the login screen.
//!
//! Permissions are PennMUSH's (`perms.rs`): a player controls itself and what it owns, a wizard
//! controls everything (God aside); changing an object needs control of it. Commands typed by a
//! player that show text (`say`, `pose`, `@emit`, `@pemit`, `think`) evaluate it as softcode;
//! attribute values are stored as typed (they are code).

mod attribute;
mod channel;
mod chown;
mod connect;
mod create;
mod create_thing;
mod describe;
mod destroy;
mod dig;
mod dolist;
mod drop;
mod emit;
mod enter;
mod examine;
mod get;
mod go;
mod halt;
mod help;
mod home;
mod inventory;
mod lock;
mod look;
mod name;
mod open;
mod page;
mod password;
mod pemit;
mod pose;
mod ps;
mod quit;
mod say;
mod search;
mod set;
mod switch;
mod teleport;
mod think;
mod trigger;
mod user_commands;
mod wait;
mod who;
mod wipe;

use mush_protocol::{GameMessageKind, Handle, Timestamp};

use super::budget::{Fuel, Payer};
use super::world::{LOBBY, Object, ObjectId, WorldChange};
use super::{Effects, Game, clean_line};

/// What an unknown command gets, word for word.
pub const HUH: &str = "Huh?  (Type \"help\" for help.)";
/// What the login screen says to anything it does not understand.
pub const LOGIN_HINT: &str = "You are not logged in. Type \"connect <name> <password>\", or \
     \"create <name> <password>\" for a new character (\"help\" lists what works here).";

/// What a command is given: how it was called (name, alias or prefix), its switches
/// (`@lock/enter` has `enter`; `/`-separated, empty when none) and the rest of the line.
pub(crate) struct Args<'a> {
    pub used: &'a str,
    pub switches: &'a str,
    pub rest: &'a str,
}

/// A command's function, by what it needs.
#[derive(Clone, Copy)]
pub(crate) enum Run {
    /// Only at the login screen.
    LoggedOut(fn(&mut Cx<'_>, &Args<'_>)),
    /// Only when logged in; gets the player.
    LoggedIn(fn(&mut Cx<'_>, ObjectId, &Args<'_>)),
    /// Either way.
    Always(fn(&mut Cx<'_>, Option<ObjectId>, &Args<'_>)),
}

pub(crate) struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Typed straight before the argument, no space needed (`"hello`).
    pub prefixes: &'static [&'static str],
    /// Only `QUIT`: matched in capitals only.
    pub exact_case: bool,
    pub usage: &'static str,
    pub help: &'static str,
    pub run: Run,
}

impl Command {
    const fn new(name: &'static str, usage: &'static str, help: &'static str, run: Run) -> Self {
        Self {
            name,
            aliases: &[],
            prefixes: &[],
            exact_case: false,
            usage,
            help,
            run,
        }
    }

    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    const fn prefixes(mut self, prefixes: &'static [&'static str]) -> Self {
        self.prefixes = prefixes;
        self
    }

    const fn exact_case(mut self) -> Self {
        self.exact_case = true;
        self
    }

    pub fn requires_login(&self) -> bool {
        matches!(self.run, Run::LoggedIn(_))
    }

    pub fn available(&self, logged_in: bool) -> bool {
        match self.run {
            Run::LoggedOut(_) => !logged_in,
            Run::LoggedIn(_) => logged_in,
            Run::Always(_) => true,
        }
    }

    fn is_called(&self, word: &str) -> bool {
        std::iter::once(&self.name).chain(self.aliases).any(|n| {
            if self.exact_case {
                *n == word
            } else {
                n.eq_ignore_ascii_case(word)
            }
        })
    }
}

/// Every command, in the order `help` lists them.
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "connect",
        "connect <name> <password>",
        "Log in (quote a name with spaces: connect \"Mary Jane\" secret).",
        Run::LoggedOut(connect::run),
    ),
    Command::new(
        "create",
        "create <name> <password>",
        "Make a new character (name: 2-30 letters, digits, _ - or spaces; password: 4+ characters).",
        Run::LoggedOut(create::run),
    ),
    Command::new(
        "look",
        "look [thing]",
        "Look at the room, or at someone or something.",
        Run::LoggedIn(look::run),
    )
    .aliases(&["l"]),
    Command::new(
        "say",
        "say <message>",
        "Say something to the room (or start the line with \").",
        Run::LoggedIn(say::run),
    )
    .prefixes(&["\""]),
    Command::new(
        "pose",
        "pose <action>",
        "Act something out: \":waves\" shows \"Name waves.\", \";'s eyes narrow\" shows \"Name's eyes narrow\".",
        Run::LoggedIn(pose::run),
    )
    .prefixes(&[":", ";"]),
    Command::new(
        "page",
        "page <player>=<message>",
        "Send a private message to a player wherever they are.",
        Run::LoggedIn(page::run),
    )
    .aliases(&["p"]),
    Command::new(
        "@emit",
        "@emit <text>",
        "Show text to everyone in the room, with no name in front.",
        Run::LoggedIn(emit::run),
    ),
    Command::new(
        "think",
        "think <text>",
        "Evaluate text ([functions], %r, %n, %#) and show the result to yourself only.",
        Run::LoggedIn(think::run),
    ),
    Command::new(
        "WHO",
        "WHO",
        "List who is logged in, for how long, and how long idle.",
        Run::Always(who::run),
    ),
    Command::new(
        "go",
        "go <exit>",
        "Go through an exit (typing the exit's name alone does the same).",
        Run::LoggedIn(go::run),
    )
    .aliases(&["goto", "move"]),
    Command::new("home", "home", "Go back to your home.", Run::LoggedIn(home::run)),
    Command::new(
        "enter",
        "enter <thing>",
        "Go into a thing that lets you (ENTER_OK, and its Enter lock).",
        Run::LoggedIn(enter::run),
    ),
    Command::new(
        "leave",
        "leave",
        "Step out of the thing you are in.",
        Run::LoggedIn(enter::leave),
    ),
    Command::new(
        "inventory",
        "inventory",
        "List what you are carrying.",
        Run::LoggedIn(inventory::run),
    )
    .aliases(&["i", "inv"]),
    Command::new("get", "get <thing>", "Pick up a thing here.", Run::LoggedIn(get::run)).aliases(&["take"]),
    Command::new("drop", "drop <thing>", "Put down a thing you carry.", Run::LoggedIn(drop::run)),
    Command::new(
        "@dig",
        "@dig <room>[=<exit>[,<back exit>]]",
        "Build a room; optionally an exit to it from here, and one back.",
        Run::LoggedIn(dig::run),
    ),
    Command::new(
        "@open",
        "@open <exit>=<#room>",
        "Open an exit from here to a room, e.g. @open North;n=#12.",
        Run::LoggedIn(open::run),
    ),
    Command::new(
        "@create",
        "@create <thing>",
        "Make a thing; you carry it.",
        Run::LoggedIn(create_thing::run),
    ),
    Command::new(
        "@describe",
        "@describe <thing>=<text>",
        "Describe something you control (yourself, what you own).",
        Run::LoggedIn(describe::run),
    )
    .aliases(&["@desc"]),
    Command::new(
        "@name",
        "@name <thing>=<new name>",
        "Rename something you control (yourself, what you own).",
        Run::LoggedIn(name::run),
    ),
    Command::new(
        "&attribute",
        "&attribute <object>=<value>   (e.g. &COLOR rose=red)",
        "Set an attribute (stored as typed: it is code); an empty value clears it.",
        Run::LoggedIn(attribute::run),
    )
    .prefixes(&["&"]),
    Command::new(
        "@set",
        "@set <object>=[!]<flag> | <attribute>:<value>; @set <object>/<attribute>=[!]<attribute flag>",
        "Set or clear a flag, set an attribute, or flag an attribute (VISUAL, NO_COMMAND, ...).",
        Run::LoggedIn(set::run),
    ),
    Command::new(
        "examine",
        "examine <object>[/<pattern>]",
        "Everything about an object you control (or that is VISUAL): flags, owner, locks, attributes, contents.",
        Run::LoggedIn(examine::run),
    )
    .aliases(&["ex"]),
    Command::new(
        "@wipe",
        "@wipe <object>[/<pattern>]",
        "Clear an object's attributes (those matching a * and ? pattern).",
        Run::LoggedIn(wipe::run),
    ),
    Command::new(
        "@chown",
        "@chown[/preserve] <object>=<player>",
        "Give an object to a player (wizards); take a CHOWN_OK one you hold or stand by for yourself.",
        Run::LoggedIn(chown::run),
    ),
    Command::new(
        "@destroy",
        "@destroy[/override] <object>",
        "Destroy a thing, room or exit you control (not players); /override (or @nuke) for SAFE ones.",
        Run::LoggedIn(destroy::run),
    )
    .aliases(&["@nuke", "@recycle"]),
    Command::new(
        "@teleport",
        "@teleport [<object>=]<destination>",
        "Move yourself or what you control to a room or thing that is yours or JUMP_OK (or home).",
        Run::LoggedIn(teleport::run),
    )
    .aliases(&["@tel"]),
    Command::new(
        "@search",
        "@search [<player>|all] [type=<room|thing|exit|player>] [name=<pattern>]",
        "List your objects (or a player's), by type; at most 500.",
        Run::LoggedIn(search::run),
    ),
    Command::new(
        "@password",
        "@password <old password>=<new password>",
        "Change your password (4 characters at least; it is never shown or logged).",
        Run::LoggedIn(password::run),
    ),
    Command::new(
        "@newpassword",
        "@newpassword <player>=<new password>",
        "Wizards: set a player's password (they are told it changed, not what it is).",
        Run::LoggedIn(password::new_password),
    ),
    Command::new(
        "@lock",
        "@lock[/<type>] <object>=<key>",
        "Lock an object: types Basic (default), Enter, Use, Page, Teleport, Speech; keys like me, =#5, +key, flag^WIZARD, RACE:elf*, with ! & | ( ).",
        Run::LoggedIn(lock::run),
    ),
    Command::new(
        "@unlock",
        "@unlock[/<type>] <object>",
        "Remove an object's lock (Basic unless a type is given).",
        Run::LoggedIn(lock::unlock),
    ),
    Command::new(
        "@pemit",
        "@pemit <player>=<message>",
        "Show a message (evaluated) to one player or something near, with no name in front.",
        Run::LoggedIn(pemit::run),
    ),
    Command::new(
        "@channel",
        "@channel/<add|delete|join|leave|who|list|recall> [<channel>]",
        "Chat channels: create, delete, join, leave, see who is on, list, recall the last lines. Talk with +<channel> <message>.",
        Run::LoggedIn(channel::run),
    ),
    Command::new(
        "@chat",
        "@chat <channel>=<message>",
        "Say something on a channel you are on (start with : to pose).",
        Run::LoggedIn(channel::chat),
    ),
    Command::new(
        "@wait",
        "@wait <seconds>=<action>",
        "Run an action later (it survives game restarts; up to 100 waiting per owner).",
        Run::LoggedIn(wait::run),
    ),
    Command::new(
        "@trigger",
        "@trigger <object>/<attribute>[=<arg0>,<arg1>,...]",
        "Run an attribute's action as its object, with %0-%9 set.",
        Run::LoggedIn(trigger::run),
    )
    .aliases(&["@tr"]),
    Command::new(
        "@switch",
        "@switch <value>=<pattern>,<action>,...[,<default>]",
        "Run the action of the first pattern the value matches (* and ? wildcards); /all runs every match.",
        Run::LoggedIn(switch::run),
    )
    .aliases(&["@sw"]),
    Command::new(
        "@halt",
        "@halt [<object>]",
        "Take your objects' (or one object's) waiting actions off the queue.",
        Run::LoggedIn(halt::run),
    ),
    Command::new(
        "@ps",
        "@ps",
        "List your waiting actions (wizards: everyone's).",
        Run::LoggedIn(ps::run),
    ),
    Command::new(
        "@dolist",
        "@dolist <list>=<command>",
        "Run a command once for each word of a list, in order; ## stands for the word.",
        Run::LoggedIn(dolist::run),
    )
    .aliases(&["@dol"]),
    Command::new(
        "help",
        "help [command]",
        "List the commands, or explain one.",
        Run::Always(help::run),
    ),
    Command::new(
        "QUIT",
        "QUIT",
        "Leave the game (type it in capitals).",
        Run::Always(quit::run),
    )
    .exact_case(),
];

/// The context a command runs in: the game, who typed, when, and where its effects go.
pub(crate) struct Cx<'a> {
    game: &'a mut Game,
    handle: Handle,
    now: Timestamp,
    fx: &'a mut Effects,
    /// How deeply `@dolist`s are nested.
    depth: u32,
    /// What the line may still spend (see `budget`): shared by everything the line runs.
    fuel: Fuel,
    /// When code runs (a `$`-command's action): who caused it (`%#`) and its arguments
    /// (`%0`-`%9`). `None` when a player typed the line.
    code: Option<CodeContext>,
    /// Who hears the answers when no connection typed the line (queued code: its owner).
    answer: Option<ObjectId>,
}

/// The softcode context of commands run by code rather than typed.
#[derive(Debug, Clone)]
pub(crate) struct CodeContext {
    pub enactor: ObjectId,
    pub args: Vec<String>,
}

impl Cx<'_> {
    /// The player this connection is bound to now.
    fn player(&self) -> Option<ObjectId> {
        self.game.connections.get(&self.handle).and_then(|c| c.player)
    }

    fn obj(&self, id: ObjectId) -> Option<&Object> {
        self.game.world.get(id)
    }

    /// Where `who` is (the lobby if nowhere).
    fn location(&self, who: ObjectId) -> ObjectId {
        self.obj(who).and_then(|o| o.location).unwrap_or(LOBBY)
    }

    fn name(&self, id: ObjectId) -> String {
        self.game.world.name_of(id)
    }

    /// The address this connection came from.
    fn addr(&self) -> String {
        self.game
            .connections
            .get(&self.handle)
            .map(|c| c.addr.clone())
            .unwrap_or_default()
    }

    /// Whether logins from this address or for `name` are refused for now (too many failures);
    /// tells the connection how long to wait when they are.
    fn login_throttled(&mut self, name: &str) -> bool {
        let addr = self.addr();
        match self.game.throttle.refused_for(&addr, name, self.now) {
            Some(wait) => {
                self.tell_handle(format!(
                    "Too many failed logins from your address or for that name. Please wait {wait} \
                     seconds before trying again."
                ));
                true
            }
            None => false,
        }
    }

    /// Text to this connection only.
    fn tell_handle(&mut self, text: impl Into<String>) {
        self.text(vec![self.handle], text.into());
    }

    /// Text to every connection of `player`.
    fn tell_player(&mut self, player: ObjectId, text: impl Into<String>) {
        let targets = self.game.handles_of(player);
        self.text(targets, text.into());
    }

    /// Text to `targets`, paid from the line's output budget (nothing is sent once it is spent).
    fn text(&mut self, targets: Vec<Handle>, text: String) {
        if !targets.is_empty() && self.fuel.spend_output(text.len()) {
            self.fx.text(targets, text);
        }
    }

    /// The answer to a command: to the player (all their connections), or to this connection at
    /// the login screen.
    fn reply(&mut self, text: impl Into<String>) {
        match self.player().or(self.answer) {
            Some(p) => self.tell_player(p, text),
            None if self.handle == Handle::GAME => {}
            None => self.tell_handle(text),
        }
    }

    /// Text to everyone in `room` but `except`, as one multicast.
    fn tell_room(&mut self, room: ObjectId, except: Option<ObjectId>, text: impl Into<String>) {
        let targets = self.game.room_handles(room, except);
        self.text(targets, text.into());
    }

    fn send(&mut self, targets: Vec<Handle>, kind: GameMessageKind) {
        let bytes = match &kind {
            GameMessageKind::Text { text } | GameMessageKind::Prompt { text } => text.len(),
            GameMessageKind::Gmcp { package, json } => package.len() + json.len(),
            GameMessageKind::Msdp { variable, value } => variable.len() + value.len(),
            _ => 0,
        };
        if !targets.is_empty() && self.fuel.spend_output(bytes) {
            self.fx.send(targets, kind);
        }
    }

    /// Whether `owner` may create `count` more objects now: within the line's object budget and
    /// the owner's quota. Says why not when not (the budget says it when the line ends).
    fn may_create(&mut self, owner: ObjectId, count: u32) -> bool {
        let quota = self.game.config.limits.object_quota;
        if quota > 0 && self.game.world.owned_by(owner) + count as usize > quota as usize {
            self.fx.quota_refused = true;
            self.reply(format!(
                "You own {quota} objects already, which is as many as a player may own. Destroy or give \
                 away something first."
            ));
            return false;
        }
        (0..count).all(|_| self.fuel.spend_object())
    }

    /// Stores a new or changed object: in the world now, and as a change to persist.
    fn put(&mut self, object: Object) {
        let change = WorldChange::Put(object);
        self.game.world.apply(&change);
        self.fx.changes.push(change);
    }

    /// What `what` names for `me`: something nearby (`me`, `here`, a name, a `#dbref` near or
    /// owned), a player anywhere (`*name`), or any `#dbref` `me` controls or may examine. Tells
    /// `me` when nothing or several things match.
    fn locate(&mut self, me: ObjectId, what: &str) -> Option<ObjectId> {
        use crate::game::matching::{self, Found};
        let world = &self.game.world;
        let what = what.trim();
        let found = match matching::nearby(world, me, what) {
            Found::Missing if what.starts_with('*') => {
                matching::player(world, me, what).map_or(Found::Missing, Found::One)
            }
            Found::Missing if what.starts_with('#') => what
                .parse::<ObjectId>()
                .ok()
                .filter(|id| crate::game::perms::can_examine(world, me, *id))
                .map_or(Found::Missing, Found::One),
            other => other,
        };
        match found {
            Found::One(id) => Some(id),
            other => {
                self.reply(other.complaint());
                None
            }
        }
    }

    /// Whether `me` may change `target` (see `perms::controls`).
    fn may_modify(&self, me: ObjectId, target: ObjectId) -> bool {
        crate::game::perms::controls(&self.game.world, me, target)
    }

    /// Evaluates softcode `text` as `executor` (for the enactor of the code running, or the
    /// executor when a player typed it) on the line's fuel, and makes the output its functions
    /// asked for (`pemit()` and the like).
    fn evaluate(&mut self, executor: ObjectId, text: &str) -> String {
        let (enactor, args) = match &self.code {
            Some(code) => (code.enactor, code.args.clone()),
            None => (executor, Vec::new()),
        };
        let mut ev =
            crate::game::softcode::Evaluator::new(self.game, self.now, &mut self.fuel, executor, enactor);
        ev.args = args;
        let out = ev.eval(text);
        let emits = std::mem::take(&mut ev.emits);
        self.emit(emits);
        out
    }

    /// Makes the output softcode functions asked for.
    fn emit(&mut self, emits: Vec<crate::game::softcode::Emit>) {
        use crate::game::softcode::Emit;
        for e in emits {
            match e {
                Emit::To(targets, text) => {
                    for t in targets {
                        self.tell_player(t, text.clone());
                    }
                }
                Emit::Room { room, except, text } => {
                    let skip: Vec<Handle> = except.iter().flat_map(|p| self.game.handles_of(*p)).collect();
                    let targets: Vec<Handle> = self
                        .game
                        .room_handles(room, None)
                        .into_iter()
                        .filter(|h| !skip.contains(h))
                        .collect();
                    self.text(targets, text);
                }
            }
        }
    }

    /// A fresh object numbered after the last one.
    fn new_object(&self, kind: super::ObjectKind, name: &str, owner: ObjectId) -> Object {
        Object::new(self.game.world.next_id(), kind, name, owner, self.now.as_secs())
    }
}

/// Runs one input line typed on `handle`, on a tank filled from its payer's (the player's, or
/// the connection's before login), and charges the payer for what it burned. A line stopped for
/// want of budget says so once, last, and keeps what it did.
pub(crate) fn run_input(game: &mut Game, handle: Handle, now: Timestamp, line: &str, fx: &mut Effects) {
    let payer = match game.connections.get(&handle).and_then(|c| c.player) {
        Some(p) => Payer::Player(p),
        None => Payer::Connection(handle),
    };
    let fuel = game.tanks.fill(payer, now, &game.config.limits);
    let mut cx = Cx {
        game,
        handle,
        now,
        fx,
        depth: 0,
        fuel,
        code: None,
        answer: None,
    };
    run_line(&mut cx, line);
    let burned = cx.fuel.burned();
    let stopped = cx.fuel.exhausted();
    if let Some(why) = stopped {
        let text = why.message();
        match cx.player() {
            Some(p) => {
                let targets = cx.game.handles_of(p);
                cx.fx.text(targets, text);
            }
            None => cx.fx.text(vec![handle], text),
        }
    }
    cx.fx.stopped = stopped;
    let limits = cx.game.config.limits.clone();
    cx.game.tanks.charge(payer, burned, now, &limits);
}

/// Runs queue entry `id` if it is still queued for `due` (a timer for an entry that already ran,
/// or was replaced, does nothing): it leaves the queue, and its action runs as its executor for
/// its enactor, paid by its owner.
pub(crate) fn run_timer(game: &mut Game, id: u64, due: Timestamp, now: Timestamp, fx: &mut Effects) {
    let Some(entry) = game.world.queue_entry(id).cloned() else {
        return;
    };
    // A timer names its entry's due time (a stale one finds another time), and is never early:
    // only the game-server writes timers, but nothing on the input topic is taken on trust.
    if entry.due_micros != due.as_micros() || entry.due_micros > now.as_micros() + 1_000_000 {
        return;
    }
    let change = WorldChange::Dequeue(id);
    game.world.apply(&change);
    fx.changes.push(change);
    fx.label.get_or_insert("queue");
    if game.world.get(entry.executor).is_none() || game.world.has_flag(entry.executor, "HALT") {
        return;
    }
    let payer = Payer::Player(entry.owner);
    let fuel = game.tanks.fill(payer, now, &game.config.limits);
    let mut cx = Cx {
        game,
        handle: Handle::GAME,
        now,
        fx,
        depth: 0,
        fuel,
        code: None,
        answer: Some(entry.owner),
    };
    user_commands::run_action(&mut cx, entry.executor, entry.enactor, entry.args, &entry.action);
    let burned = cx.fuel.burned();
    cx.fx.stopped = cx.fuel.exhausted();
    let limits = cx.game.config.limits.clone();
    cx.game.tanks.charge(payer, burned, now, &limits);
}

/// See [`Game::credential_work`]: the line is read as [`run_line`] would read it at the login
/// screen.
pub(crate) fn credential_work(
    game: &Game,
    handle: Handle,
    line: &[u8],
    now: Timestamp,
) -> Option<crate::game::CredentialWork> {
    let conn = game.connections.get(&handle);
    let player = conn.and_then(|c| c.player);
    let line = clean_line(line);
    if COMMANDS
        .iter()
        .any(|c| c.prefixes.iter().any(|p| line.starts_with(p)))
    {
        return None;
    }
    let (word, rest) = split_word(&line);
    let command = COMMANDS.iter().find(|c| c.is_called(word))?;
    let addr = conn.map_or("", |c| c.addr.as_str());
    match (command.name, player) {
        ("connect", None) => connect::work(game, addr, rest, now),
        ("create", None) => create::work(game, addr, rest, now),
        ("@password", Some(me)) => password::work(game, me, addr, rest, now),
        ("@newpassword", Some(me)) => password::new_work(game, me, rest),
        _ => None,
    }
}

/// Runs one command line in `cx` (also what `@dolist` calls for each item). Costs one unit of
/// fuel, and one more per KiB of the line.
fn run_line(cx: &mut Cx<'_>, line: &str) {
    if !cx.fuel.burn(1) || !cx.fuel.burn_text(line.len()) {
        return;
    }
    let player = cx.player();
    let logged_in = player.is_some();
    for command in COMMANDS {
        for prefix in command.prefixes {
            if let Some(rest) = line.strip_prefix(prefix) {
                cx.fx.label.get_or_insert(command.name);
                let args = Args {
                    used: prefix,
                    switches: "",
                    rest,
                };
                return invoke(cx, command, player, &args);
            }
        }
    }
    if let Some(me) = player
        && let Some(rest) = line.strip_prefix('+')
    {
        let (word, message) = split_word(rest);
        if let Some(channel) = channel::member_channel(cx, me, word) {
            cx.fx.label.get_or_insert("@chat");
            return channel::say(cx, me, channel, message);
        }
    }
    if let Some(me) = player
        && let Some(exit) = go::exit_named(cx, me, line)
    {
        cx.fx.label.get_or_insert("other");
        return go::traverse(cx, me, exit);
    }
    let (word, rest) = split_word(line);
    let (word, switches) = match word.split_once('/') {
        Some((w, s)) if w.starts_with('@') => (w, s),
        _ => (word, ""),
    };
    let command = COMMANDS.iter().find(|c| c.is_called(word));
    cx.fx.label.get_or_insert(command.map_or("other", |c| c.name));
    match command {
        Some(command) => invoke(
            cx,
            command,
            player,
            &Args {
                used: word,
                switches,
                rest,
            },
        ),
        None if logged_in => {
            let me = player.expect("logged in");
            if !user_commands::try_run(cx, me, line.trim()) {
                cx.reply(HUH);
            }
        }
        None => cx.tell_handle(LOGIN_HINT),
    }
}

/// Commands code may not run: they would log a connection in or out.
const NOT_FROM_CODE: &[&str] = &["connect", "create", "QUIT"];

/// Runs one command of code (a `$`-command's action) as `actor`: the game's own commands only
/// (no exits, no `$`-commands of other objects), anything else ignored.
fn run_as(cx: &mut Cx<'_>, actor: ObjectId, line: &str) {
    if line.is_empty() || !cx.fuel.burn(1) || !cx.fuel.burn_text(line.len()) {
        return;
    }
    for command in COMMANDS {
        for prefix in command.prefixes {
            if let Some(rest) = line.strip_prefix(prefix) {
                let args = Args {
                    used: prefix,
                    switches: "",
                    rest,
                };
                return invoke(cx, command, Some(actor), &args);
            }
        }
    }
    let (word, rest) = split_word(line);
    let (word, switches) = match word.split_once('/') {
        Some((w, s)) if w.starts_with('@') => (w, s),
        _ => (word, ""),
    };
    if let Some(command) = COMMANDS
        .iter()
        .find(|c| c.is_called(word) && !NOT_FROM_CODE.contains(&c.name))
    {
        let args = Args {
            used: word,
            switches,
            rest,
        };
        invoke(cx, command, Some(actor), &args);
    }
}

fn invoke(cx: &mut Cx<'_>, command: &Command, player: Option<ObjectId>, args: &Args<'_>) {
    match (command.run, player) {
        (Run::LoggedOut(f), None) => f(cx, args),
        (Run::LoggedIn(f), Some(me)) => f(cx, me, args),
        (Run::Always(f), p) => f(cx, p, args),
        (Run::LoggedIn(_), None) => cx.tell_handle(LOGIN_HINT),
        (Run::LoggedOut(_), Some(_)) => cx.reply(HUH),
    }
}

/// The first word and the rest, trimmed.
fn split_word(line: &str) -> (&str, &str) {
    let line = line.trim();
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    }
}

/// `left=right`, split at the first `=` outside brackets, both trimmed; `None` without `=`.
fn split_eq(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            '=' if depth <= 0 => return Some((s[..i].trim(), s[i + 1..].trim())),
            _ => {}
        }
    }
    None
}

/// The line as it may be logged: `connect`, `create`, `@password` and `@newpassword` lose
/// everything after the command word, so that no password reaches a log; so does any line that
/// mentions one of the `@` ones (an `@dolist` that wraps one, say: it refuses to run there, but
/// the line holds the password all the same).
pub fn redact_for_log(line: &[u8]) -> String {
    const SECRET: [&str; 4] = ["connect", "create", "@password", "@newpassword"];
    let line = clean_line(line);
    let (word, rest) = split_word(&line);
    let command = word.split('/').next().unwrap_or(word);
    let lower = line.to_lowercase();
    let secret = SECRET.iter().any(|c| command.eq_ignore_ascii_case(c))
        || lower.contains("@password")
        || lower.contains("@newpassword");
    if !rest.is_empty() && secret {
        format!("{word} <redacted>")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Exhausted;
    use crate::game::testkit::*;

    #[test]
    fn unknown_commands_get_huh_word_for_word() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "xyzzy plugh");
        assert_eq!(texts_for(&fx, alice), ["Huh?  (Type \"help\" for help.)"]);
        assert_eq!(HUH, "Huh?  (Type \"help\" for help.)");
        let fx = t.input(alice, "connect Alice password");
        assert_eq!(
            texts_for(&fx, alice),
            [HUH],
            "login commands are not in-game commands"
        );
    }

    #[test]
    fn the_login_screen_hints_at_connect_and_create() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:1");
        for line in ["look", "\"hello", "xyzzy"] {
            let fx = t.input(h(1), line);
            assert_eq!(texts_for(&fx, h(1)), [LOGIN_HINT], "{line}");
        }
    }

    #[test]
    fn command_words_are_case_insensitive_and_aliases_work() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        for line in ["LOOK", "l", "Look here"] {
            let fx = t.input(alice, line);
            assert!(texts_for(&fx, alice)[0].starts_with("The Lobby(#0)"), "{line}");
        }
        let fx = t.input(alice, "INV");
        assert_eq!(texts_for(&fx, alice), ["You aren't carrying anything."]);
    }

    #[test]
    fn the_table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for n in std::iter::once(&c.name).chain(c.aliases).chain(c.prefixes) {
                assert!(seen.insert(n.to_lowercase()), "{n} is listed twice");
            }
            assert!(!c.help.is_empty() && c.usage.starts_with(c.name), "{}", c.name);
        }
        let needs_login = |n: &str| COMMANDS.iter().find(|c| c.name == n).unwrap().requires_login();
        assert!(needs_login("say") && needs_login("@dig"));
        assert!(!needs_login("WHO") && !needs_login("connect") && !needs_login("QUIT"));
    }

    #[test]
    fn the_dispatch_labels_what_it_ran_once_per_line() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        assert_eq!(t.input(alice, "\"hi").label, Some("say"));
        assert_eq!(t.input(alice, ";'s").label, Some("pose"));
        assert_eq!(
            t.input(alice, "@DESC me=x").label,
            Some("@describe"),
            "aliases name the command"
        );
        assert_eq!(t.input(alice, "north").label, Some("other"));
        assert_eq!(
            t.input(alice, "@dol 1 2=look").label,
            Some("@dolist"),
            "the line's own command"
        );
        assert_eq!(t.input(alice, "xyzzy").label, Some("other"));
        assert_eq!(t.input(alice, "   ").label, Some("empty"));
    }

    #[test]
    fn logs_lose_passwords() {
        assert_eq!(redact_for_log(b"connect Alice hunter2"), "connect <redacted>");
        assert_eq!(
            redact_for_log(b"CREATE \"Mary Jane\" hunter2"),
            "CREATE <redacted>"
        );
        assert_eq!(redact_for_log(b"say connect"), "say connect");
        assert_eq!(redact_for_log(b"@password old-pw=new-pw"), "@password <redacted>");
        assert_eq!(
            redact_for_log(b"  @NEWPASSWORD Bob=hunter2"),
            "@NEWPASSWORD <redacted>"
        );
        assert_eq!(
            redact_for_log(b"@password/x old=new"),
            "@password/x <redacted>",
            "switches are part of the word"
        );
        assert_eq!(
            redact_for_log(b"@dolist a=@password ##=hunter2"),
            "@dolist <redacted>"
        );
        assert_eq!(redact_for_log(b"@pemit me=hi"), "@pemit me=hi");
    }

    #[test]
    fn split_eq_ignores_equals_inside_brackets() {
        assert_eq!(split_eq("a = b=c"), Some(("a", "b=c")));
        assert_eq!(split_eq("[f(a=b)] x=y"), Some(("[f(a=b)] x", "y")));
        assert_eq!(split_eq("none"), None);
    }

    #[test]
    fn one_line_runs_on_one_tank_however_deeply_its_dolists_nest() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@dolist [lnum(200)]=@dolist [lnum(100)]=think ##");
        let texts = texts_for(&fx, alice);
        let limit = t.game.config().limits.fuel_per_line as usize;
        assert!(texts.len() < limit, "{}", texts.len());
        assert!(texts.len() > limit / 4, "{}", texts.len());
        assert_eq!(texts.last().unwrap(), Exhausted::Fuel.message());
        assert_eq!(fx.stopped, Some(Exhausted::Fuel));
        let fx = t.input(alice, "think done");
        assert_eq!(
            texts_for(&fx, alice),
            ["done"],
            "the next line runs, on what the player has left"
        );
    }

    #[test]
    fn a_player_who_spends_their_tank_waits_for_it_to_refill() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let heavy = "@dolist [lnum(1000)]=@dolist [lnum(1000)]=think ##";
        for _ in 0..3 {
            t.input(alice, heavy);
        }
        let fx = t.input(alice, "think hello");
        assert_eq!(texts_for(&fx, alice), [Exhausted::Fuel.message()], "nothing left");
        assert_eq!(
            texts_for(&t.input(bob, "think hello"), bob),
            ["hello"],
            "Bob pays his own way"
        );
        t.advance(2);
        assert_eq!(texts_for(&t.input(alice, "think hello"), alice), ["hello"]);
    }

    #[test]
    fn output_per_line_is_bounded_and_what_was_sent_stays_sent() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, &format!("@dolist [lnum(1000)]=say {}", "x".repeat(2_000)));
        let bytes: usize = fx.output.iter().map(|o| text_of(o).len()).sum();
        let cap = t.game.config().limits.output_bytes_per_line;
        assert!(bytes <= cap + 200, "{bytes}");
        assert!(bytes > cap / 2, "{bytes}");
        assert_eq!(fx.stopped, Some(Exhausted::Output));
        assert_eq!(texts_for(&fx, alice).last().unwrap(), Exhausted::Output.message());
        assert!(
            texts_for(&fx, bob).len() > 10,
            "the room heard what was said before the stop"
        );
    }
}
