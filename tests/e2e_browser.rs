//! A player in a real browser: headless Chromium opens the gateway's web client, creates a
//! character by typing, talks with a telnet player in the same room both ways, and keeps playing
//! through a SIGTERM and a SIGKILL restart of the game-server without reconnecting (what it types
//! while the game is down is queued and runs when the game is back). Screenshots are kept under
//! `target/e2e-artifacts/`.
//!
//! Needs Debian's `chromium` (or `MUSH_CHROMIUM`); skipped, saying so, where there is none.

mod browser;
mod support;

use std::time::Duration;

use browser::{Browser, artifacts_dir, chromium};
use support::{Stack, StackOptions, T};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_player_talks_with_a_telnet_player_and_plays_on_through_restarts() {
    let Some(exe) = chromium() else {
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium, or set MUSH_CHROMIUM)");
        return;
    };
    let mut stack = Stack::start(StackOptions::default()).await;
    let mut alice = stack.player("alice").await;

    let url = format!("http://127.0.0.1:{}/", stack.web_port);
    let mut page = Browser::open(&exe, &url).await;
    page.wait_for(
        "!!window.mush && window.mush.state === 'connected'",
        "the page connects",
        T,
    )
    .await;
    page.expect_output("connect <name> <password>", T).await;
    assert_eq!(
        page.eval("document.activeElement && document.activeElement.id")
            .await,
        "input",
        "the input has the focus: a player types at once"
    );

    // Keyboard only: create a character, then talk.
    page.type_line("create Bob secret-bob").await;
    page.expect_output("Connected.", T).await;
    page.type_line("say Hello from the browser!").await;
    alice
        .expect("Bob says, \"Hello from the browser!\"", T)
        .await
        .unwrap();
    alice.send("say Hello from telnet!").await.unwrap();
    page.expect_output("alice says, \"Hello from telnet!\"", T).await;

    // A SIGTERM restart: the page stays connected and goes on.
    stack.restart_game(false).await;
    page.type_line("say after a graceful restart").await;
    alice
        .expect("Bob says, \"after a graceful restart\"", T)
        .await
        .unwrap();

    // A SIGKILL: the page says the game is restarting; what is typed meanwhile is queued.
    stack.game_mut().kill().await;
    page.wait_for(
        "window.mush.gameStatus === 'restarting'",
        "the page shows the game restarting",
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(
        page.eval("!document.getElementById('status').hidden").await,
        true,
        "the restart banner is visible"
    );
    page.type_line("say typed while the game was down").await;
    page.screenshot(&artifacts_dir().join("browser-game-restarting.png"))
        .await;
    stack.start_game_again().await;
    alice
        .expect("Bob says, \"typed while the game was down\"", T)
        .await
        .unwrap();
    page.expect_output("You say, \"typed while the game was down\"", T)
        .await;
    page.wait_for(
        "window.mush.gameStatus === 'running'",
        "the banner goes once the game is back",
        T,
    )
    .await;

    assert_eq!(
        page.eval("window.mush.connects").await,
        1,
        "one WebSocket from start to end: no reconnect through two restarts"
    );
    let shot = artifacts_dir().join("browser-after-restarts.png");
    page.screenshot(&shot).await;
    eprintln!("screenshots in {}", shot.parent().unwrap().display());
}
