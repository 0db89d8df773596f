//! `WHO`: who is logged in, how long they have been on, and how long since they last typed.
//!
//! Why from connection state: the times come from the connections (connected-at, last input),
//! which survive a game-server restart through reconciliation, so WHO keeps counting across one.
//! One line per player: "On For" from their longest connection, "Idle" from their least idle.
//! Newest arrivals first, as in PennMUSH. Works at the login screen too.

use mush_protocol::Timestamp;

use super::{Args, Cx};
use crate::game::world::ObjectId;
use crate::game::{Game, timefmt};

pub(super) fn run(cx: &mut Cx<'_>, _me: Option<ObjectId>, _args: &Args<'_>) {
    let text = listing(cx.game, cx.now);
    cx.reply(text);
}

pub(crate) fn listing(game: &Game, now: Timestamp) -> String {
    let mut rows: Vec<(u64, u64, String)> = game
        .online
        .keys()
        .filter_map(|p| {
            let on_for = game.connected_secs(*p, now)?;
            let idle = game.idle_secs(*p, now)?;
            Some((on_for, idle, game.world.name_of(*p)))
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
    let mut lines = vec![format!("{:<20}{:>10}{:>6}", "Player Name", "On For", "Idle")];
    lines.extend(rows.iter().map(|(on_for, idle, name)| {
        format!(
            "{name:<20}{:>10}{:>6}",
            timefmt::on_for(*on_for),
            timefmt::idle(*idle)
        )
    }));
    lines.push(match rows.len() {
        1 => "1 player logged in.".to_owned(),
        n => format!("{n} players logged in."),
    });
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    /// (name, on for, idle) per row, and the count line.
    fn parse(text: &str) -> (Vec<(String, String, String)>, String) {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["Player", "Name", "On", "For", "Idle"]
        );
        let rows = lines[1..lines.len() - 1]
            .iter()
            .map(|l| {
                let mut cols: Vec<&str> = l.split_whitespace().collect();
                let idle = cols.pop().unwrap().to_owned();
                let on_for = cols.pop().unwrap().to_owned();
                let on_for = match cols.last() {
                    Some(d) if d.ends_with('d') && d[..d.len() - 1].parse::<u32>().is_ok() => {
                        format!("{} {on_for}", cols.pop().unwrap())
                    }
                    _ => on_for,
                };
                (cols.join(" "), on_for, idle)
            })
            .collect();
        (rows, lines.last().unwrap().to_string())
    }

    #[test]
    fn who_lists_players_with_on_for_and_idle_that_move_with_time() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.advance(5 * 60);
        let bob = t.new_player("Mary Jane");
        t.advance(3);
        let (rows, count) = parse(&texts_for(&t.input(bob, "WHO"), bob)[0]);
        assert_eq!(
            rows,
            [
                ("Mary Jane".into(), "00:00".into(), "0s".into()),
                ("Alice".into(), "00:05".into(), "5m".into())
            ]
        );
        assert_eq!(count, "2 players logged in.");

        t.advance(2 * 3600);
        t.input(alice, "look");
        t.advance(86_400 - 2 * 3600 + 90);
        let (rows, _) = parse(&texts_for(&t.input(bob, "who"), bob)[0]);
        assert_eq!(rows[1], ("Alice".into(), "1d 00:06".into(), "22h".into()));
        assert_eq!(rows[0].2, "0s", "WHO itself is input");
    }

    #[test]
    fn who_works_at_the_login_screen_and_counts_players_not_connections() {
        let mut t = Harness::new();
        t.new_player("Alice");
        t.login_again("Alice", 9);
        t.advance(42);
        t.connect_handle(1, "10.0.0.1:1");
        let text = &texts_for(&t.input(h(1), "WHO"), h(1))[0];
        let (rows, count) = parse(text);
        assert_eq!(rows, [("Alice".into(), "00:00".into(), "42s".into())]);
        assert_eq!(count, "1 player logged in.");
        assert_eq!(t.game.logged_in_count(), 1);
    }

    #[test]
    fn columns_line_up() {
        let mut t = Harness::new();
        let a = t.new_player("Al");
        t.new_player("Bartholomew Longname");
        let text = &texts_for(&t.input(a, "WHO"), a)[0];
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Player Name             On For  Idle");
        assert_eq!(lines[1].len(), lines[0].len());
        assert_eq!(lines[2].len(), lines[0].len());
    }
}
