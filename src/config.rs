//! Limits from the worker's vars (API.md §5, §7), read at request time; a missing var means its
//! default. Pure: the caller supplies the lookup.
//!
//! Every numeric var has a sane range; a value outside it (or not a number) is a misconfigured
//! deployment, refused loudly (`application-crash`, logged) rather than run with a limit nobody
//! chose: a timeout past `i32::MAX` ms would wrap to an immediate time-out in the runtime's
//! timers, a zero cap would refuse every image.
//!
//! | var                 | default    | range               |
//! |---------------------|------------|---------------------|
//! | `MAX_IMAGE_BYTES`   | 20971520   | 1 … 1073741824 (1 GiB) |
//! | `MAX_IMAGE_SIDE`    | 12000      | 1 … 65535 (JPEG's largest side) |
//! | `MAX_IMAGE_PIXELS`  | 50000000   | 1 … 1000000000      |
//! | `FETCH_TIMEOUT_MS`  | 10000      | 1 … 300000 (5 min)  |
//! | `STORE_TIMEOUT_MS`  | 10000      | 1 … 300000 (5 min)  |
//! | `UPLOAD_TIMEOUT_MS` | 60000      | 1 … 900000 (15 min) |
//! | `MAX_REDIRECTS`     | 3          | 0 … 20 (the Fetch standard's own limit) |

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_image_bytes: u64,
    pub max_image_side: u32,
    pub max_image_pixels: u64,
    pub fetch_timeout_ms: u64,
    /// Finishing the R2 write and the D1 update once the image is proven (§5).
    pub store_timeout_ms: u64,
    /// A direct upload's whole body (§7).
    pub upload_timeout_ms: u64,
    pub max_redirects: u32,
    pub allow_private: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_bytes: 20 * 1024 * 1024,
            max_image_side: 12_000,
            max_image_pixels: 50_000_000,
            fetch_timeout_ms: 10_000,
            store_timeout_ms: 10_000,
            upload_timeout_ms: 60_000,
            max_redirects: 3,
            allow_private: false,
        }
    }
}

/// The sane range of each numeric var (the table above).
const MAX_IMAGE_BYTES: RangeInclusive<u64> = 1..=1 << 30;
const MAX_IMAGE_SIDE: RangeInclusive<u32> = 1..=65_535;
const MAX_IMAGE_PIXELS: RangeInclusive<u64> = 1..=1_000_000_000;
const TIMEOUT_MS: RangeInclusive<u64> = 1..=300_000;
const UPLOAD_TIMEOUT_MS: RangeInclusive<u64> = 1..=900_000;
const MAX_REDIRECTS: RangeInclusive<u32> = 0..=20;

/// `name`'s value: `default` when unset, `Err` when not a number or outside `range`.
fn number<T>(var: &impl Fn(&str) -> Option<String>, name: &str, default: T, range: RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display,
{
    let Some(text) = var(name) else { return Ok(default) };
    let value: T = text.trim().parse().map_err(|_| format!("var {name} is not a number: {text:?}"))?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!("var {name} is {value}, outside {}..={}", range.start(), range.end()))
    }
}

impl Limits {
    /// `Err(why)` for a var that is set but not a number in its range.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        let d = Limits::default();
        Ok(Limits {
            max_image_bytes: number(&var, "MAX_IMAGE_BYTES", d.max_image_bytes, MAX_IMAGE_BYTES)?,
            max_image_side: number(&var, "MAX_IMAGE_SIDE", d.max_image_side, MAX_IMAGE_SIDE)?,
            max_image_pixels: number(&var, "MAX_IMAGE_PIXELS", d.max_image_pixels, MAX_IMAGE_PIXELS)?,
            fetch_timeout_ms: number(&var, "FETCH_TIMEOUT_MS", d.fetch_timeout_ms, TIMEOUT_MS)?,
            store_timeout_ms: number(&var, "STORE_TIMEOUT_MS", d.store_timeout_ms, TIMEOUT_MS)?,
            upload_timeout_ms: number(&var, "UPLOAD_TIMEOUT_MS", d.upload_timeout_ms, UPLOAD_TIMEOUT_MS)?,
            max_redirects: number(&var, "MAX_REDIRECTS", d.max_redirects, MAX_REDIRECTS)?,
            allow_private: var("FETCH_ALLOW_PRIVATE").is_some_and(|v| v.trim() == "true"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &str) -> Result<Limits, String> {
        let value = value.to_string();
        Limits::from_vars(move |n| (n == name).then(|| value.clone()))
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Limits::from_vars(|_| None), Ok(Limits::default()));
        let limits = Limits::from_vars(|name| match name {
            "MAX_IMAGE_BYTES" => Some("1000".into()),
            "STORE_TIMEOUT_MS" => Some(" 2500 ".into()),
            "UPLOAD_TIMEOUT_MS" => Some("900000".into()),
            "FETCH_ALLOW_PRIVATE" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(limits.max_image_bytes, 1000);
        assert_eq!((limits.store_timeout_ms, limits.upload_timeout_ms), (2500, 900_000));
        assert!(limits.allow_private);
        assert_eq!(limits.max_redirects, 3);
        assert_eq!(Limits::default().store_timeout_ms, 10_000);
        assert_eq!(Limits::default().upload_timeout_ms, 60_000);
        assert!(with("MAX_REDIRECTS", "three").is_err());
        assert!(!with("FETCH_ALLOW_PRIVATE", "yes").unwrap().allow_private);
    }

    #[test]
    fn every_numeric_var_has_a_range() {
        for (name, lowest, highest) in [
            ("MAX_IMAGE_BYTES", "1", "1073741824"),
            ("MAX_IMAGE_SIDE", "1", "65535"),
            ("MAX_IMAGE_PIXELS", "1", "1000000000"),
            ("FETCH_TIMEOUT_MS", "1", "300000"),
            ("STORE_TIMEOUT_MS", "1", "300000"),
            ("UPLOAD_TIMEOUT_MS", "1", "900000"),
            ("MAX_REDIRECTS", "0", "20"),
        ] {
            assert!(with(name, lowest).is_ok(), "{name}={lowest}");
            assert!(with(name, highest).is_ok(), "{name}={highest}");
            let above = (highest.parse::<u64>().unwrap() + 1).to_string();
            let err = with(name, &above).unwrap_err();
            assert!(err.contains(name) && err.contains("outside"), "{err}");
            for bad in ["-1", "2147483648", "18446744073709551616", "1e3", ""] {
                assert!(with(name, bad).is_err(), "{name}={bad}");
            }
        }
        for name in ["MAX_IMAGE_BYTES", "MAX_IMAGE_SIDE", "MAX_IMAGE_PIXELS", "FETCH_TIMEOUT_MS", "STORE_TIMEOUT_MS", "UPLOAD_TIMEOUT_MS"] {
            assert!(with(name, "0").is_err(), "{name}=0");
        }
    }
}
