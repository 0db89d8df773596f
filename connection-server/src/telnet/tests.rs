//! Tests of the codec as the session uses it: whole negotiations as real clients perform them,
//! and properties over arbitrary input (no panic, bounded memory, chunking does not matter,
//! output text survives a client's decoding).

use flate2::{Decompress, FlushDecompress};
use proptest::prelude::*;

use super::codes::{DO, DONT, EC, EL, EOR_CMD, GA, IAC, NOP, SB, SE, WILL, WONT, opt};
use super::*;

fn codec() -> TelnetCodec {
    TelnetCodec::new(CodecConfig::default())
}

fn greeted() -> TelnetCodec {
    let mut c = codec();
    c.greeting();
    c
}

fn feed(c: &mut TelnetCodec, input: &[u8]) -> Vec<Inbound> {
    let mut events = Vec::new();
    c.receive(input, &mut events);
    events
}

fn sb(option: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![IAC, SB, option];
    v.extend_from_slice(payload);
    v.extend_from_slice(&[IAC, SE]);
    v
}

fn reply(bytes: &[u8]) -> Inbound {
    Inbound::Reply(bytes.to_vec())
}

fn line(bytes: &[u8]) -> Inbound {
    Inbound::Line(bytes.to_vec())
}

/// A codec whose client agreed to `charset` through our REQUEST.
fn with_charset(name: &str) -> TelnetCodec {
    let mut c = greeted();
    feed(&mut c, &[IAC, DO, opt::CHARSET]);
    let mut accepted = vec![2];
    accepted.extend_from_slice(name.as_bytes());
    let events = feed(&mut c, &sb(opt::CHARSET, &accepted));
    assert_eq!(events, vec![Inbound::ClientInfoChanged]);
    c
}

// ---- negotiation ----

#[test]
fn greeting_offers_each_option_once() {
    let mut c = codec();
    let expected = [
        IAC,
        DO,
        opt::NAWS,
        IAC,
        DO,
        opt::TTYPE,
        IAC,
        WILL,
        opt::SGA,
        IAC,
        WILL,
        opt::EOR,
        IAC,
        WILL,
        opt::GMCP,
        IAC,
        WILL,
        opt::MSDP,
        IAC,
        WILL,
        opt::MSSP,
        IAC,
        WILL,
        opt::CHARSET,
        IAC,
        WILL,
        opt::COMPRESS2,
    ];
    assert_eq!(c.greeting(), expected);
    assert!(c.greeting().is_empty());
    let mut no_mccp = TelnetCodec::new(CodecConfig {
        offer_mccp: false,
        ..CodecConfig::default()
    });
    assert_eq!(no_mccp.greeting(), expected[..expected.len() - 3]);
}

#[test]
fn client_repeating_will_naws_gets_no_second_do() {
    // Answer to our DO: nothing to send back, however often repeated.
    let mut c = greeted();
    assert!(feed(&mut c, &[IAC, WILL, opt::NAWS]).is_empty());
    assert!(feed(&mut c, &[IAC, WILL, opt::NAWS, IAC, WILL, opt::NAWS]).is_empty());
    // Unsolicited: one DO, then silence.
    let mut c = codec();
    assert_eq!(
        feed(&mut c, &[IAC, WILL, opt::NAWS]),
        vec![reply(&[IAC, DO, opt::NAWS])]
    );
    assert!(feed(&mut c, &[IAC, WILL, opt::NAWS]).is_empty());
}

#[test]
fn unknown_and_unwanted_options_are_refused() {
    let mut c = greeted();
    let events = feed(
        &mut c,
        &[IAC, DO, 99, IAC, WILL, 99, IAC, DO, opt::ECHO, IAC, WILL, 0],
    );
    assert_eq!(
        events,
        vec![
            reply(&[IAC, WONT, 99]),
            reply(&[IAC, DONT, 99]),
            reply(&[IAC, WONT, opt::ECHO]),
            reply(&[IAC, DONT, 0]),
        ]
    );
    // The client's acknowledgements of our refusals are not answered again.
    assert!(feed(&mut c, &[IAC, WONT, 99, IAC, DONT, 99, IAC, DONT, opt::ECHO]).is_empty());
}

