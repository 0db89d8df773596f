//! Clocks and durations: `secs time convsecs convtime timefmt timestring etime etimefmt
//! stringsecs isdaylight`. The game's clock is UTC; a time-zone argument may be `utc`, a number
//! of hours from UTC (`-8`, `5.5`) or an object whose `TZ` attribute holds one (named zones such
//! as `US/Pacific` need a zone database the game does not have: `#-1 INVALID TIME ZONE`).

use super::{Function, bool_str, eager};
use crate::game::softcode::Evaluator;
use crate::game::timefmt;
use crate::game::world::ObjectId;

pub static FUNCTIONS: &[Function] = &[
    eager("CONVSECS", 1, 2, convsecs),
    eager("CONVTIME", 1, 2, convtime),
    eager("CONVUTCSECS", 1, 1, convutcsecs),
    eager("CONVUTCTIME", 1, 1, convutctime),
    eager("ETIME", 1, 2, etime),
    eager("ETIMEFMT", 2, 2, etimefmt),
    eager("ISDAYLIGHT", 0, 2, isdaylight),
    eager("SECS", 0, 0, secs),
    eager("STRINGSECS", 1, 1, stringsecs),
    eager("TIME", 0, 1, time),
    eager("TIMEFMT", 1, 3, timefmt_fn),
    eager("TIMESTRING", 1, 2, timestring),
    eager("UTCTIME", 0, 0, utctime),
];

const NOT_INTEGER: &str = "#-1 ARGUMENT MUST BE INTEGER";
const NOT_POSITIVE: &str = "#-1 ARGUMENT MUST BE POSITIVE INTEGER";
const NOT_POSITIVES: &str = "#-1 ARGUMENTS MUST BE POSITIVE INTEGERS";
const OUT_OF_RANGE: &str = "#-1 OUT OF RANGE";
const BAD_ZONE: &str = "#-1 INVALID TIME ZONE";
/// Seconds from 1970 to the end of year 9999: times beyond are out of range.
const MAX_SECS: i64 = 253_402_300_799;

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn secs(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    ev.now.as_secs().to_string()
}

/// An integer as PennMUSH's `is_integer` takes it: optional sign, digits, spaces around.
fn integer(s: &str) -> Result<i64, &'static str> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NOT_INTEGER);
    }
    t.parse::<i64>().map_err(|_| OUT_OF_RANGE)
}

/// A time in seconds since 1970: an integer, not negative, within year 9999.
fn epoch_secs(s: &str) -> Result<i64, &'static str> {
    match integer(s)? {
        n if n < 0 => Err(NOT_POSITIVE),
        n if n > MAX_SECS => Err(OUT_OF_RANGE),
        n => Ok(n),
    }
}

/// A time zone: its offset from UTC in seconds, and whether it was given (`None` for the game's
/// own zone, which is UTC too).
fn zone(ev: &Evaluator<'_>, arg: &str) -> Result<Option<i64>, &'static str> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Ok(None);
    }
    if arg.starts_with('#') {
        let id = arg.parse::<ObjectId>().map_err(|_| BAD_ZONE)?;
        let world = ev.game.world();
        world.get(id).ok_or(BAD_ZONE)?;
        return match world.attribute(id, "TZ") {
            Some((tz, _)) if !tz.trim().starts_with('#') => named_zone(tz).map(Some),
            Some(_) => Err(BAD_ZONE),
            None => Ok(None),
        };
    }
    named_zone(arg).map(Some)
}

fn named_zone(tz: &str) -> Result<i64, &'static str> {
    let tz = tz.trim();
    if [
        "utc",
        "gmt",
        "utc0",
        "gmt0",
        "etc/utc",
        "etc/gmt",
        "zulu",
        "universal",
    ]
    .iter()
    .any(|z| tz.eq_ignore_ascii_case(z))
    {
        return Ok(0);
    }
    match tz.parse::<f64>() {
        Ok(hours) if (-24.0..=24.0).contains(&hours) => Ok((hours * 3600.0).round() as i64),
        _ => Err(BAD_ZONE),
    }
}

/// The time now (in a zone, if given): `Tue Nov 24 08:00:00 2026`.
fn time(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let offset = match args.first().map(|z| zone(ev, z)) {
        None => 0,
        Some(Ok(z)) => z.unwrap_or(0),
        Some(Err(e)) => return e.to_owned(),
    };
    timefmt::ctime(ev.now.as_secs() + offset)
}

fn utctime(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    timefmt::ctime(ev.now.as_secs())
}

