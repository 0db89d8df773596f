//! The evaluator's own behaviour (each function family tests its functions).
use super::*;
use crate::game::budget::Fuel;
use crate::game::testkit::*;
use proptest::prelude::*;

fn think(t: &Harness, who: &str, s: &str) -> String {
    evaluate(&t.game, t.id(who), t.now, s, &mut Fuel::unlimited_time(10_000))
}

fn bare() -> (Harness, mush_protocol::Handle) {
    let mut t = Harness::new();
    let a = t.new_player("Alice");
    (t, a)
}

#[test]
fn brackets_nest_and_functions_are_case_insensitive() {
    let (t, _) = bare();
    assert_eq!(think(&t, "Alice", "1 + 2 = [add(1,2)]"), "1 + 2 = 3");
    assert_eq!(think(&t, "Alice", "[ADD([mul(2,3)],sub(10,4))]!"), "12!");
    assert_eq!(
        think(&t, "Alice", "add(1, 2) and more"),
        "3 and more",
        "a leading call is evaluated"
    );
    assert_eq!(
        think(&t, "Alice", "x add(1,2)"),
        "x add(1,2)",
        "elsewhere text is text"
    );
    assert_eq!(think(&t, "Alice", "[[[add(1,1)]]]"), "2");
    assert_eq!(
        think(&t, "Alice", "[add(1,2)"),
        "[add(1,2)",
        "unclosed brackets stay"
    );
}

#[test]
fn percent_substitutions_escapes_and_braces() {
    let (t, _) = bare();
    let id = t.id("Alice");
    assert_eq!(think(&t, "Alice", "a%rb%Rc"), "a\nb\nc");
    assert_eq!(think(&t, "Alice", "%n is %#."), format!("Alice is {id}."));
    assert_eq!(think(&t, "Alice", "100%% %q"), "100% q");
    assert_eq!(think(&t, "Alice", "\\[add(1,2)]"), "[add(1,2)]");
    assert_eq!(think(&t, "Alice", "{[add(1,2)], x}"), "[add(1,2)], x");
    assert_eq!(think(&t, "Alice", "words({a,b c})"), "2");
    assert_eq!(think(&t, "Alice", "trailing %"), "trailing %");
}

#[test]
fn arithmetic_takes_integers_and_any_count_for_add_and_mul() {
    let (t, _) = bare();
    assert_eq!(think(&t, "Alice", "add(1,2,3,4)"), "10");
    assert_eq!(think(&t, "Alice", "mul(2,3,-4)"), "-24");
    assert_eq!(think(&t, "Alice", "sub(3,10)"), "-7");
    assert_eq!(think(&t, "Alice", "add(1,)"), "1", "empty is zero");
    assert_eq!(think(&t, "Alice", "add(1,x)"), "#-1 ARGUMENTS MUST BE NUMBERS");
    assert_eq!(think(&t, "Alice", "add(1.5,1)"), "2.5", "decimals as PennMUSH");
    assert_eq!(
        think(&t, "Alice", "mul(9223372036854775807,2)"),
        "#-1 INTEGER OVERFLOW"
    );
    assert_eq!(
        think(&t, "Alice", "add(1)"),
        "#-1 FUNCTION (ADD) EXPECTS AT LEAST 2 ARGUMENTS"
    );
    assert_eq!(
        think(&t, "Alice", "sub(1,2,3)"),
        "#-1 FUNCTION (SUB) EXPECTS 2 ARGUMENTS"
    );
    assert_eq!(
        think(&t, "Alice", "lnum()"),
        "#-1 FUNCTION (LNUM) EXPECTS BETWEEN 1 AND 3 ARGUMENTS"
    );
    assert_eq!(
        think(&t, "Alice", "strlen(a,b)"),
        "#-1 FUNCTION (STRLEN) EXPECTS 1 ARGUMENT"
    );
    assert_eq!(
        think(&t, "Alice", "secs(1)"),
        "#-1 FUNCTION (SECS) EXPECTS 0 ARGUMENTS"
    );
    assert_eq!(think(&t, "Alice", "[foo(1)] x"), "#-1 FUNCTION (FOO) NOT FOUND x");
}

#[test]
fn lnum_counts_up_down_and_with_a_separator() {
    let (t, _) = bare();
    assert_eq!(think(&t, "Alice", "lnum(4)"), "0 1 2 3");
    assert_eq!(think(&t, "Alice", "lnum(0)"), "");
    assert_eq!(think(&t, "Alice", "lnum(3,5)"), "3 4 5");
    assert_eq!(think(&t, "Alice", "lnum(2,-1)"), "2 1 0 -1");
    assert_eq!(think(&t, "Alice", "lnum(1,3,|)"), "1|2|3");
    assert_eq!(think(&t, "Alice", "lnum(a)"), "#-1 ARGUMENT MUST BE INTEGER");
    let huge = think(&t, "Alice", "lnum(1,9223372036854775807)");
    assert!(
        huge.len() <= MAX_OUTPUT && huge.starts_with("1 2 3"),
        "{}",
        huge.len()
    );
    let top = think(&t, "Alice", "lnum(9223372036854775806,9223372036854775807)");
    assert_eq!(top, "9223372036854775806 9223372036854775807");
}

