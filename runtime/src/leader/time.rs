//! Kubernetes `MicroTime` text (`2006-01-02T15:04:05.000000Z`) without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as a `MicroTime` in UTC.
pub(crate) fn micro_time_now() -> String {
    micro_time(SystemTime::now())
}

/// `at` as a `MicroTime` in UTC (times before 1970 are written as the epoch).
pub(crate) fn micro_time(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_micros()
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_metav1_microtime() {
        assert_eq!(micro_time(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(951_782_400_123_456); // 2000-02-29
        assert_eq!(micro_time(t), "2000-02-29T00:00:00.123456Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_599); // 2025-12-31T23:59:59
        assert_eq!(micro_time(t), "2025-12-31T23:59:59.000000Z");
    }
}