/// `convsecs(secs[, zone])`: seconds since 1970 as `time()` shows a time.
fn convsecs(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let secs = match epoch_secs(&args[0]) {
        Ok(s) => s,
        Err(e) => return e.to_owned(),
    };
    let offset = match args.get(1).map(|z| zone(ev, z)) {
        None => 0,
        Some(Ok(z)) => z.unwrap_or(0),
        Some(Err(e)) => return e.to_owned(),
    };
    timefmt::ctime(secs + offset)
}

fn convutcsecs(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    convsecs(ev, &args[..1])
}

const MONTH_ABBREVIATIONS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Ddd Mmm DD HH:MM:SS YYYY` (24 characters, as `time()` gives) to seconds since 1970 in UTC.
fn parse_ctime(s: &str) -> Option<i64> {
    if s.len() != 24 || !s.is_ascii() {
        return None;
    }
    let (weekday, rest) = s.split_once(' ')?;
    if weekday.len() != 3 {
        return None;
    }
    let (month, rest) = rest.split_once(' ')?;
    let month = MONTH_ABBREVIATIONS.iter().position(|m| *m == month)? as i64 + 1;
    let (day, rest) = rest.trim_start().split_once(' ')?;
    let (hour, rest) = rest.split_once(':')?;
    let (minute, rest) = rest.split_once(':')?;
    let (second, year) = rest.split_once(' ')?;
    let num = |s: &str| -> Option<i64> { s.trim().parse().ok() };
    let (day, hour, minute, second, year) = (num(day)?, num(hour)?, num(minute)?, num(second)?, num(year)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// `convtime(time string[, zone])`: the reverse of `convsecs()`; -1 for a string it cannot read.
fn convtime(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let offset = match args.get(1).map(|z| zone(ev, z)) {
        None => 0,
        Some(Ok(z)) => z.unwrap_or(0),
        Some(Err(e)) => return e.to_owned(),
    };
    match parse_ctime(args[0].trim()) {
        Some(secs) => (secs - offset).to_string(),
        None => "-1".to_owned(),
    }
}

fn convutctime(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    convtime(ev, &args[..1])
}

/// A non-negative integer as PennMUSH's `is_uinteger` takes it.
fn unsigned(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `timestring(secs[, pad])`: ` 5m  1s`; pad 1 shows every unit (`0d  0h  5m  1s`), pad 2 with
/// two digits each (`00d 00h 05m 01s`).
fn timestring(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(secs) = unsigned(&args[0]) else {
        return NOT_POSITIVES.to_owned();
    };
    let pad = match args.get(1) {
        None => 0,
        Some(p) => match unsigned(p) {
            Some(p) => p,
            None => return NOT_POSITIVES.to_owned(),
        },
    };
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);
    if pad == 2 {
        format!("{d:02}d {h:02}h {m:02}m {s:02}s")
    } else if pad > 0 || d > 0 {
        format!("{d}d {h:2}h {m:2}m {s:2}s")
    } else if h > 0 {
        format!("{h:2}h {m:2}m {s:2}s")
    } else if m > 0 {
        format!("{m:2}m {s:2}s")
    } else {
        format!("{s:2}s")
    }
}

/// WHO's style of elapsed time: the non-zero units of years, weeks, days, hours, minutes and
/// seconds, as many as fit in `width` characters (`0s` when all are zero).
fn etime_text(secs: u64, width: usize) -> String {
    const UNITS: [(u64, char); 6] = [
        (31_536_000, 'y'),
        (604_800, 'w'),
        (86_400, 'd'),
        (3_600, 'h'),
        (60, 'm'),
        (1, 's'),
    ];
    let mut rest = secs;
    let mut fields: Vec<String> = Vec::new();
    for (size, unit) in UNITS {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            fields.push(format!("{n:2}{unit}"));
        }
    }
    if fields.is_empty() {
        return "0s".to_owned();
    }
    let mut out = fields[0].trim_start().to_owned();
    for field in &fields[1..] {
        let candidate = format!("{out} {field}");
        if candidate.len() > width {
            break;
        }
        out = candidate;
    }
    out
}

/// `etime(secs[, width])`: `1m  1s`, as WHO shows times, at most `width` characters.
fn etime(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let secs = match integer(&args[0]) {
        Ok(n) if n >= 0 => n as u64,
        Ok(_) => return OUT_OF_RANGE.to_owned(),
        Err(e) => return e.to_owned(),
    };
    let width = match args.get(1).map(|w| integer(w)) {
        None => 8_191,
        Some(Ok(w)) if (0..8_192).contains(&w) => w as usize,
        Some(Ok(_)) => return OUT_OF_RANGE.to_owned(),
        Some(Err(e)) => return e.to_owned(),
    };
    etime_text(secs, width)
}

/// `etimefmt(format, secs)`: `$d $h $m $s` (days, hours, minutes, seconds) replaced; `$2h` pads
/// to two places with spaces, `$2H` with zeros; `x` adds the unit letter, `z` shows nothing for
/// a zero; `$$` is a dollar.
fn etimefmt(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(secs) = unsigned(&args[1]) else {
        return NOT_POSITIVE.to_owned();
    };
    let values = [
        ('d', secs / 86_400),
        ('h', secs % 86_400 / 3_600),
        ('m', secs % 3_600 / 60),
        ('s', secs % 60),
    ];
    let mut out = String::new();
    let mut chars = args[0].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        let mut width_text = String::new();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            width_text.push(d);
        }
        spec.push_str(&width_text);
        let padded = !width_text.is_empty();
        let width: usize = width_text.parse::<usize>().unwrap_or(0).min(8_191);
        let (mut suffix, mut zero_too) = (false, true);
        loop {
            match chars.next() {
                Some(f @ ('x' | 'X')) => {
                    suffix = true;
                    spec.push(f);
                }
                Some(f @ ('z' | 'Z')) => {
                    zero_too = false;
                    spec.push(f);
                }
                Some('$') => {
                    if padded {
                        out.push_str(&format!("{:>width$}", '$'));
                    } else {
                        out.push('$');
                    }
                    break;
                }
                Some(code) if values.iter().any(|(k, _)| *k == code.to_ascii_lowercase()) => {
                    let n = values
                        .iter()
                        .find(|(k, _)| *k == code.to_ascii_lowercase())
                        .map_or(0, |(_, n)| *n);
                    let zeros = code.is_ascii_uppercase();
                    if n > 0 || zero_too {
                        if padded && zeros {
                            out.push_str(&format!("{n:0width$}"));
                        } else if padded {
                            out.push_str(&format!("{n:width$}"));
                        } else {
                            out.push_str(&n.to_string());
                        }
                        if suffix {
                            out.push(code.to_ascii_lowercase());
                        }
                    } else if padded {
                        out.push_str(&" ".repeat(width + usize::from(suffix)));
                    }
                    break;
                }
                Some(other) => {
                    out.push('$');
                    out.push_str(&spec);
                    out.push(other);
                    break;
                }
                None => {
                    out.push('$');
                    out.push_str(&spec);
                    break;
                }
            }
        }
    }
    out
}

/// `stringsecs(5m 1s)`: the seconds a `timestring()` or `etime()` text stands for.
fn stringsecs(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match etime_to_secs(&args[0]) {
        Some(n) => n.to_string(),
        None => "#-1 INVALID TIMESTRING".to_owned(),
    }
}

fn etime_to_secs(input: &str) -> Option<i64> {
    let bytes = input.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut any = false;
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            return any.then_some(total);
        }
        let start = i;
        if bytes[i] == b'-' || bytes[i] == b'+' {
            i += 1;
        }
        let digits = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits {
            return None;
        }
        let n: i64 = input[start..i].parse().ok()?;
        any = true;
        let unit = match bytes.get(i).map(u8::to_ascii_lowercase) {
            None => return Some(total.saturating_add(n)),
            Some(c) if c.is_ascii_whitespace() => 1,
            Some(b's') => 1,
            Some(b'm') => 60,
            Some(b'h') => 3_600,
            Some(b'd') => 86_400,
            Some(b'w') => 604_800,
            Some(b'y') => 31_536_000,
            Some(_) => return None,
        };
        total = total.saturating_add(n.saturating_mul(unit));
        i += 1;
    }
    Some(total)
}

/// A moment's calendar fields, UTC.
struct Tm {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: usize,
    yday: i64,
}

fn tm(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = timefmt::civil_from_days(days);
    Tm {
        year,
        month,
        day,
        hour: rem / 3_600,
        minute: rem % 3_600 / 60,
        second: rem % 60,
        weekday: (days + 4).rem_euclid(7) as usize,
        yday: days - days_from_civil(year, 1, 1),
    }
}

/// The `timefmt()` codes: C's `strftime` ones, in the C locale, written with `$`.
const TIMEFMT_CODES: &str = "aAbBcdHIjmMpSUwWxXyYZ$";

/// `timefmt(format[, secs[, zone]])`: the time (now unless given) with `$Y-$m-$d $H:$M:$S` and
/// the other `strftime` codes filled in.
fn timefmt_fn(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let format = &args[0];
    if format.is_empty() {
        return String::new();
    }
    let mut secs = match args.get(1).filter(|s| !s.is_empty()) {
        Some(s) => match epoch_secs(s) {
            Ok(n) => n,
            Err(e) => return e.to_owned(),
        },
        None => ev.now.as_secs(),
    };
    let mut zone_name = "UTC";
    if let Some(z) = args.get(2) {
        match zone(ev, z) {
            Ok(Some(offset)) => {
                secs += offset;
                zone_name = "GMT";
            }
            Ok(None) => {}
            Err(e) => return e.to_owned(),
        }
    }
    let mut chars = format.chars();
    let mut codes = Vec::new();
    while let Some(c) = chars.next() {
        if c == '$' {
            match chars.next() {
                Some(code) if TIMEFMT_CODES.contains(code) => codes.push(code),
                other => return format!("#-1 INVALID ESCAPE CODE '${}'", other.unwrap_or(' ')),
            }
        }
    }
    let t = tm(secs);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let code = chars.next().expect("checked above");
        out.push_str(&strftime_code(&t, code, zone_name));
    }
    out
}

fn strftime_code(t: &Tm, code: char, zone_name: &str) -> String {
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    match code {
        'a' => DAYS[t.weekday][..3].to_owned(),
        'A' => DAYS[t.weekday].to_owned(),
        'b' => MONTHS[(t.month - 1) as usize][..3].to_owned(),
        'B' => MONTHS[(t.month - 1) as usize].to_owned(),
        'c' => format!(
            "{} {} {:2} {:02}:{:02}:{:02} {}",
            &DAYS[t.weekday][..3],
            &MONTHS[(t.month - 1) as usize][..3],
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.year
        ),
        'd' => format!("{:02}", t.day),
        'H' => format!("{:02}", t.hour),
        'I' => format!("{hour12:02}"),
        'j' => format!("{:03}", t.yday + 1),
        'm' => format!("{:02}", t.month),
        'M' => format!("{:02}", t.minute),
        'p' => if t.hour < 12 { "AM" } else { "PM" }.to_owned(),
        'S' => format!("{:02}", t.second),
        'U' => format!("{:02}", (t.yday + 7 - t.weekday as i64) / 7),
        'w' => t.weekday.to_string(),
        'W' => format!("{:02}", (t.yday + 7 - (t.weekday as i64 + 6) % 7) / 7),
        'x' => format!("{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100)),
        'X' => format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
        'y' => format!("{:02}", t.year.rem_euclid(100)),
        'Y' => t.year.to_string(),
        'Z' => zone_name.to_owned(),
        _ => "$".to_owned(),
    }
}

/// `isdaylight([secs[, zone]])`: whether summer time is in force; never, in UTC or a fixed
/// offset.
fn isdaylight(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if let Some(s) = args.first().filter(|s| !s.is_empty())
        && let Err(e) = epoch_secs(s)
    {
        return e.to_owned();
    }
    if let Some(z) = args.get(1)
        && let Err(e) = zone(ev, z)
    {
        return e.to_owned();
    }
    bool_str(false)
}

/// (year, month 1-12, day) → days since 1970-01-01; days past the month's end roll over, as
/// `mktime` does.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::softcode::conformance::think;

    #[test]
    fn the_clock() {
        assert_eq!(think("secs()"), "1795507200");
        assert_eq!(think("time()"), "Tue Nov 24 08:00:00 2026");
        assert_eq!(think("utctime()"), "Tue Nov 24 08:00:00 2026");
        assert_eq!(think("time(utc)"), "Tue Nov 24 08:00:00 2026");
        assert_eq!(think("time(-8)"), "Tue Nov 24 00:00:00 2026");
        assert_eq!(think("time(5.5)"), "Tue Nov 24 13:30:00 2026");
        assert_eq!(think("time(Mars/Olympus)"), BAD_ZONE);
        assert_eq!(think("isdaylight()"), "0");
        assert_eq!(think("isdaylight(-1)"), NOT_POSITIVE);
    }

    #[test]
    fn convsecs_and_convtime_are_inverses() {
        assert_eq!(think("convsecs(0)"), "Thu Jan 01 00:00:00 1970");
        assert_eq!(think("convsecs(709395750)"), "Wed Jun 24 14:22:30 1992");
        assert_eq!(think("convsecs(709395750, -4)"), "Wed Jun 24 10:22:30 1992");
        assert_eq!(think("convutcsecs(951782400)"), "Tue Feb 29 00:00:00 2000");
        assert_eq!(think("convsecs(-1)"), NOT_POSITIVE);
        assert_eq!(think("convsecs(abc)"), NOT_INTEGER);
        assert_eq!(think("convtime(Wed Jun 24 14:22:30 1992)"), "709395750");
        assert_eq!(think("convtime(Thu Jan 01 00:00:00 1970)"), "0");
        assert_eq!(think("convtime(Wed Jun 24 10:22:30 1992, -4)"), "709395750");
        assert_eq!(think("convutctime(Tue Feb 29 00:00:00 2000)"), "951782400");
        assert_eq!(think("convtime(yesterday)"), "-1");
        assert_eq!(think("convtime(Xxx Foo 01 00:00:00 1970)"), "-1");
        assert_eq!(think("convtime([time()])"), "1795507200");
        for secs in [0_i64, 1, 59, 86_399, 951_782_400, 1_795_507_200, 4_102_444_800] {
            assert_eq!(parse_ctime(&timefmt::ctime(secs)), Some(secs));
        }
    }

    #[test]
    fn timestring_etime_and_stringsecs() {
        assert_eq!(think("timestring(301)"), " 5m  1s");
        assert_eq!(think("timestring(301,1)"), "0d  0h  5m  1s");
        assert_eq!(think("timestring(301,2)"), "00d 00h 05m 01s");
        assert_eq!(think("timestring(0)"), " 0s");
        assert_eq!(think("timestring(3700)"), " 1h  1m 40s");
        assert_eq!(think("timestring(90061)"), "1d  1h  1m  1s");
        assert_eq!(think("timestring(-5)"), NOT_POSITIVES);
        assert_eq!(think("etime(59)"), "59s");
        assert_eq!(think("etime(60)"), "1m");
        assert_eq!(think("etime(61)"), "1m  1s");
        assert_eq!(think("etime(61, 5)"), "1m");
        assert_eq!(think("etime(0)"), "0s");
        assert_eq!(think("etime(3601)"), "1h  1s");
        assert_eq!(think("etime(-1)"), OUT_OF_RANGE);
        assert_eq!(think("stringsecs(5m 1s)"), "301");
        assert_eq!(think("stringsecs(3y 2m 7d 5h 23m)"), "95232300");
        assert_eq!(think("stringsecs(90)"), "90");
        assert_eq!(think("stringsecs(abc)"), "#-1 INVALID TIMESTRING");
        for secs in [0_u64, 59, 61, 3_601, 90_061, 40_000_000] {
            assert_eq!(etime_to_secs(&etime_text(secs, 8_191)), Some(secs as i64));
        }
    }

    #[test]
    fn etimefmt_codes() {
        assert_eq!(think("etimefmt($2h:$2M, 3700)"), " 1:01");
        assert_eq!(
            think("etimefmt(You have $m minutes and $s seconds to go, 78)"),
            "You have 1 minutes and 18 seconds to go"
        );
        assert_eq!(think("etimefmt($zxd $xzh $zxm $xzs, 19485)"), " 5h 24m 45s");
        assert_eq!(think("etimefmt($2mm $2ss, 500)"), " 8m 20s");
        assert_eq!(think("etimefmt($3zs|$$|$q, 0)"), "   |$|$q");
        assert_eq!(think("etimefmt($d, -1)"), NOT_POSITIVE);
    }

    #[test]
    fn timefmt_codes() {
        assert_eq!(think("timefmt($Y-$m-$d $H:$M:$S)"), "2026-11-24 08:00:00");
        assert_eq!(
            think("timefmt($a $A $b $B $j $w $y, 0)"),
            "Thu Thursday Jan January 001 4 70"
        );
        assert_eq!(think("timefmt($c)"), "Tue Nov 24 08:00:00 2026");
        assert_eq!(think("timefmt($c, 0)"), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            think("timefmt($x $X $p $I $Z $$)"),
            "11/24/26 08:00:00 AM 08 UTC $"
        );
        assert_eq!(think("timefmt($H $p $I, 1795550400)"), "20 PM 08");
        assert_eq!(think("timefmt($j $U $W)"), "328 47 47");
        assert_eq!(think("timefmt($U $W, 0)"), "00 00");
        assert_eq!(think("timefmt($H $Z, , -8)"), "00 GMT");
        assert_eq!(think("timefmt(100%%)"), "100%");
        assert_eq!(think("timefmt($q)"), "#-1 INVALID ESCAPE CODE '$q'");
        assert_eq!(think("timefmt($H, -1)"), NOT_POSITIVE);
        assert_eq!(think("timefmt($H, x)"), NOT_INTEGER);
    }
}
