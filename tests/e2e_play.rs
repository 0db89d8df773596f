//! Playing the game through the real stack: two players, and the ordering of 100 lines.

mod support;

use std::time::Duration;

use support::{Stack, StackOptions, T};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_create_connect_look_say_page_who_and_quit() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut alice = stack.player("Alice").await;
    let mut bob = stack.player("Bob").await;
    alice.expect("Bob has connected", T).await.unwrap();

    alice.send("look").await.unwrap();
    alice.expect("The Lobby", T).await.unwrap();
    alice.expect("Bob", T).await.unwrap();

    alice.send("say Hello, Bob!").await.unwrap();
    alice.expect("You say, \"Hello, Bob!\"", T).await.unwrap();
    bob.expect("Alice says, \"Hello, Bob!\"", T).await.unwrap();

    bob.send(":waves.").await.unwrap();
    alice.expect("Bob waves.", T).await.unwrap();

    bob.send("page Alice=psst").await.unwrap();
    bob.expect("You paged Alice", T).await.unwrap();
    alice.expect("psst", T).await.unwrap();

    alice.send("WHO").await.unwrap();
    alice.expect("Player Name", T).await.unwrap();
    alice.expect("players logged in", T).await.unwrap();

    alice.send("xyzzy").await.unwrap();
    alice.expect("Huh?  (Type \"help\" for help.)", T).await.unwrap();

    // A returning player logs in with the password given at creation.
    bob.send("QUIT").await.unwrap();
    bob.expect("Goodbye.", T).await.unwrap();
    bob.expect_closed(T).await.unwrap();
    alice.expect("Bob has disconnected", T).await.unwrap();
    let mut bob = stack.connect().await;
    bob.send("connect Bob wrong-password").await.unwrap();
    bob.expect("password", T).await.unwrap();
    bob.send("connect Bob secret-Bob").await.unwrap();
    bob.expect("Connected.", T).await.unwrap();
    alice.expect("Bob has connected", T).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dolist_prints_one_to_a_hundred_in_order_ten_times() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut p = stack.player("Counter").await;
    for round in 0..10 {
        p.send("@dolist [lnum(1,100)]=think ##").await.unwrap();
        let mut got = Vec::with_capacity(100);
        while got.len() < 100 {
            let line = p
                .next_line(T)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: only {} numbers arrived: {got:?}", got.len()));
            if let Ok(n) = line.trim().parse::<u32>() {
                got.push(n);
            }
        }
        assert_eq!(got, (1..=100).collect::<Vec<_>>(), "round {round} out of order");
    }
    // Nothing extra arrives afterwards.
    assert!(p.next_line(Duration::from_millis(300)).await.unwrap().is_none());
}
