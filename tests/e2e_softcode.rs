//! Builders' softcode end to end, through the real servers: a `$`-command on a thing answers
//! another player, a lock keeps a thing where it is, and an `@wait` queued before a game-server
//! restart (SIGTERM, then SIGKILL) runs once after it, never twice.

mod support;

use std::time::Duration;

use mush_devstack::TelnetClient;
use support::{Stack, StackOptions, T};

/// Reads for `wait` and counts the lines containing `needle`.
async fn count_lines(c: &mut TelnetClient, needle: &str, wait: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + wait;
    let mut n = 0;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return n;
        }
        match c.next_line(left).await.unwrap() {
            Some(line) if line.contains(needle) => n += 1,
            Some(_) => {}
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dollar_commands_locks_and_a_wait_that_survives_restarts() {
    let mut stack = Stack::start(StackOptions::default()).await;
    // The first player of the world is its wizard; Alice and Bob are mortals.
    let _wizard = stack.player("One").await;
    let mut alice = stack.player("Alice").await;
    let mut bob = stack.player("Bob").await;

    for line in [
        "@create Rose",
        "&COLOR Rose=red",
        "&SMELL Rose=$smell *:@pemit %#=You smell %0: it is [get(me/COLOR)].",
        "drop Rose",
        "@lock Rose=me",
    ] {
        alice.send(line).await.unwrap();
    }
    alice.expect("Rose - Basic locked.", T).await.unwrap();
    bob.send("smell the rose").await.unwrap();
    bob.expect("You smell the rose: it is red.", T).await.unwrap();
    bob.send("get Rose").await.unwrap();
    bob.expect("You can't pick that up.", T).await.unwrap();

    // A wait queued before a graceful restart runs once after it.
    alice.send("@wait 2=say The bell rings once.").await.unwrap();
    alice.send("think queued").await.unwrap();
    alice.expect("queued", T).await.unwrap();
    stack.restart_game(false).await;
    bob.expect("Alice says, \"The bell rings once.\"", Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(
        count_lines(&mut bob, "The bell rings once.", Duration::from_secs(3)).await,
        0,
        "never twice"
    );

    // And across a SIGKILL: the game is down when the wait comes due.
    alice.send("@wait 1=say The bell rings again.").await.unwrap();
    alice.send("think queued again").await.unwrap();
    alice.expect("queued again", T).await.unwrap();
    stack.game_mut().kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_game_again().await;
    bob.expect("Alice says, \"The bell rings again.\"", Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(
        count_lines(&mut bob, "The bell rings again.", Duration::from_secs(3)).await,
        0,
        "never twice"
    );
    alice.send("@ps").await.unwrap();
    alice.expect("0 waiting.", T).await.unwrap();
}
