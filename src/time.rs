//! Artifact times: `YYYY-MM-DD HH:MM`, seconds optional, an optional UTC offset (`+02:00`, `Z`),
//! else the site's configured offset. Only fixed offsets exist in the contract, so the civil
//! date arithmetic below (Howard Hinnant's days-from-civil) is all that is needed; a time-zone
//! database crate would bring rules the clinic never uses.

use crate::load::config::parse_utc_offset;

/// When this run happens, for the stamps people read (a portfolio's build time, a cohort
/// dashboard's "generated at"): `SOURCE_DATE_EPOCH` when it is set (the reproducible-builds
/// convention, so that two runs can be compared byte for byte), else now.
pub(crate) fn build_clock() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
}

/// Seconds since the Unix epoch, or why the text is not a time.
pub(crate) fn parse(text: &str, default_offset_minutes: i32) -> Result<i64, String> {
    let text = text.trim();
    let bad = || {
        format!("`{text}` is not a time; write it as YYYY-MM-DD HH:MM, optionally with an offset like +02:00")
    };
    if text.len() < 16 {
        return Err(bad());
    }
    let (date, rest) = text.split_at(10);
    let rest = rest.strip_prefix([' ', 'T']).ok_or_else(bad)?;
    let mut fields = date.split('-');
    let (Some(y), Some(mo), Some(d), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(bad());
    };
    let number = |s: &str, len: usize| -> Result<i64, String> {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (year, month, day) = (number(y, 4)?, number(mo, 2)?, number(d, 2)?);
    let clock_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(clock_len);
    let mut parts = clock.split(':');
    let hour = number(parts.next().unwrap_or(""), 2)?;
    let minute = number(parts.next().ok_or_else(bad)?, 2)?;
    let second = match parts.next() {
        Some(s) => number(s, 2)?,
        None => 0,
    };
    if parts.next().is_some()
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let zone = zone.trim();
    let offset = if zone.is_empty() {
        default_offset_minutes
    } else {
        parse_utc_offset(zone).ok_or_else(bad)?
    };
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second - i64::from(offset) * 60)
}

/// `2026-10-02 14:03 +02:00` for a time shown at a given offset.
pub(crate) fn format(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.abs();
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} {sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        off / 60,
        off % 60
    )
}

/// `2026-10-02` for a time at UTC.
pub(crate) fn date(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if month <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        month,
        day,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_forms() {
        let utc = parse("2026-10-02 14:03", 0).unwrap();
        assert_eq!(utc, 1_790_949_780);
        assert_eq!(parse("2026-10-02 14:03:00", 0).unwrap(), utc);
        assert_eq!(parse("2026-10-02T14:03Z", 0).unwrap(), utc);
        assert_eq!(parse("2026-10-02 16:03 +02:00", 0).unwrap(), utc);
        assert_eq!(parse("2026-10-02 16:03+02:00", 0).unwrap(), utc);
        assert_eq!(parse("2026-10-02 16:03", 120).unwrap(), utc);
    }

    #[test]
    fn rejects_non_times() {
        for bad in [
            "2026-10-02",
            "yesterday",
            "2026-13-01 10:00",
            "2026-02-30 10:00",
            "2026-10-02 25:00",
            "2026-10-02 10:00 CEST",
        ] {
            assert!(parse(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = parse("2024-02-29 23:59 -05:00", 0).unwrap();
        assert_eq!(format(t, -300), "2024-02-29 23:59 -05:00");
        assert_eq!(date(0), "1970-01-01");
    }
}
