//! Kubernetes timestamps: `Time` (`2006-01-02T15:04:05Z`) and `MicroTime`
//! (`2006-01-02T15:04:05.000000Z`), written and read in UTC.
//!
//! The one place civil-date arithmetic lives (Howard Hinnant's `days_from_civil` and
//! `civil_from_days`); certificate validity, leader election, events and conditions all use it.
//! A date-time crate would bring time zones and formats the API never sends; Kubernetes writes
//! these two forms only.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! let at = UNIX_EPOCH + Duration::from_micros(951_782_400_123_456);
//! assert_eq!(incluster::time::rfc3339(at), "2000-02-29T00:00:00Z");
//! assert_eq!(incluster::time::micro_time(at), "2000-02-29T00:00:00.123456Z");
//! assert_eq!(incluster::time::parse_rfc3339("2000-02-29T00:00:00.123456Z"), Some(at));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (negative before 1970).
pub(crate) type UnixSeconds = i64;

/// `at` as a Kubernetes `Time` in UTC, whole seconds (times before 1970 are written as the epoch).
///
/// ```
/// assert_eq!(incluster::time::rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
/// ```
pub fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    format_unix(since.as_secs() as UnixSeconds)
}

/// `at` as a Kubernetes `MicroTime` in UTC (times before 1970 are written as the epoch).
///
/// ```
/// assert_eq!(incluster::time::micro_time(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
/// ```
pub fn micro_time(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = format_unix(since.as_secs() as UnixSeconds);
    format!(
        "{}.{:06}Z",
        &whole[..whole.len() - 1],
        since.subsec_micros()
    )
}

/// Now, as a `MicroTime`.
///
/// ```
/// assert!(incluster::time::micro_time_now().ends_with('Z'));
/// ```
pub fn micro_time_now() -> String {
    micro_time(SystemTime::now())
}

/// Reads an RFC 3339 timestamp as the API server writes it (`Z` or a numeric offset, optional
/// fraction of a second, at most nanoseconds kept); `None` for anything else or before 1970.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = incluster::time::parse_rfc3339("1970-01-01T01:00:00+01:00");
/// assert_eq!(t, Some(UNIX_EPOCH));
/// assert_eq!(incluster::time::parse_rfc3339("yesterday"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.len() > 64 || !text.is_ascii() {
        return None;
    }
    let field = |at: usize, len: usize| digits(&bytes[at..at + len]);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, c)| bytes[at] != c) || !matches!(bytes[10], b'T' | b't') {
        return None;
    }
    let (year, month, day) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    let (hour, minute, second) = (field(11, 2)?, field(14, 2)?, field(17, 2)?);
    let mut seconds = civil_seconds(year, month, day, hour, minute, second)?;
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let kept = &fraction[..len.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
        rest = &fraction[len..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => {}
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let offset = digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60;
            seconds -= if *sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_unix(seconds: UnixSeconds) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Seconds since the epoch of a UTC civil date and time, if every field is in range (a leap
/// second, `:60`, is accepted as X.509 and RFC 3339 allow it).
pub(crate) fn civil_seconds(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<UnixSeconds> {
    let in_range = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    in_range
        .then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Decimal digits as a number; `None` if any byte is not a digit.
pub(crate) fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_metav1() {
        assert_eq!(micro_time(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(951_782_400_123_456); // 2000-02-29
        assert_eq!(micro_time(t), "2000-02-29T00:00:00.123456Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_599);
        assert_eq!(rfc3339(t), "2025-12-31T23:59:59Z");
        assert_eq!(format_unix(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_what_the_api_server_writes() {
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_599);
        assert_eq!(parse_rfc3339("2025-12-31T23:59:59Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-01-01T00:59:59+01:00"), Some(t));
        let nanos = parse_rfc3339("2025-12-31T23:59:59.123456789123Z").unwrap();
        assert_eq!(nanos, t + Duration::from_nanos(123_456_789));
        for bad in [
            "",
            "2025-13-01T00:00:00Z",
            "2025-12-31 23:59:59Z",
            "2025-12-31T23:59:59",
            "2025-12-31T23:59:59.Z",
            "1969-12-31T23:59:59Z",
            "२०२५-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn micro_time_round_trips(micros in 0u64..8_000_000_000_000_000) {
            let at = UNIX_EPOCH + Duration::from_micros(micros);
            prop_assert_eq!(parse_rfc3339(&micro_time(at)), Some(at));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = parse_rfc3339(&text);
        }
    }
}