#[test]
fn refused_offers_stay_off_and_are_not_acknowledged() {
    let mut c = greeted();
    let events = feed(
        &mut c,
        &[IAC, DONT, opt::GMCP, IAC, DONT, opt::MSDP, IAC, WONT, opt::TTYPE],
    );
    assert!(events.is_empty());
    assert!(!c.gmcp_enabled() && !c.msdp_enabled());
    let mut out = Vec::new();
    assert!(!c.encode_gmcp("Char.Vitals", "{}", &mut out));
    assert!(!c.encode_msdp("HEALTH", "1", &mut out));
    assert!(out.is_empty());
}

#[test]
fn mccp_is_refused_when_not_offered() {
    let mut c = TelnetCodec::new(CodecConfig {
        offer_mccp: false,
        ..CodecConfig::default()
    });
    c.greeting();
    assert_eq!(
        feed(&mut c, &[IAC, DO, opt::COMPRESS2]),
        vec![reply(&[IAC, WONT, opt::COMPRESS2])]
    );
}

// ---- NAWS ----

#[test]
fn naws_reports_sizes_with_255_escaped_and_ignores_repeats() {
    let mut c = greeted();
    feed(&mut c, &[IAC, WILL, opt::NAWS]);
    // width 255 = 00 FF, height 65304 = FF 18: each 0xFF doubled on the wire.
    let msg = [IAC, SB, opt::NAWS, 0, IAC, IAC, IAC, IAC, 0x18, IAC, SE];
    assert_eq!(
        feed(&mut c, &msg),
        vec![Inbound::WindowSize {
            width: 255,
            height: 65304
        }]
    );
    assert_eq!(c.window_size(), Some((255, 65304)));
    assert!(feed(&mut c, &msg).is_empty());
    let bad = feed(&mut c, &sb(opt::NAWS, &[0, 80, 0]));
    assert!(matches!(bad.as_slice(), [Inbound::ProtocolError(_)]));
    assert_eq!(c.window_size(), Some((255, 65304)));
}

// ---- TTYPE / MTTS ----

#[test]
fn ttype_cycle_reads_client_name_and_mtts_bits() {
    let send = sb(opt::TTYPE, &[1]);
    let mut c = greeted();
    assert_eq!(
        feed(&mut c, &[IAC, WILL, opt::TTYPE]),
        vec![Inbound::Reply(send.clone())]
    );
    assert_eq!(
        feed(&mut c, &sb(opt::TTYPE, b"\x00MUDLET")),
        vec![Inbound::ClientInfoChanged, Inbound::Reply(send.clone())]
    );
    assert_eq!(
        feed(&mut c, &sb(opt::TTYPE, b"\x00ANSI-TRUECOLOR")),
        vec![Inbound::Reply(send)]
    );
    assert_eq!(
        feed(&mut c, &sb(opt::TTYPE, b"\x00MTTS 2825")),
        vec![Inbound::ClientInfoChanged]
    );
    assert_eq!(c.client_info().terminal_type, "MUDLET");
    assert_eq!(c.client_info().mtts, 2825);
}

#[test]
fn ttype_cycle_stops_when_a_plain_client_repeats_itself() {
    let mut c = greeted();
    feed(&mut c, &[IAC, WILL, opt::TTYPE]);
    feed(&mut c, &sb(opt::TTYPE, b"\x00XTERM-256COLOR"));
    assert!(feed(&mut c, &sb(opt::TTYPE, b"\x00XTERM-256COLOR")).is_empty());
    assert_eq!(c.client_info().terminal_type, "XTERM-256COLOR");
    assert_eq!(c.client_info().mtts, 0);
}

// ---- CHARSET ----

#[test]
fn charset_request_is_sent_once_the_client_agrees() {
    let mut c = greeted();
    let mut request = vec![1];
    request.extend_from_slice(b";UTF-8;ISO-8859-1");
    assert_eq!(
        feed(&mut c, &[IAC, DO, opt::CHARSET]),
        vec![Inbound::Reply(sb(opt::CHARSET, &request))]
    );
    assert_eq!(c.client_info().charset, "");
    assert_eq!(
        feed(&mut c, &sb(opt::CHARSET, b"\x02UTF-8")),
        vec![Inbound::ClientInfoChanged]
    );
    assert_eq!(c.client_info().charset, "UTF-8");
    // UTF-8 input is passed through untouched.
    assert_eq!(feed(&mut c, "café\r\n".as_bytes()), vec![line("café".as_bytes())]);
}

