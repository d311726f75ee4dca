//! RFC 3339 timestamps (`2012-04-23T18:25:43.511Z`), read exactly: what AWS's sample events
//! and many APIs write. <https://www.rfc-editor.org/rfc/rfc3339#section-5.6>

/// Nanoseconds since the Unix epoch of `2012-04-23T18:25:43.511Z` (a `+01:00` offset, a space
/// for `T`, any number of fraction digits — beyond nine are ignored — or none); `None` for
/// anything else.
pub fn rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &b[start..i];
        for k in 0..9 {
            nanos = nanos * 10 + frac.get(k).map_or(0, |c| i128::from(c - b'0'));
        }
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let (oh, om) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + sec - offset_min * 60;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_to_the_nanosecond_in_any_offset() {
        // GIVEN the same instants written several ways THEN one value each
        assert_eq!(rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        let t = 1_335_205_543_511_000_000;
        for s in [
            "2012-04-23T18:25:43.511Z",
            "2012-04-23t18:25:43.511000z",
            "2012-04-23 18:25:43.511Z",
            "2012-04-23T20:25:43.511+02:00",
            "2012-04-23T17:25:43.511-01:00",
        ] {
            assert_eq!(rfc3339_nanos(s), Some(t), "{s}");
        }
        assert_eq!(
            rfc3339_nanos("2012-04-23T18:25:43.5Z"),
            Some(1_335_205_543_500_000_000)
        );
        assert_eq!(
            rfc3339_nanos("2012-04-23T18:25:43.1234567891Z"),
            Some(1_335_205_543_123_456_789)
        );
        assert_eq!(rfc3339_nanos("1969-12-31T23:59:59Z"), Some(-1_000_000_000));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "2012-04-23",
            "2012-04-23T18:25:43",
            "2012-13-01T00:00:00Z",
            "2012-04-23T24:00:00Z",
            "2012-04-23T18:25:43.Z",
            "2012-04-23T18:25:43+1:00",
            "2012-04-23T18:25:43+25:00",
            "2012-04-23T18:25:43Zjunk",
            "\u{ff12}012-04-23T18:25:43Z",
            "+012-04-23T18:25:43Z",
        ] {
            assert_eq!(rfc3339_nanos(bad), None, "{bad}");
        }
    }
}