#[test]
fn words_strlen_name() {
    let (t, _) = bare();
    assert_eq!(think(&t, "Alice", "words(a  b   c)"), "3");
    assert_eq!(think(&t, "Alice", "words(a|b||c,|)"), "4");
    assert_eq!(
        think(&t, "Alice", "words()"),
        "#-1 FUNCTION (WORDS) EXPECTS BETWEEN 1 AND 2 ARGUMENTS"
    );
    assert_eq!(think(&t, "Alice", "words(,|)"), "0");
    assert_eq!(think(&t, "Alice", "strlen(café)"), "4");
    assert_eq!(think(&t, "Alice", "name(#0)"), "The Lobby");
    assert_eq!(think(&t, "Alice", "name(me)"), "Alice");
    assert_eq!(think(&t, "Alice", "name(here)"), "The Lobby");
    assert_eq!(think(&t, "Alice", "name(#999)"), "#-1 NO MATCH");
}

#[test]
fn conn_and_idle_follow_the_connections() {
    let (mut t, alice) = bare();
    t.advance(100);
    t.input(alice, "look");
    t.advance(30);
    let bob = t.new_player("Bob");
    t.advance(5);
    assert_eq!(think(&t, "Bob", "conn(Alice)"), "135");
    assert_eq!(think(&t, "Bob", "idle(alice)"), "35");
    assert_eq!(think(&t, "Alice", "conn(me) [idle(*bob)]"), "135 5");
    assert_eq!(think(&t, "Alice", "conn(Nobody)"), "-1");
    t.disconnect(bob);
    assert_eq!(think(&t, "Alice", "conn(Bob) [idle(Bob)]"), "-1 -1");
}

#[test]
fn time_and_secs_use_now() {
    let (t, _) = bare();
    assert_eq!(think(&t, "Alice", "time()"), "Tue Nov 24 08:00:00 2026");
    assert_eq!(think(&t, "Alice", "secs()"), "1795507200");
}

#[test]
fn recursion_calls_and_output_are_bounded() {
    let (t, _) = bare();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    assert!(think(&t, "Alice", &deep).contains("RECURSION LIMIT"));
    let deep_calls = format!("{}1{}", "add(1,".repeat(200), ")".repeat(200));
    assert!(think(&t, "Alice", &deep_calls).contains("#-1"));
    let many = "[strlen(x)]".repeat(6_000);
    let out = think(&t, "Alice", &many);
    assert!(out.contains("INVOCATION LIMIT"), "{}", &out[..100]);
    let long = think(&t, "Alice", &"é".repeat(10_000));
    assert!(long.len() <= MAX_OUTPUT && long.len() > MAX_OUTPUT - 2);
}

#[test]
fn fuel_spans_the_whole_line_and_stops_it() {
    let (t, _) = bare();
    let mut fuel = Fuel::unlimited_time(5);
    let out = evaluate(
        &t.game,
        t.id("Alice"),
        t.now,
        "[add(1,1)] [add(1,1)] [add(1,1)]",
        &mut fuel,
    );
    assert_eq!(
        out, "2 2 #-1 FUNCTION INVOCATION LIMIT EXCEEDED",
        "a bracket and a call cost 1 each"
    );
    assert!(fuel.is_exhausted());
    let mut fuel = Fuel::unlimited_time(1_000);
    let out = evaluate(&t.game, t.id("Alice"), t.now, "[lnum(1,5000)]", &mut fuel);
    assert!(out.len() > 8_000);
    assert_eq!(fuel.burned(), 2 + 8, "and each KiB a function returns");
}

#[test]
fn unclosed_brackets_are_text() {
    let (t, _) = bare();
    let line = format!("x {} [add(1,2)]", "[".repeat(8_100));
    let out = think(&t, "Alice", &line);
    assert_eq!(out, format!("x {} 3", "[".repeat(8_100)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_input_evaluates_without_panic_within_bounds(s in "[a-z0-9(),\\[\\]{}%\\\\#rné€ ]{0,80}") {
        let t = Harness::new();
        let out = evaluate(&t.game, crate::game::LOBBY, t.now, &s, &mut Fuel::unlimited_time(10_000));
        prop_assert!(out.len() <= MAX_OUTPUT);
    }

    #[test]
    fn add_matches_integer_addition(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
        let t = Harness::new();
        let out = evaluate(&t.game, crate::game::LOBBY, t.now, &format!("[add({a},{b})] [sub({a},{b})] [mul({a},{b})]"), &mut Fuel::unlimited_time(10_000));
        prop_assert_eq!(out, format!("{} {} {}", a + b, a - b, a * b));
    }
}