#[test]
fn charset_rejection_leaves_it_unknown() {
    let mut c = greeted();
    feed(&mut c, &[IAC, DO, opt::CHARSET]);
    assert!(feed(&mut c, &sb(opt::CHARSET, b"\x03")).is_empty());
    assert_eq!(c.client_info().charset, "");
    // Without a charset, bytes are passed as read.
    assert_eq!(feed(&mut c, b"caf\xe9\n"), vec![line(b"caf\xe9")]);
}

#[test]
fn latin1_is_converted_in_and_out() {
    let c = &mut with_charset("ISO-8859-1");
    assert_eq!(c.client_info().charset, "ISO-8859-1");
    assert_eq!(
        feed(c, b"caf\xe9 \xff\xff!\r\n"),
        vec![line("café ÿ!".as_bytes())]
    );
    let mut out = Vec::new();
    c.encode_text("café ÿ €", &mut out);
    assert_eq!(out, b"caf\xe9 \xff\xff ?\r\n");
    // The LATIN1 alias means the same.
    assert_eq!(with_charset("latin1").client_info().charset, "ISO-8859-1");
}

#[test]
fn client_charset_request_is_answered() {
    let mut c = codec();
    assert_eq!(
        feed(&mut c, &[IAC, WILL, opt::CHARSET]),
        vec![reply(&[IAC, DO, opt::CHARSET])]
    );
    assert_eq!(
        feed(&mut c, &sb(opt::CHARSET, b"\x01 ISO-8859-1 UTF-8")),
        vec![
            Inbound::Reply(sb(opt::CHARSET, b"\x02UTF-8")),
            Inbound::ClientInfoChanged
        ]
    );
    assert_eq!(c.client_info().charset, "UTF-8");
    let mut c = codec();
    assert_eq!(
        feed(&mut c, &sb(opt::CHARSET, b"\x01;KOI8-R")),
        vec![Inbound::Reply(sb(opt::CHARSET, b"\x03"))]
    );
}

// ---- GMCP / MSDP / MSSP ----

