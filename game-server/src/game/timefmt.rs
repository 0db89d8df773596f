//! Time as players read it: WHO's "On For" and "Idle" columns and `time()`'s calendar date.
//!
//! Why by hand: the game has no clock and no time-zone database; it gets `now` as a number and
//! shows UTC. The civil-date conversion is Howard Hinnant's `civil_from_days`, exact for any date.

/// WHO's "On For": `00:05` (hours:minutes), or `1d 02:03` from a day on.
pub fn on_for(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if days > 0 {
        format!("{days}d {hours:02}:{minutes:02}")
    } else {
        format!("{hours:02}:{minutes:02}")
    }
}

/// WHO's "Idle": the largest whole unit, `3s`, `5m`, `2h`, `4d`.
pub fn idle(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `Tue Nov 24 08:00:00 2026`, UTC, as PennMUSH's `time()` shows it.
pub fn ctime(unix_secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60,
        year
    )
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), proleptic Gregorian (Hinnant).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_for_shows_hours_and_minutes_then_days() {
        assert_eq!(on_for(0), "00:00");
        assert_eq!(on_for(5 * 60 + 59), "00:05");
        assert_eq!(on_for(3 * 3600 + 7 * 60), "03:07");
        assert_eq!(on_for(86_400 + 2 * 3600 + 3 * 60), "1d 02:03");
    }

    #[test]
    fn idle_shows_the_largest_unit() {
        assert_eq!(idle(3), "3s");
        assert_eq!(idle(59), "59s");
        assert_eq!(idle(60), "1m");
        assert_eq!(idle(5 * 60 + 30), "5m");
        assert_eq!(idle(2 * 3600 + 1), "2h");
        assert_eq!(idle(3 * 86_400), "3d");
    }

    #[test]
    fn ctime_matches_known_dates() {
        assert_eq!(ctime(0), "Thu Jan 01 00:00:00 1970");
        assert_eq!(ctime(1_795_507_200), "Tue Nov 24 08:00:00 2026");
        assert_eq!(ctime(951_782_400), "Tue Feb 29 00:00:00 2000");
        assert_eq!(ctime(-1), "Wed Dec 31 23:59:59 1969");
    }
}
