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

/// `mush up --gateways 2`, as a user runs it, and `mush bench gateways` against it: players on
/// both gateways share a room, and each gateway reads only its own players' output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mush_up_runs_several_gateways_and_a_room_spans_them() {
    // Two consecutive telnet ports, and four health ports from a base (gateway 0, game-server,
    // standby, gateway 1), all free now.
    let (telnet, health) = loop {
        let (t, h) = (mush_devstack::free_port(), mush_devstack::free_port());
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(t + 1) && (1..4).all(|i| free(h + i)) && t.abs_diff(h) > 4 {
            break (t, h);
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let mut up = tokio::process::Command::new(support::mush_binary())
        .args(["up", "--gateways", "2", "--dir"])
        .arg(dir.path())
        .args([
            "--telnet-port",
            &telnet.to_string(),
            "--health-port",
            &health.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for port in [health, health + 3] {
        while mush_devstack::http_get(port, "/readyz")
            .await
            .ok()
            .map(|(s, _)| s)
            != Some(200)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "gateway on {port} not ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let out = tokio::process::Command::new(support::mush_binary())
        .args([
            "bench",
            "gateways",
            "--gateways",
            "2",
            "--clients",
            "6",
            "--samples",
            "18",
        ])
        .args(["--addr", &format!("127.0.0.1:{telnet}")])
        .args(["--gateway-metrics-ports", &format!("{health},{}", health + 3)])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("every listener on every gateway heard every one"),
        "{stdout}"
    );
    assert!(
        stdout.contains("each gateway read only its own players' output"),
        "{stdout}"
    );
    let _ = std::process::Command::new("kill")
        .args(["-INT", &up.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(30), up.wait()).await;
}

/// Everything written to the input topic so far (a fresh consumer group, from the start, until
/// the topic has been quiet for a second).
async fn input_topic(stack: &Stack) -> Vec<Vec<u8>> {
    let args = stack.kafka().args("mush");
    let partitions: Vec<_> = (0..8)
        .map(|p| (p, mush_platform::bus::Offset::Beginning))
        .collect();
    let consumer = mush_platform::bus::Consumer::assign_partitions(
        &args,
        "e2e-reader",
        "e2e-reader",
        "mush.input",
        &partitions,
    )
    .unwrap();
    let mut records = Vec::new();
    while let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await {
        records.push(r.payload);
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_lines_are_never_written_in_clear_to_the_input_topic() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut carol = stack.player("Carol").await;
    carol.send("say plainly visible words").await.unwrap();
    carol
        .expect("You say, \"plainly visible words\"", T)
        .await
        .unwrap();
    carol.send("QUIT").await.unwrap();
    carol.expect("Goodbye.", T).await.unwrap();
    let mut again = stack.connect().await;
    again.send("connect Carol secret-Carol").await.unwrap();
    again.expect("Connected.", T).await.unwrap();

    let records = input_topic(&stack).await;
    assert!(
        records.len() >= 6,
        "the lines were produced: {} records",
        records.len()
    );
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for r in &records {
        assert!(
            !contains(r, b"secret-Carol"),
            "a password in clear in the input topic"
        );
        assert!(
            !contains(r, b"visible words"),
            "a line in clear in the input topic"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_server_with_another_input_key_tells_the_player_instead_of_running_garbage() {
    let stack = Stack::start(StackOptions {
        game_input_key: Some(mush_platform::sealing::InputKey::generate_hex()),
        ..StackOptions::default()
    })
    .await;
    let mut c = stack.connect().await;
    c.send("create Dave secret-Dave").await.unwrap();
    c.expect("do not share an input key", T).await.unwrap();
    let unreadable =
        mush_devstack::metric(stack.game().health_port(), "mush_game_input_unreadable_total").await;
    assert!(unreadable >= Some(1.0), "counted: {unreadable:?}");
}
