//! UTC instants (session timestamps) as milliseconds since the Unix epoch, read from and written as RFC 3339. Pure.
//!
//! Replaces chrono, which cost the wasm about 20 KB of code for the little used here: parse a
//! stored timestamp, compare instants, format one. The tests check it against chrono (a
//! dev-dependency) over every field boundary and many pseudo-random strings.

use serde::{Deserialize, Deserializer};

pub const SECOND_MS: i64 = 1000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in seconds since the epoch.
const FIRST_RFC3339_SECOND: i64 = -62_167_219_200;
const LAST_RFC3339_SECOND: i64 = 253_402_300_799;

/// An instant, in whole milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads exactly `N` ASCII digits.
fn digits<const N: usize>(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.get(..N)?;
    digits.iter().try_fold(0i64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
}

impl Timestamp {
    pub const fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// `self - earlier`, in milliseconds.
    pub const fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub const fn plus_ms(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// RFC 3339 `date-time`: `YYYY-MM-DD`, `T` (or `t` or a space), `hh:mm:ss`, an optional
    /// fraction (kept to the millisecond), then `Z`/`z` or `±hh:mm`. A leap second (`:60`) is
    /// read as the end of second 59, as chrono reads it.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
        let (year, month, day) = (digits::<4>(b)?, digits::<2>(b.get(5..)?)?, digits::<2>(b.get(8..)?)?);
        let (hour, minute, second) = (digits::<2>(b.get(11..)?)?, digits::<2>(b.get(14..)?)?, digits::<2>(b.get(17..)?)?);
        let separated = sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":");
        if !separated
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut rest = b.get(19..)?;
        let mut millis = 0;
        if let Some((b'.', fraction)) = rest.split_first() {
            let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if count == 0 {
                return None;
            }
            let (frac_digits, after) = fraction.split_at(count);
            millis = frac_digits.iter().take(3).fold(0, |acc, &c| acc * 10 + i64::from(c - b'0'));
            millis *= [100, 10, 1][frac_digits.len().min(3) - 1];
            rest = after;
        }
        let offset_minutes = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
                let (h, m) = (digits::<2>(&[*h0, *h1])?, digits::<2>(&[*m0, *m1])?);
                if h > 23 || m > 59 {
                    return None;
                }
                if *sign == b'-' { -(h * 60 + m) } else { h * 60 + m }
            }
            _ => return None,
        };
        let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59);
        let leap = if second == 60 { 1000 } else { 0 };
        Some(Timestamp((seconds - offset_minutes * 60) * 1000 + millis + leap))
    }

    /// `YYYY-MM-DDThh:mm:ssZ` (whole seconds, UTC). RFC 3339 has four-digit years only, so an
    /// instant outside 0000-01-01 … 9999-12-31 is written as the nearest end of that range.
    pub fn to_rfc3339(self) -> String {
        let seconds = self.0.div_euclid(1000).clamp(FIRST_RFC3339_SECOND, LAST_RFC3339_SECOND);
        let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, SecondsFormat, Utc};

    fn chrono_ms(text: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
    }

    #[test]
    fn examples() {
        let t = Timestamp::parse_rfc3339("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(Some(t.unix_ms()), chrono_ms("2026-11-20T10:00:00Z"));
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:00:00Z");
        assert_eq!(Timestamp::parse_rfc3339("2026-11-20T12:00:00+02:00"), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-20T10:00:00.999Z").unwrap().to_rfc3339(), "2026-11-20T10:00:00Z");
        assert_eq!(Timestamp::from_unix_ms(-1).to_rfc3339(), "1969-12-31T23:59:59Z");
        for bad in ["", "yesterday", "2026-11-20", "2026-11-20T10:00:00", "2026-02-29T00:00:00Z", "2026-11-20T10:00:00.Z", "2026-11-20T24:00:00Z"] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_like_chrono() {
        let mut ms = -62_135_596_800_000i64; // 0001-01-01
        while ms < 253_402_300_799_000 {
            let expected = DateTime::<Utc>::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(SecondsFormat::Secs, true);
            assert_eq!(Timestamp::from_unix_ms(ms).to_rfc3339(), expected, "{ms}");
            assert_eq!(Timestamp::parse_rfc3339(&expected).map(Timestamp::unix_ms), Some(ms.div_euclid(1000) * 1000));
            ms += 7_919_993_017; // ~92 days and an odd number of ms: walks every month, hour, minute
        }
    }

    #[test]
    fn parses_like_chrono() {
        // Every field at and around its bounds, each separator and offset form.
        let mut cases = Vec::new();
        for date in ["2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "2026-04-31", "2026-12-31", "2026-13-01", "2026-00-10", "0000-01-01", "9999-12-31", "2026-1-01"] {
            for time in ["00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00", "12:00:61", "1:00:00", "12:00:00.5", "12:00:00.123456789", "12:00:00.", "12:00:00,5"] {
                for sep in ["T", "t", " ", "_"] {
                    for offset in ["Z", "z", "+00:00", "-00:00", "+05:30", "-23:59", "+24:00", "+05:60", "+0530", "", " Z"] {
                        cases.push(format!("{date}{sep}{time}{offset}"));
                    }
                }
            }
        }
        // Pseudo-random strings over the alphabet of timestamps.
        let alphabet = b"0123456789-:T.Z+ z9";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut s = b"2026-11-20T10:00:00Z".to_vec();
            for _ in 0..2 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % s.len() as u64) as usize;
                s[i] = alphabet[((state >> 32) % alphabet.len() as u64) as usize];
            }
            cases.push(String::from_utf8(s).unwrap());
        }
        for case in &cases {
            assert_eq!(Timestamp::parse_rfc3339(case).map(Timestamp::unix_ms), chrono_ms(case), "{case:?}");
        }
    }

    #[test]
    fn formats_only_four_digit_years() {
        for (ms, text) in [
            (i64::MAX, "9999-12-31T23:59:59Z"),
            (253_402_300_800_000, "9999-12-31T23:59:59Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59Z"),
            (i64::MIN, "0000-01-01T00:00:00Z"),
            (-62_167_219_200_001, "0000-01-01T00:00:00Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00Z"),
        ] {
            assert_eq!(Timestamp::from_unix_ms(ms).to_rfc3339(), text, "{ms}");
        }
        // The latest instant a record may hold, plus the 7 days a session may live.
        let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(last.plus_ms(7 * DAY_MS).to_rfc3339(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let t: Timestamp = serde_json::from_str(r#""2026-11-20T10:00:00Z""#).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:00:00Z");
        assert!(serde_json::from_str::<Timestamp>(r#""2026-11-20""#).is_err());
        assert!(serde_json::from_str::<Timestamp>("1795168800").is_err());
        assert_eq!(Timestamp::from_unix_ms(5).plus_ms(DAY_MS).ms_since(Timestamp::from_unix_ms(5)), DAY_MS);
    }
}