#[test]
fn gmcp_in_and_out() {
    let mut c = greeted();
    let mut out = Vec::new();
    assert!(!c.encode_gmcp("Core.Ping", "", &mut out));
    assert!(out.is_empty());
    assert_eq!(
        feed(&mut c, &[IAC, DO, opt::GMCP]),
        vec![Inbound::ClientInfoChanged]
    );
    assert!(c.gmcp_enabled() && c.client_info().gmcp);
    assert!(c.encode_gmcp("Char.Vitals", r#"{"hp":10}"#, &mut out));
    assert_eq!(out, sb(opt::GMCP, br#"Char.Vitals {"hp":10}"#));
    let events = feed(&mut c, &sb(opt::GMCP, br#"Core.Hello {"client":"Mudlet"}"#));
    assert_eq!(
        events,
        vec![Inbound::Gmcp {
            package: "Core.Hello".to_string(),
            json: r#"{"client":"Mudlet"}"#.to_string()
        }]
    );
    // DONT later switches it off and is acknowledged once.
    assert_eq!(
        feed(&mut c, &[IAC, DONT, opt::GMCP]),
        vec![reply(&[IAC, WONT, opt::GMCP]), Inbound::ClientInfoChanged]
    );
    assert!(!c.client_info().gmcp);
}

#[test]
fn msdp_in_and_out() {
    let mut c = greeted();
    assert_eq!(
        feed(&mut c, &[IAC, DO, opt::MSDP]),
        vec![Inbound::ClientInfoChanged]
    );
    assert!(c.msdp_enabled() && c.client_info().msdp);
    let mut out = Vec::new();
    assert!(c.encode_msdp("HEALTH", "42", &mut out));
    assert_eq!(out, sb(opt::MSDP, b"\x01HEALTH\x0242"));
    let events = feed(
        &mut c,
        &sb(
            opt::MSDP,
            b"\x01REPORT\x02\x05\x02HEALTH\x02MANA\x06\x01SEND\x02ROOM",
        ),
    );
    assert_eq!(
        events,
        vec![
            Inbound::Msdp {
                variable: "REPORT".to_string(),
                value: r#"["HEALTH","MANA"]"#.to_string()
            },
            Inbound::Msdp {
                variable: "SEND".to_string(),
                value: "ROOM".to_string()
            },
        ]
    );
    let bad = feed(&mut c, &sb(opt::MSDP, b"\x02orphan"));
    assert!(matches!(bad.as_slice(), [Inbound::ProtocolError(_)]));
}

#[test]
fn mssp_is_requested_once_and_encoded() {
    let mut c = greeted();
    assert_eq!(feed(&mut c, &[IAC, DO, opt::MSSP]), vec![Inbound::MsspRequested]);
    assert!(feed(&mut c, &[IAC, DO, opt::MSSP]).is_empty());
    let mut out = Vec::new();
    c.encode_mssp(
        &[("NAME", "Test".to_string()), ("PLAYERS", "2".to_string())],
        &mut out,
    );
    assert_eq!(out, sb(opt::MSSP, b"\x01NAME\x02Test\x01PLAYERS\x022"));
}

// ---- prompts and text ----

fn prompt(c: &TelnetCodec, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode_prompt(text, &mut out);
    out
}

#[test]
fn prompt_ends_with_eor_ga_or_nothing_as_negotiated() {
    let mut c = greeted();
    assert_eq!(prompt(&c, "> "), [b'>', b' ', IAC, GA]);
    feed(&mut c, &[IAC, DO, opt::EOR]);
    assert!(c.eor_enabled());
    assert_eq!(prompt(&c, "> "), [b'>', b' ', IAC, EOR_CMD]);

    // Our WILL SGA, agreed: an answer to our offer, so nothing is sent back.
    let mut c = greeted();
    assert!(feed(&mut c, &[IAC, DO, opt::SGA]).is_empty());
    assert_eq!(prompt(&c, "> "), b"> ");
    // EOR, when agreed, marks prompts even with SGA.
    feed(&mut c, &[IAC, DO, opt::EOR]);
    assert_eq!(prompt(&c, "> "), [b'>', b' ', IAC, EOR_CMD]);
}

#[test]
fn a_client_refusing_sga_keeps_go_ahead_after_prompts() {
    let mut c = greeted();
    assert!(
        feed(&mut c, &[IAC, DONT, opt::SGA]).is_empty(),
        "a refusal of our offer needs no answer"
    );
    assert_eq!(prompt(&c, "> "), [b'>', b' ', IAC, GA]);
    // Asked again later, it is agreed once, and GA stops.
    assert_eq!(
        feed(&mut c, &[IAC, DO, opt::SGA]),
        vec![reply(&[IAC, WILL, opt::SGA])]
    );
    assert_eq!(prompt(&c, "> "), b"> ");
}

#[test]
fn a_client_that_never_answers_the_sga_offer_keeps_go_ahead() {
    let c = greeted();
    assert_eq!(prompt(&c, "> "), [b'>', b' ', IAC, GA]);
}

#[test]
fn multi_line_prompt_keeps_crlf_inside() {
    let c = greeted();
    assert_eq!(
        prompt(&c, "HP 10\n> "),
        [&b"HP 10\r\n> "[..], &[IAC, GA]].concat()
    );
}

#[test]
fn text_lines_end_in_crlf() {
    let c = greeted();
    let mut out = Vec::new();
    c.encode_text("one\ntwo\n", &mut out);
    c.encode_text("", &mut out);
    assert_eq!(out, b"one\r\ntwo\r\n\r\n");
}

// ---- input framing ----

#[test]
fn doubled_iac_in_input_is_one_ff_byte() {
    let mut c = codec();
    assert_eq!(
        feed(&mut c, &[b'a', IAC, IAC, b'b', b'\r', b'\n']),
        vec![line(&[b'a', 0xFF, b'b'])]
    );
}

#[test]
fn commands_inside_data_are_consumed() {
    let mut c = codec();
    let input = [
        b'l',
        b'o',
        IAC,
        NOP,
        b'o',
        IAC,
        GA,
        b'k',
        IAC,
        codes::DM,
        b'\r',
        b'\n',
    ];
    assert_eq!(feed(&mut c, &input), vec![line(b"look")]);
    assert_eq!(feed(&mut c, &[IAC, codes::AYT]), vec![reply(b"[yes]\r\n")]);
    assert_eq!(
        feed(&mut c, &[b'a', b'b', IAC, EC, b'c', b'\n']),
        vec![line(b"ac")]
    );
    assert_eq!(
        feed(&mut c, &[b'x', b'y', IAC, EL, b'z', b'\n']),
        vec![line(b"z")]
    );
}

#[test]
fn unknown_commands_are_reported_and_skipped() {
    let mut c = codec();
    let events = feed(&mut c, &[b'a', IAC, 17, b'b', IAC, SE, b'\n']);
    assert!(matches!(
        events.as_slice(),
        [Inbound::ProtocolError(_), Inbound::ProtocolError(_), Inbound::Line(l)] if l == b"ab"
    ));
}

#[test]
fn every_line_ending_works_through_the_codec() {
    let mut c = codec();
    let events = feed(&mut c, b"a\r\nb\r\0c\nd\re\r\n");
    assert_eq!(
        events,
        vec![line(b"a"), line(b"b"), line(b"c"), line(b"d"), line(b"e")]
    );
}

#[test]
fn backspace_edits_the_line() {
    let mut c = codec();
    assert_eq!(
        feed(&mut c, "sq\x08ay héé\x7f\x08llo\r\n".as_bytes()),
        vec![line(b"say hllo")]
    );
}

#[test]
fn long_lines_are_cut_with_dropped_counts() {
    let mut c = TelnetCodec::new(CodecConfig {
        max_line_bytes: 5,
        ..CodecConfig::default()
    });
    let events = feed(&mut c, b"0123456789\r\nshort\r\n");
    assert_eq!(
        events,
        vec![
            Inbound::LineTruncated {
                line: b"01234".to_vec(),
                dropped: 5
            },
            line(b"short"),
        ]
    );
}

#[test]
fn oversized_subnegotiation_is_dropped_and_the_session_goes_on() {
    let mut c = TelnetCodec::new(CodecConfig {
        max_subneg_bytes: 8,
        ..CodecConfig::default()
    });
    let mut input = vec![IAC, SB, opt::GMCP];
    input.extend_from_slice(b"Core.Hello {\"a\":\"very long\"}");
    input.extend_from_slice(&[IAC, SE]);
    input.extend_from_slice(b"look\r\n");
    let events = feed(&mut c, &input);
    assert!(matches!(events.as_slice(), [Inbound::ProtocolError(_), Inbound::Line(l)] if l == b"look"));
}

#[test]
fn unterminated_subnegotiation_does_not_swallow_later_commands() {
    let mut c = greeted();
    let mut input = sb(opt::TTYPE, b"");
    input.truncate(3); // IAC SB TTYPE, never closed
    input.extend_from_slice(b"\x00junk");
    input.extend_from_slice(&[IAC, DO, opt::EOR]);
    input.extend_from_slice(b"look\r\n");
    let events = feed(&mut c, &input);
    assert!(matches!(events.as_slice(), [Inbound::ProtocolError(_), Inbound::Line(l)] if l == b"look"));
    assert!(c.eor_enabled());
}

// ---- MCCP2 ----

#[test]
fn mccp2_starts_after_its_marker_and_decompresses_to_the_text() {
    let mut c = greeted();
    let events = feed(&mut c, &[IAC, DO, opt::COMPRESS2]);
    assert_eq!(
        events,
        vec![Inbound::Reply(sb(opt::COMPRESS2, b"")), Inbound::StartCompression]
    );
    // Asking again does not restart the stream.
    assert!(feed(&mut c, &[IAC, DO, opt::COMPRESS2]).is_empty());

    let mut compressor = Compressor::new();
    let mut decoder = Decompress::new(true);
    let mut plain = Vec::new();
    c.encode_text("Welcome, traveller.\nÿ and IAC \u{ff}", &mut plain);
    c.encode_prompt("> ", &mut plain);
    let mut wire = Vec::new();
    compressor.compress(&plain, &mut wire);
    let mut decoded = Vec::with_capacity(4096);
    decoder
        .decompress_vec(&wire, &mut decoded, FlushDecompress::Sync)
        .unwrap();
    assert_eq!(decoded, plain);
}

// ---- a whole client ----

#[test]
fn mudlet_like_client_negotiates_everything_in_one_burst() {
    let mut c = greeted();
    let mut burst = vec![
        IAC,
        WILL,
        opt::NAWS,
        IAC,
        WILL,
        opt::TTYPE,
        IAC,
        DO,
        opt::EOR,
        IAC,
        DO,
        opt::GMCP,
        IAC,
        DONT,
        opt::MSDP,
        IAC,
        DONT,
        opt::MSSP,
        IAC,
        DO,
        opt::CHARSET,
        IAC,
        DONT,
        opt::COMPRESS2,
    ];
    burst.extend(sb(opt::NAWS, &[0, 120, 0, 40]));
    let events = feed(&mut c, &burst);
    let mut request = vec![1];
    request.extend_from_slice(b";UTF-8;ISO-8859-1");
    assert_eq!(
        events,
        vec![
            Inbound::Reply(sb(opt::TTYPE, &[1])),
            Inbound::ClientInfoChanged,
            Inbound::Reply(sb(opt::CHARSET, &request)),
            Inbound::WindowSize {
                width: 120,
                height: 40
            },
        ]
    );
    let mut answers = sb(opt::TTYPE, b"\x00MUDLET");
    answers.extend(sb(opt::CHARSET, b"\x02UTF-8"));
    answers.extend(sb(opt::TTYPE, b"\x00XTERM"));
    answers.extend(sb(opt::TTYPE, b"\x00MTTS 137"));
    feed(&mut c, &answers);
    let info = c.client_info();
    assert_eq!(
        (
            info.terminal_type.as_str(),
            info.mtts,
            info.charset.as_str(),
            info.gmcp,
            info.msdp
        ),
        ("MUDLET", 137, "UTF-8", true, false)
    );
    assert!(c.eor_enabled());
}

// ---- properties ----

/// A client-side reader of our output: strips telnet commands and subnegotiations, undoubles
/// IAC, splits lines on CR LF, decodes with the agreed charset.
fn client_lines(wire: &[u8], latin1: bool) -> Vec<String> {
    let mut data = Vec::new();
    let mut i = 0;
    while i < wire.len() {
        match (wire[i], wire.get(i + 1).copied()) {
            (IAC, Some(IAC)) => {
                data.push(IAC);
                i += 2;
            }
            (IAC, Some(SB)) => {
                let end = wire[i..]
                    .windows(2)
                    .position(|w| w == [IAC, SE])
                    .map_or(wire.len(), |p| i + p + 2);
                i = end;
            }
            (IAC, Some(WILL..=DONT)) => i += 3,
            (IAC, _) => i += 2,
            (b, _) => {
                data.push(b);
                i += 1;
            }
        }
    }
    assert!(data.ends_with(b"\r\n"), "text must end with CR LF");
    data.truncate(data.len() - 2);
    let decode = |bytes: &[u8]| -> String {
        if latin1 {
            bytes.iter().map(|&b| b as char).collect()
        } else {
            String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
        }
    };
    let mut lines = Vec::new();
    let mut rest = &data[..];
    loop {
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => {
                lines.push(decode(&rest[..p]));
                rest = &rest[p + 2..];
            }
            None => {
                assert!(!rest.contains(&b'\r'), "bare CR in output");
                lines.push(decode(rest));
                return lines;
            }
        }
    }
}

/// Bytes biased towards what makes telnet interesting.
fn telnet_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        3 => Just(IAC),
        1 => prop::sample::select(vec![SB, SE, WILL, WONT, DO, DONT, NOP, GA, EC, EL, codes::AYT]),
        2 => prop::sample::select(vec![
            opt::NAWS, opt::TTYPE, opt::CHARSET, opt::GMCP, opt::MSDP, opt::MSSP, opt::EOR, opt::SGA,
            opt::COMPRESS2,
        ]),
        2 => prop::sample::select(vec![b'\r', b'\n', 0, 8, 0x7f, 1, 2, 3, 4, 5, 6, b' ']),
        3 => prop::sample::select(b"abcMTS;-UF8ISO".to_vec()),
    ]
}

fn small_config() -> CodecConfig {
    CodecConfig {
        max_line_bytes: 16,
        max_subneg_bytes: 24,
        offer_mccp: true,
    }
}

fn run_chunks(chunks: &[&[u8]]) -> (Vec<Inbound>, ClientInfo, Option<(u16, u16)>, bool) {
    let mut c = TelnetCodec::new(small_config());
    c.greeting();
    let mut events = Vec::new();
    for chunk in chunks {
        c.receive(chunk, &mut events);
    }
    (events, c.client_info().clone(), c.window_size(), c.eor_enabled())
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics_and_stays_bounded(
        chunks in prop::collection::vec(prop::collection::vec(telnet_byte(), 0..200), 1..6)
    ) {
        let config = small_config();
        let mut c = TelnetCodec::new(config);
        c.greeting();
        for chunk in &chunks {
            let mut events = Vec::new();
            c.receive(chunk, &mut events);
            let (line, subneg) = c.buffered();
            prop_assert!(line <= config.max_line_bytes);
            prop_assert!(subneg <= config.max_subneg_bytes);
            for event in &events {
                match event {
                    Inbound::Line(l) => prop_assert!(l.len() <= config.max_line_bytes),
                    Inbound::LineTruncated { line, dropped } => {
                        prop_assert!(line.len() <= config.max_line_bytes);
                        prop_assert!(*dropped > 0);
                    }
                    Inbound::Reply(r) => prop_assert!(r.len() <= config.max_subneg_bytes + 16),
                    Inbound::Gmcp { package, json } => {
                        prop_assert!(package.len() + json.len() <= config.max_subneg_bytes)
                    }
                    Inbound::Msdp { variable, value } => {
                        prop_assert!(variable.len() + value.len() <= config.max_subneg_bytes)
                    }
                    Inbound::ProtocolError(e) => prop_assert!(e.len() <= 512),
                    _ => {}
                }
            }
        }
        let info = c.client_info();
        prop_assert!(info.terminal_type.len() <= 64 * 4);
    }

    #[test]
    fn chunking_does_not_change_the_events(
        input in prop::collection::vec(telnet_byte(), 0..300),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let whole = run_chunks(&[&input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&run_chunks(&bytes), &whole);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for p in points {
            pieces.push(&input[start..p]);
            start = p;
        }
        pieces.push(&input[start..]);
        prop_assert_eq!(&run_chunks(&pieces), &whole);
    }

    #[test]
    fn any_text_survives_a_client_decoding_it(text in "\\PC*|[\\x00-\\x{ff}\r\n]*", latin1 in any::<bool>()) {
        let c = if latin1 { with_charset("ISO-8859-1") } else { greeted() };
        let mut wire = Vec::new();
        c.encode_text(&text, &mut wire);
        let without_cr: String = text.chars().filter(|&ch| ch != '\r').collect();
        let body = without_cr.strip_suffix('\n').unwrap_or(&without_cr);
        let expected: Vec<String> = body
            .split('\n')
            .map(|l| l.chars().map(|ch| if latin1 && ch as u32 > 0xFF { '?' } else { ch }).collect())
            .collect();
        prop_assert_eq!(client_lines(&wire, latin1), expected);
    }

    #[test]
    fn lines_typed_by_a_client_arrive_unchanged(
        lines in prop::collection::vec(
            prop::collection::vec(any::<u8>().prop_filter("no line-editing bytes", |b| {
                !matches!(b, b'\r' | b'\n' | 0 | 8 | 0x7f)
            }), 0..40),
            0..8,
        ),
        ending in prop::sample::select(vec![&b"\r\n"[..], b"\r\0", b"\n"]),
        latin1 in any::<bool>(),
    ) {
        let mut c = if latin1 { with_charset("ISO-8859-1") } else { greeted() };
        let mut wire = Vec::new();
        for l in &lines {
            codes::push_escaped(&mut wire, l);
            wire.extend_from_slice(ending);
        }
        let expected: Vec<Inbound> = lines
            .iter()
            .map(|l| {
                if latin1 {
                    line(l.iter().map(|&b| b as char).collect::<String>().as_bytes())
                } else {
                    line(l)
                }
            })
            .collect();
        prop_assert_eq!(feed(&mut c, &wire), expected);
    }

    #[test]
    fn gmcp_sent_is_gmcp_read(package in "[A-Za-z][A-Za-z.]{0,20}", json in "(\\PC*[^\\s])?") {
        let mut c = greeted();
        feed(&mut c, &[IAC, DO, opt::GMCP]);
        let mut wire = Vec::new();
        prop_assert!(c.encode_gmcp(&package, json.trim_start(), &mut wire));
        let mut server_side = codec();
        prop_assert_eq!(
            feed(&mut server_side, &wire),
            vec![Inbound::Gmcp { package: package.clone(), json: json.trim().to_string() }]
        );
    }
}
