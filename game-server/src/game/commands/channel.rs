//! Chat channels: `@channel/add|delete|join|leave|who|list|recall`, `@chat <channel>=<message>`,
//! and `+<channel> <message>` (`+<channel> :waves` poses) for channels you are on.
//!
//! Channels are part of the world (created, joined and left with the input that did it, stored
//! in Redis with the objects), so they and their last [`MAX_HISTORY`] lines survive restarts.
//! Only members who are online hear a line.
//!
//! Why bounded: a player owns at most [`MAX_OWNED`] channels, a channel keeps [`MAX_HISTORY`]
//! lines of at most [`MAX_LINE`] characters, and a line to a channel is output like any other
//! (paid from the line's output budget).

use super::{Args, Cx, split_eq};
use crate::game::perms;
use crate::game::timefmt;
use crate::game::world::{Channel, ObjectId, WorldChange};

pub const MAX_HISTORY: usize = 50;
pub const MAX_LINE: usize = 1_000;
pub const MAX_OWNED: usize = 5;
const MAX_NAME: usize = 30;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let name = args.rest.trim();
    match args.switches.to_ascii_lowercase().as_str() {
        "add" => add(cx, me, name),
        "delete" => delete(cx, me, name),
        "join" | "on" => membership(cx, me, name, true),
        "leave" | "off" => membership(cx, me, name, false),
        "who" => who(cx, name),
        "recall" => recall(cx, me, name),
        "list" | "" => list(cx, me),
        other => cx.reply(format!(
            "@channel/{other}: the switches are add, delete, join, leave, who, list and recall."
        )),
    }
}

fn add(cx: &mut Cx<'_>, me: ObjectId, name: &str) {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return cx.reply(format!(
            "A channel name is 1 to {MAX_NAME} letters, digits, _ or -."
        ));
    }
    if cx.game.world.channel(name).is_some() {
        return cx.reply("There is already a channel with that name.");
    }
    let owned = cx.game.world.channels().filter(|c| c.owner == me).count();
    if owned >= MAX_OWNED && !perms::is_wizard(&cx.game.world, me) {
        return cx.reply(format!("You own {MAX_OWNED} channels already."));
    }
    put(
        cx,
        Channel {
            name: name.to_owned(),
            owner: me,
            members: [me].into(),
            history: Vec::new(),
        },
    );
    cx.reply(format!("Channel {name} created; you are on it."));
}

fn find(cx: &mut Cx<'_>, name: &str) -> Option<Channel> {
    let found = cx.game.world.channel(name).cloned();
    if found.is_none() {
        cx.reply(format!("There is no channel {name}."));
    }
    found
}

fn delete(cx: &mut Cx<'_>, me: ObjectId, name: &str) {
    let Some(channel) = find(cx, name) else { return };
    if channel.owner != me && !perms::is_wizard(&cx.game.world, me) {
        return cx.reply("Permission denied: only its owner or a wizard may delete a channel.");
    }
    let change = WorldChange::DropChannel(channel.key());
    cx.game.world.apply(&change);
    cx.fx.changes.push(change);
    cx.reply(format!("Channel {} deleted.", channel.name));
}

fn membership(cx: &mut Cx<'_>, me: ObjectId, name: &str, join: bool) {
    let Some(mut channel) = find(cx, name) else { return };
    let changed = if join {
        channel.members.insert(me)
    } else {
        channel.members.remove(&me)
    };
    if !changed {
        return cx.reply(if join {
            "You are on that channel already."
        } else {
            "You are not on that channel."
        });
    }
    let (verb, channel_name) = (if join { "joined" } else { "left" }, channel.name.clone());
    let text = format!("<{channel_name}> {} has {verb} this channel.", cx.name(me));
    put(cx, channel.clone());
    broadcast(cx, &channel, &text);
    if !join {
        cx.reply(format!("You have left {channel_name}."));
    }
}

fn who(cx: &mut Cx<'_>, name: &str) {
    let Some(channel) = find(cx, name) else { return };
    let online: Vec<String> = channel
        .members
        .iter()
        .filter(|p| cx.game.is_online(**p))
        .map(|p| cx.name(*p))
        .collect();
    cx.reply(format!(
        "Members of {} online: {}",
        channel.name,
        if online.is_empty() {
            "nobody".to_owned()
        } else {
            online.join(", ")
        }
    ));
}

fn recall(cx: &mut Cx<'_>, me: ObjectId, spec: &str) {
    let (name, count) = match split_eq(spec) {
        Some((n, c)) => (n, c.parse::<usize>().unwrap_or(10)),
        None => (spec, 10),
    };
    let Some(channel) = find(cx, name) else { return };
    if !channel.members.contains(&me) && !perms::is_wizard(&cx.game.world, me) {
        return cx.reply("You must be on a channel to recall it.");
    }
    let from = channel.history.len().saturating_sub(count.min(MAX_HISTORY));
    let lines = &channel.history[from..];
    if lines.is_empty() {
        return cx.reply(format!("Nothing has been said on {} yet.", channel.name));
    }
    cx.reply(lines.join("\n"));
}

fn list(cx: &mut Cx<'_>, me: ObjectId) {
    let mut lines = vec!["Channel              Members  On".to_owned()];
    for c in cx.game.world.channels() {
        lines.push(format!(
            "{:<20} {:>7}  {}",
            c.name,
            c.members.len(),
            if c.members.contains(&me) { "yes" } else { "no" }
        ));
    }
    cx.reply(lines.join("\n"));
}

