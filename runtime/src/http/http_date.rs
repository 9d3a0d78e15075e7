//! An HTTP-date (RFC 9110 §5.6.7), the second form of `Retry-After`: IMF-fixdate and the two
//! obsolete forms recipients must still accept, each checked as the `httpdate` crate checks it (a
//! day that exists in that month, the weekday that date falls on, a year from 1970 to 9999).
//!
//! Why not that crate: its parser takes 7.6 KB of a stripped binary, this one 1.2 KB (the three
//! forms over [`crate::time`]'s civil-date arithmetic), for a header form the API server does not
//! send (it sends seconds). The tests compare this parser with the crate's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::time::{civil_seconds, digits};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The time `text` names, surrounding whitespace ignored; `None` if it is no HTTP-date.
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    if !text.is_ascii() {
        return None;
    }
    let text = text.trim().as_bytes();
    // The three forms have different lengths: 29, 24, and 30 to 33 (the weekday spelled out).
    match text.len() {
        29 => imf_fixdate(text),
        24 => asctime(text),
        _ => rfc850_date(text),
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn imf_fixdate(text: &[u8]) -> Option<SystemTime> {
    let separators = [
        (3, &b", "[..]),
        (7, b" "),
        (11, b" "),
        (16, b" "),
        (25, b" GMT"),
    ];
    if !separators
        .iter()
        .all(|&(at, bytes)| text[at..].starts_with(bytes))
    {
        return None;
    }
    let weekday = short_weekday(&text[..3])?;
    let year = digits(&text[12..16])?;
    date(
        weekday,
        year,
        month(&text[8..11])?,
        digits(&text[5..7])?,
        &text[17..25],
    )
}

/// `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year below 70 is 20xx)
fn rfc850_date(text: &[u8]) -> Option<SystemTime> {
    let comma = text.iter().position(|&b| b == b',')?;
    let weekday = WEEKDAYS
        .iter()
        .position(|name| name.as_bytes() == &text[..comma])?;
    let rest = text[comma..].strip_prefix(b", ")?;
    let separators = [(2, &b"-"[..]), (6, b"-"), (9, b" "), (18, b" GMT")];
    if rest.len() != 22
        || !separators
            .iter()
            .all(|&(at, bytes)| rest[at..].starts_with(bytes))
    {
        return None;
    }
    let two_digit_year = digits(&rest[7..9])?;
    let year = two_digit_year + if two_digit_year < 70 { 2000 } else { 1900 };
    date(
        weekday,
        year,
        month(&rest[3..6])?,
        digits(&rest[..2])?,
        &rest[10..18],
    )
}

/// `Sun Nov  6 08:49:37 1994` (the day padded with a space)
fn asctime(text: &[u8]) -> Option<SystemTime> {
    let separators = [(3, b' '), (7, b' '), (10, b' '), (19, b' ')];
    if !separators.iter().all(|&(at, byte)| text[at] == byte) {
        return None;
    }
    let day = match &text[8..10] {
        [b' ', unit] => digits(&[*unit])?,
        both => digits(both)?,
    };
    let weekday = short_weekday(&text[..3])?;
    let year = digits(&text[20..24])?;
    date(weekday, year, month(&text[4..7])?, day, &text[11..19])
}

/// `Mon` is 0 … `Sun` is 6.
fn short_weekday(name: &[u8]) -> Option<usize> {
    WEEKDAYS
        .iter()
        .position(|weekday| &weekday.as_bytes()[..3] == name)
}

/// `Jan` is 1 … `Dec` is 12.
fn month(name: &[u8]) -> Option<i64> {
    let index = MONTHS.iter().position(|month| *month == name)?;
    Some(index as i64 + 1)
}

/// The date and `clock` (`HH:MM:SS`), if they make a real time from 1970 on that falls on
/// `weekday`.
fn date(weekday: usize, year: i64, month: i64, day: i64, clock: &[u8]) -> Option<SystemTime> {
    if clock[2] != b':' || clock[5] != b':' || !(1970..=9999).contains(&year) {
        return None;
    }
    let second = digits(&clock[6..8])?;
    if second > 59 {
        return None;
    }
    let (hour, minute) = (digits(&clock[..2])?, digits(&clock[3..5])?);
    let seconds = civil_seconds(year, month, day, hour, minute, second)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = [
        31,
        28 + i64::from(leap),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    // 1970-01-01 was a Thursday (3 counting from Monday).
    let falls_on = (seconds.div_euclid(86_400) + 3).rem_euclid(7);
    let real = day <= days_in_month[month as usize - 1] && falls_on == weekday as i64;
    real.then(|| UNIX_EPOCH + Duration::from_secs(seconds as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(text: &str) -> Option<SystemTime> {
        httpdate::parse_http_date(text).ok()
    }

    #[test]
    fn the_three_forms_and_what_is_refused() {
        let expected = Some(UNIX_EPOCH + Duration::from_secs(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(
            parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT \t"),
            expected
        );
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Thursday, 01-Jan-70 00:00:00 GMT",
            "Monday, 01-Jan-69 00:00:00 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun Nov 06 08:49:37 1994",
            "Thu, 29 Feb 2024 23:59:59 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            // Refused: a wrong weekday, a day the month lacks, a leap second, 1969, lower case,
            // a missing separator, another zone, not ASCII, nothing.
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Thu, 29 Feb 2023 12:00:00 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sat, 31 Dec 2016 23:59:60 GMT",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08-49:37 GMT",
            "Sun,06 Nov 1994 08:49:37 GMT ",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 24:00:00 1994",
            "Sön, 06 Nov 1994 08:49:37 GMT",
            "",
            ",",
            "Sunday,",
        ] {
            assert_eq!(parse_http_date(text), oracle(text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_httpdate_crate(
            form in 0..3usize,
            weekday in 0..8usize,
            day in 0..33u32,
            month in 0..13usize,
            year in 1965..2005u32,
            hour in 0..25u32,
            minute in 0..61u32,
            second in 0..61u32,
        ) {
            let weekday = WEEKDAYS.get(weekday).copied().unwrap_or("Funday");
            let month = std::str::from_utf8(MONTHS.get(month).copied().unwrap_or(b"Mon")).unwrap();
            let clock = format!("{hour:02}:{minute:02}:{second:02}");
            let text = match form {
                0 => format!("{}, {day:02} {month} {year} {clock} GMT", &weekday[..3]),
                1 => format!("{weekday}, {day:02}-{month}-{:02} {clock} GMT", year % 100),
                _ => format!("{} {month} {day:>2} {clock} {year}", &weekday[..3]),
            };
            proptest::prop_assert_eq!(parse_http_date(&text), oracle(&text), "{}", text);
        }
    }
}
