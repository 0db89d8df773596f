//! Browsers and TLS: the real connection-server binary serving its web port (the client page
//! and the WebSocket) and its TLS ports, driven by a real WebSocket client and a real TLS client,
//! with the test playing the game's side of Kafka.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use mush_devstack::{free_port, http_get};
use mush_protocol::{DisconnectReason, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Transport};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

mod harness;
use harness::*;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn web_harness(extra: &[&str]) -> (Harness, u16) {
    let web = free_port();
    let mut args = vec![format!("--web-addr=127.0.0.1:{web}")];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (Harness::start(&args).await, web)
}

/// Opens the WebSocket and returns it with its handle (from the `Connected` event).
async fn open(h: &Harness, port: u16) -> (Ws, Handle) {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("the WebSocket opens");
    let ev = h
        .event_where("connected", |e| {
            matches!(e.kind, GatewayEventKind::Connected { .. })
        })
        .await;
    let GatewayEventKind::Connected { transport, .. } = ev.kind else {
        unreachable!()
    };
    assert_eq!(transport, Transport::WebSocket);
    (ws, ev.handle)
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.unwrap();
}

/// The next JSON message of `type` (others skipped).
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message within 10 s"))
            .unwrap_or_else(|| panic!("closed before a {kind} message"))
            .unwrap();
        if let Message::Text(text) = msg {
            let value: Value = serde_json::from_str(&text).expect("each message is JSON");
            if value["type"] == kind {
                return value;
            }
        }
    }
}

/// Reads until the gateway closes the WebSocket; its close code.
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

async fn input_event(h: &Harness, handle: Handle) -> GatewayEvent {
    h.event_where("input", |e| {
        e.handle == handle && matches!(e.kind, GatewayEventKind::Input { .. })
    })
    .await
}

fn line(ev: &GatewayEvent) -> String {
    match &ev.kind {
        GatewayEventKind::Input { line } => String::from_utf8_lossy(line).into_owned(),
        other => panic!("not a line: {other:?}"),
    }
}