/// `@chat <channel>=<message>`.
pub(super) fn chat(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((name, message)) = split_eq(args.rest) else {
        return cx.reply("Usage: @chat <channel>=<message>");
    };
    let Some(channel) = find(cx, name) else { return };
    say(cx, me, channel, message);
}

/// The channel a `+<word>` names for `me`: one they are on, by name or unique prefix.
pub(super) fn member_channel(cx: &Cx<'_>, me: ObjectId, word: &str) -> Option<Channel> {
    let word = word.to_lowercase();
    if word.is_empty() {
        return None;
    }
    let mine: Vec<&Channel> = cx
        .game
        .world
        .channels()
        .filter(|c| c.members.contains(&me))
        .collect();
    if let Some(exact) = mine.iter().find(|c| c.key() == word) {
        return Some((*exact).clone());
    }
    let mut prefixed = mine.iter().filter(|c| c.key().starts_with(&word));
    match (prefixed.next(), prefixed.next()) {
        (Some(one), None) => Some((*one).clone()),
        _ => None,
    }
}

/// A line to a channel: `:` poses, `;` possessive poses; evaluated like `say`.
pub(super) fn say(cx: &mut Cx<'_>, me: ObjectId, mut channel: Channel, message: &str) {
    if !channel.members.contains(&me) {
        return cx.reply(format!(
            "You are not on {}: @channel/join {0} first.",
            channel.name
        ));
    }
    let message = cx.evaluate(me, message.trim());
    if message.is_empty() {
        return cx.reply("Say what?");
    }
    let speaker = cx.name(me);
    let body = if let Some(pose) = message.strip_prefix(':') {
        format!("{speaker} {}", pose.trim_start())
    } else if let Some(pose) = message.strip_prefix(';') {
        format!("{speaker}{pose}")
    } else {
        format!("{speaker} says, \"{message}\"")
    };
    let mut text = format!("<{}> {body}", channel.name);
    if text.chars().count() > MAX_LINE {
        text = text.chars().take(MAX_LINE).collect();
    }
    broadcast(cx, &channel, &text);
    let at = timefmt::ctime(cx.now.as_secs());
    channel.history.push(format!("[{}] {text}", &at[11..16]));
    if channel.history.len() > MAX_HISTORY {
        let excess = channel.history.len() - MAX_HISTORY;
        channel.history.drain(..excess);
    }
    put(cx, channel);
}

fn broadcast(cx: &mut Cx<'_>, channel: &Channel, text: &str) {
    let targets: Vec<mush_protocol::Handle> = channel
        .members
        .iter()
        .flat_map(|p| cx.game.handles_of(*p))
        .collect();
    cx.text(targets, text.to_owned());
}

fn put(cx: &mut Cx<'_>, channel: Channel) {
    let change = WorldChange::Channel(channel);
    cx.game.world.apply(&change);
    cx.fx.changes.push(change);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn members_hear_channel_lines_and_can_recall_them() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let carol = t.new_player("Carol");
        let fx = t.input(alice, "@channel/add Public");
        assert_eq!(texts_for(&fx, alice), ["Channel Public created; you are on it."]);
        let fx = t.input(bob, "@channel/join public");
        assert_eq!(texts_for(&fx, alice), ["<Public> Bob has joined this channel."]);
        let fx = t.input(alice, "+pub Hello, [add(1,1)] of you!");
        let heard = "<Public> Alice says, \"Hello, 2 of you!\"";
        assert_eq!(texts_for(&fx, alice), [heard]);
        assert_eq!(texts_for(&fx, bob), [heard]);
        assert!(texts_for(&fx, carol).is_empty(), "not a member");
        let fx = t.input(bob, "@chat public=:waves.");
        assert_eq!(texts_for(&fx, alice), ["<Public> Bob waves."]);
        let fx = t.input(carol, "@chat public=hi");
        assert!(texts_for(&fx, carol)[0].starts_with("You are not on Public"));
        let fx = t.input(bob, "@channel/recall public");
        let text = texts_for(&fx, bob).join("\n");
        assert!(
            text.contains("[08:00] <Public> Alice says") && text.contains("Bob waves."),
            "{text}"
        );
        let fx = t.input(carol, "@channel/who Public");
        assert_eq!(texts_for(&fx, carol), ["Members of Public online: Alice, Bob"]);
        let fx = t.input(carol, "+nosuch hello");
        assert_eq!(
            texts_for(&fx, carol),
            [HUH],
            "not a channel of hers: an ordinary line"
        );
        let fx = t.input(bob, "@channel/delete Public");
        assert!(texts_for(&fx, bob)[0].starts_with("Permission denied"));
        t.input(bob, "@channel/leave public");
        let fx = t.input(alice, "@channel/delete Public");
        assert_eq!(texts_for(&fx, alice), ["Channel Public deleted."]);
    }

    #[test]
    fn history_and_ownership_are_bounded() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        t.input(alice, "@channel/add Chatty");
        for i in 0..(super::MAX_HISTORY + 10) {
            t.input(alice, &format!("+chatty line {i}"));
        }
        let chan = t.game.world().channel("chatty").unwrap();
        assert_eq!(chan.history.len(), super::MAX_HISTORY);
        assert!(chan.history.last().unwrap().ends_with("line 59\""));
        for i in 0..super::MAX_OWNED {
            t.input(alice, &format!("@channel/add C{i}"));
        }
        let fx = t.input(alice, "@channel/add OneTooMany");
        assert!(texts_for(&fx, alice)[0].contains("channels already"));
        let fx = t.input(alice, "@channel/add bad name!");
        assert!(texts_for(&fx, alice)[0].starts_with("A channel name"));
    }
}
