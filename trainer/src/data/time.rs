//! `YYYY-MM-DD HH:MM:SS[.ffffff]` timestamps (UTC, as in NAB) to Unix seconds, without a
//! date-time dependency.

use super::BadValue;

/// Whole seconds since the Unix epoch, now (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD HH:MM:SS` (a `T` separator and fractional seconds are accepted; the
/// fraction is dropped) into Unix seconds.
pub fn parse_timestamp(s: &str) -> Result<i64, BadValue> {
    let s = s.trim();
    let bad = || BadValue::new(s, "a timestamp (expected YYYY-MM-DD HH:MM:SS)");
    let (date, time) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let mut d = date.split('-');
    let (y, mo, da) = (d.next(), d.next(), d.next());
    let time = time.split('.').next().unwrap_or("");
    let mut t = time.split(':');
    let (h, mi, se) = (t.next(), t.next(), t.next());
    let num = |v: Option<&str>, lo: i64, hi: i64| -> Result<i64, BadValue> {
        let v: i64 = v.ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(bad())
        }
    };
    let (y, mo, da) = (num(y, 1, 9999)?, num(mo, 1, 12)?, num(da, 1, 31)?);
    let (h, mi, se) = (num(h, 0, 23)?, num(mi, 0, 59)?, num(se, 0, 60)?);
    if d.next().is_some() || t.next().is_some() {
        return Err(bad());
    }
    Ok(days_from_civil(y, mo as u32, da as u32) * 86_400 + h * 3600 + mi * 60 + se)
}

/// `unix_s` as `YYYY-MM-DD HH:MM:SS UTC` (the inverse of [`days_from_civil`], Howard
/// Hinnant's `civil_from_days`).
pub fn format_utc(unix_s: u64) -> String {
    let (days, secs) = ((unix_s / 86_400) as i64, unix_s % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Ok(0));
        assert_eq!(parse_timestamp("2014-02-14 14:27:00"), Ok(1_392_388_020));
        assert_eq!(
            parse_timestamp("2013-12-10 06:25:00.000000"),
            Ok(1_386_656_700)
        );
        assert_eq!(parse_timestamp("2000-02-29T12:00:00"), Ok(951_825_600));
        for bad in [
            "",
            "2014-02-14",
            "2014-13-01 00:00:00",
            "x y",
            "2014-02-14 25:00:00",
            "2014-02-14 10:00:00:00",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