/// The raw response to `GET path` (status line and headers included).
async fn raw_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_port_serves_the_client_and_a_browser_plays_like_a_telnet_player() {
    let (h, port) = web_harness(&[]).await;

    // The page and its files, with headers that keep it to itself.
    let page = raw_get(port, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_lowercase()
            .contains("content-security-policy: default-src 'none'")
    );
    assert!(page.contains("client.js"), "the page loads its script");
    let (status, js) = http_get(port, "/client.js").await.unwrap();
    assert_eq!(status, 200);
    assert!(js.contains("WebSocket"));
    assert_eq!(http_get(port, "/client.css").await.unwrap().0, 200);
    assert_eq!(http_get(port, "/nothing-here").await.unwrap().0, 404);

    let (mut ws, handle) = open(&h, port).await;
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["protocol"], 1);

    // Browser → game: input, window size, client name, GMCP.
    send(
        &mut ws,
        json!({"type": "input", "text": "say hello from a browser"}),
    )
    .await;
    assert_eq!(line(&input_event(&h, handle).await), "say hello from a browser");
    send(&mut ws, json!({"type": "window", "width": 132, "height": 43})).await;
    let ev = h
        .event_where("window", |e| {
            matches!(e.kind, GatewayEventKind::WindowSize { .. })
        })
        .await;
    assert_eq!(
        ev.kind,
        GatewayEventKind::WindowSize {
            width: 132,
            height: 43
        }
    );
    send(
        &mut ws,
        json!({"type": "client", "name": "mush-web", "version": "1"}),
    )
    .await;
    let ev = h
        .event_where("client info", |e| {
            matches!(e.kind, GatewayEventKind::ClientInfo(_))
        })
        .await;
    let GatewayEventKind::ClientInfo(info) = ev.kind else {
        unreachable!()
    };
    assert_eq!(info.terminal_type, "mush-web 1");
    assert_eq!(info.charset, "UTF-8");
    send(
        &mut ws,
        json!({"type": "gmcp", "package": "Core.Hello", "data": {"client": "mush-web"}}),
    )
    .await;
    let ev = h
        .event_where("gmcp", |e| matches!(e.kind, GatewayEventKind::Gmcp { .. }))
        .await;
    assert_eq!(
        ev.kind,
        GatewayEventKind::Gmcp {
            package: "Core.Hello".into(),
            json: r#"{"client":"mush-web"}"#.into()
        }
    );

    // Game → browser: text with colour, a prompt, GMCP.
    h.send_output(
        GameMessageKind::Text {
            text: "\x1b[1;32mAlice says, \"hi\"\x1b[0m\n".into(),
        },
        handle,
    )
    .await;
    let text = next_of(&mut ws, "text").await;
    assert_eq!(text["text"], "\x1b[1;32mAlice says, \"hi\"\x1b[0m", "ANSI kept");
    h.send_output(GameMessageKind::Prompt { text: "> ".into() }, handle)
        .await;
    assert_eq!(next_of(&mut ws, "prompt").await["text"], "> ");
    h.send_output(
        GameMessageKind::Gmcp {
            package: "Room.Info".into(),
            json: r#"{"name":"The Hall"}"#.into(),
        },
        handle,
    )
    .await;
    let gmcp = next_of(&mut ws, "gmcp").await;
    assert_eq!(gmcp["package"], "Room.Info");
    assert_eq!(gmcp["data"]["name"], "The Hall");

    // Bad messages get a clear error and lose nothing.
    send(&mut ws, json!({"type": "shell", "text": "rm -rf /"})).await;
    let error = next_of(&mut ws, "error").await;
    assert!(error["message"].as_str().unwrap().contains("shell"), "{error}");
    ws.send(Message::binary(vec![0u8, 159, 146, 150])).await.unwrap();
    let error = next_of(&mut ws, "error").await;
    assert!(error["message"].as_str().unwrap().contains("binary"), "{error}");
    send(&mut ws, json!({"type": "input", "text": "look"})).await;
    assert_eq!(line(&input_event(&h, handle).await), "look");

    // The game ends the session: a normal close (the browser does not reconnect), and the
    // game hears of it.
    h.send_output(
        GameMessageKind::Disconnect {
            reason: DisconnectReason::Quit,
            message: "Goodbye.".into(),
        },
        handle,
    )
    .await;
    assert_eq!(next_of(&mut ws, "text").await["text"], "Goodbye.");
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Normal));
    h.event_where("disconnected", |e| {
        e.handle == handle && matches!(e.kind, GatewayEventKind::Disconnected { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_flood_is_held_to_the_budget_and_oversized_messages_close_the_connection() {
    // Before login: 4 commands a second after a burst of 32. A browser's messages arrive one
    // line each, so lines over the budget wait and reading stops (TCP pushes back on the
    // browser); kept paused longer than --max-input-paused-seconds, the connection ends.
    let (h, port) = web_harness(&["--max-input-paused-seconds=2"]).await;
    let (ws, handle) = open(&h, port).await;
    let (mut sink, mut stream) = ws.split();
    let started = Instant::now();
    let flooding = tokio::spawn(async move {
        for i in 0..2000 {
            let message = Message::text(json!({"type": "input", "text": format!("flood {i}")}).to_string());
            match tokio::time::timeout(T, sink.send(message)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
    });
    let code = loop {
        match tokio::time::timeout(T * 2, stream.next())
            .await
            .expect("closed within 20 s")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(
        code,
        Some(CloseCode::Policy),
        "sustained abuse ends the connection"
    );
    flooding.abort();
    let mut lines = Vec::new();
    loop {
        let ev = h.event().await;
        if ev.handle != handle {
            continue;
        }
        match ev.kind {
            GatewayEventKind::Input { line } => lines.push(String::from_utf8_lossy(&line).into_owned()),
            GatewayEventKind::Disconnected { reason, .. } => {
                assert_eq!(reason, DisconnectReason::ProtocolError);
                break;
            }
            _ => {}
        }
    }
    // The burst, the rate, and at most one burst of lines that waited for a token (typed
    // before the close, so delivered at the close).
    let allowed = 32.0 + 4.0 * started.elapsed().as_secs_f64() + 32.0 + 1.0;
    assert!(
        (lines.len() as f64) <= allowed,
        "{} of 2000 flooded lines reached the game; the budget allows {allowed:.0}",
        lines.len()
    );
    assert!(lines.len() >= 32, "the burst went through: {}", lines.len());
    let expected: Vec<String> = (0..lines.len()).map(|i| format!("flood {i}")).collect();
    assert_eq!(
        lines, expected,
        "what was accepted arrived in order, none lost or doubled"
    );
    assert!(h.limit_hits("input_paused").await >= 1.0);

    // One message over the size limit (the longest line plus 1 KiB): closed with 1009.
    let (mut ws, handle) = open(&h, port).await;
    let huge = json!({"type": "input", "text": "x".repeat(64 * 1024)}).to_string();
    let _ = ws.send(Message::text(huge)).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    assert_eq!(h.disconnect_reason(handle).await, DisconnectReason::ProtocolError);
    assert_eq!(h.limit_hits("message_size").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_see_when_the_game_is_restarting() {
    use fred::prelude::*;
    let (h, port) = web_harness(&[]).await;
    let redis = mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&h.redis.url()))
        .await
        .unwrap();
    let keys = mush_protocol::RedisKeys::default();
    let name = mush_protocol::keys::GAME_LEADER_LEASE;
    // What a game-server does: take the lease (a new fencing token), then, once reconciled,
    // mark its tenure as serving.
    let take_lease = async |owner: &str| -> u64 {
        let token: u64 = redis.incr(keys.lease_fence(name)).await.unwrap();
        let _: () = redis
            .set(keys.lease(name), owner, None, None, false)
            .await
            .unwrap();
        token
    };
    let serve = async |token: u64| {
        let _: () = redis
            .set(keys.lease_serving(name), token, None, None, false)
            .await
            .unwrap();
    };
    // No game-server holds the game yet.
    let (mut ws, _) = open(&h, port).await;
    assert_eq!(next_of(&mut ws, "status").await["game"], "restarting");
    // One takes it and reconciles.
    let first = take_lease("game-1").await;
    serve(first).await;
    assert_eq!(next_of(&mut ws, "status").await["game"], "running");
    // It goes away (a restart): the browser is told, and the connection stays.
    let _: () = redis.del(keys.lease(name)).await.unwrap();
    assert_eq!(next_of(&mut ws, "status").await["game"], "restarting");
    send(
        &mut ws,
        json!({"type": "input", "text": "typed while restarting"}),
    )
    .await;
    let ev = h
        .event_where("input", |e| matches!(e.kind, GatewayEventKind::Input { .. }))
        .await;
    assert_eq!(line(&ev), "typed while restarting", "input waits in Kafka");
    // The next one holds the lease but is still replaying: still restarting (the gateway looks
    // every second) until it marks its own tenure.
    let second = take_lease("game-2").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(2500), next_of(&mut ws, "status"))
            .await
            .is_err(),
        "running announced before the new game-server reconciled"
    );
    serve(second).await;
    assert_eq!(next_of(&mut ws, "status").await["game"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_sockets_count_against_the_per_address_limit() {
    let (h, port) = web_harness(&["--max-connections-per-ip=2"]).await;
    let (_a, _) = open(&h, port).await;
    let (_b, _) = open(&h, port).await;
    let refused = raw_get(port, "/").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("connections"), "says why: {refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pages_of_the_allowed_origins_may_open_a_session() {
    let (h, port) =
        web_harness(&["--web-allowed-origins=https://play.example.org,http://localhost:4280"]).await;
    let request = |origin: Option<&str>| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let mut request = format!("ws://127.0.0.1:{port}/ws").into_client_request().unwrap();
        if let Some(origin) = origin {
            request.headers_mut().insert("Origin", origin.parse().unwrap());
        }
        request
    };
    // Another site's page, in a visitor's browser: refused before any session exists.
    match tokio_tungstenite::connect_async(request(Some("https://evil.example"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("origin is not allowed"), "says why: {body}");
        }
        other => panic!("a page of another origin opened a WebSocket: {other:?}"),
    }
    let (_, body) = http_get(h.gateway.health_port(), "/metrics").await.unwrap();
    assert!(
        body.contains("mush_gateway_connection_events_total{event=\"refused\",reason=\"origin\"} 1"),
        "counted"
    );
    // The game's own page, and a client that is not a browser (no Origin), play.
    let mut open = Vec::new();
    for origin in [Some("https://play.example.org"), None] {
        let (mut ws, _) = tokio_tungstenite::connect_async(request(origin))
            .await
            .unwrap_or_else(|e| panic!("{origin:?} refused: {e}"));
        next_of(&mut ws, "hello").await;
        open.push(ws);
    }
    assert_eq!(h.redis_records().await, 2, "the refused page made no connection");
}

mod tls {
    use super::*;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::TlsConnector;

    fn write_cert(dir: &std::path::Path) -> CertificateDer<'static> {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
        std::fs::write(dir.join("tls.crt"), cert.cert.pem()).unwrap();
        CertificateDer::from_pem_slice(cert.cert.pem().as_bytes()).unwrap()
    }

    fn connector(trusted: &CertificateDer<'static>) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(trusted.clone()).unwrap();
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }

    async fn tls_connect(
        port: u16,
        trusted: &CertificateDer<'static>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        connector(trusted)
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn telnet_and_websocket_over_tls_with_a_certificate_renewed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_cert(dir.path());
        let (telnet_tls, web_tls) = (free_port(), free_port());
        let cert = format!("--tls-cert-file={}", dir.path().join("tls.crt").display());
        let key = format!("--tls-key-file={}", dir.path().join("tls.key").display());
        let args = [
            format!("--telnet-tls-addr=127.0.0.1:{telnet_tls}"),
            format!("--web-tls-addr=127.0.0.1:{web_tls}"),
            cert,
            key,
            "--tls-reload-seconds=1".into(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (h, _) = web_harness(&args).await;

        // Telnet over TLS: the same telnet session (the option offers, then lines).
        let mut s = tls_connect(telnet_tls, &first).await.expect("TLS handshake");
        let ev = h
            .event_where("connected", |e| {
                matches!(e.kind, GatewayEventKind::Connected { .. })
            })
            .await;
        let GatewayEventKind::Connected { transport, .. } = ev.kind else {
            unreachable!()
        };
        assert_eq!(transport, Transport::TelnetTls);
        let mut greeting = [0u8; 3];
        s.read_exact(&mut greeting).await.unwrap();
        assert_eq!(greeting[0], 255, "telnet negotiation over TLS");
        s.write_all(b"say over TLS\r\n").await.unwrap();
        assert_eq!(line(&input_event(&h, ev.handle).await), "say over TLS");
        h.send_output(
            GameMessageKind::Text {
                text: "Encrypted hello.".into(),
            },
            ev.handle,
        )
        .await;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("Encrypted hello.") {
            let n = tokio::time::timeout(T, s.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }

        // wss:// on the TLS web port.
        let tls = tls_connect(web_tls, &first).await.expect("TLS handshake");
        let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{web_tls}/ws"), tls)
            .await
            .expect("wss upgrade");
        let ev = h
            .event_where("connected", |e| {
                matches!(e.kind, GatewayEventKind::Connected { .. })
            })
            .await;
        let hello = loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("no hello")
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "hello" {
                break v;
            }
        };
        assert_eq!(hello["protocol"], 1);
        ws.send(Message::text(
            json!({"type": "input", "text": "say over wss"}).to_string(),
        ))
        .await
        .unwrap();
        assert_eq!(line(&input_event(&h, ev.handle).await), "say over wss");

        // A plain-text client on the TLS port gets nothing and is counted.
        let mut plain = TcpStream::connect(("127.0.0.1", telnet_tls)).await.unwrap();
        plain.write_all(b"hello?\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(T, plain.read(&mut buf)).await;

        // The certificate is renewed in place (as cert-manager does): new handshakes get the new
        // one, connections already open go on.
        let second = write_cert(dir.path());
        let deadline = Instant::now() + T;
        loop {
            if tls_connect(telnet_tls, &second).await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the renewed certificate was never used"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            tls_connect(telnet_tls, &first).await.is_err(),
            "the old certificate is no longer served"
        );
        s.write_all(b"still here\r\n").await.unwrap();
        let ev = h
            .event_where(
                "input",
                |e| matches!(&e.kind, GatewayEventKind::Input { line } if line.as_ref() == b"still here"),
            )
            .await;
        assert_eq!(line(&ev), "still here");
        let (_, metrics) = http_get(h.gateway.health_port(), "/metrics").await.unwrap();
        assert!(
            metrics.contains("mush_gateway_connections_by_transport{transport=\"tls\"}"),
            "connections are counted by transport"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_tells_browsers_and_closes_them_with_going_away_so_they_reconnect_elsewhere() {
    use mush_devstack::http_post_bearer;
    let (h, port) = web_harness(&["--drain-token=let-me-drain"]).await;
    let (mut ws, handle) = open(&h, port).await;
    assert_eq!(
        http_post_bearer(h.gateway.health_port(), "/drain", "let-me-drain")
            .await
            .unwrap()
            .0,
        200
    );
    let notice = next_of(&mut ws, "text").await;
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("shutting down for maintenance"),
        "{notice}"
    );
    // No new browser gets in while draining.
    let deadline = Instant::now() + Duration::from_secs(2);
    while tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "new WebSockets still accepted while draining"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // At the end of the drain time (3 s here): "going away", which the web client answers by
    // reconnecting (to another gateway, behind the Service).
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
    assert_eq!(
        h.disconnect_reason(handle).await,
        DisconnectReason::GatewayShutdown
    );
}
