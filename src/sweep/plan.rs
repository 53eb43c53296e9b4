//! Pure decisions of the scheduled sweep (API.md §8): its settings, which listed objects may
//! go, and the run's log line.

use serde::Serialize;

use crate::router::is_image_key;

/// The only part of the bucket the sweep looks at.
pub const PREFIX: &str = "list_items/";
/// KV `SESSIONS` key holding where an unfinished walk continues.
pub const CURSOR_KEY: &str = "sweep:cursor";
/// D1 binds at most 100 parameters per statement: lookups and deletes go in chunks of this size.
pub const CHUNK: usize = 100;
/// Subrequests one invocation may make on Workers Paid (R2, D1 and KV calls count).
const SUBREQUEST_BUDGET: u64 = 1000;
/// Far above the longest upload (fetch or body deadline plus the storage bound, 70 s by
/// default): an object younger than this may belong to an upload about to point its item at it.
const IN_FLIGHT_S: u64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub min_age_s: u64,
    pub page_size: u32,
    pub max_pages: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_age_s: 3600, page_size: 1000, max_pages: 10 }
    }
}

impl Settings {
    /// From the vars `SWEEP_MIN_AGE_S`, `SWEEP_PAGE_SIZE`, `SWEEP_MAX_PAGES` (missing: default).
    /// A value out of range is an error, never clamped: a sweep deletes, so it only runs with
    /// settings somebody chose.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        fn number(var: &impl Fn(&str) -> Option<String>, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
            let Some(text) = var(name) else { return Ok(default) };
            match text.trim().parse() {
                Ok(value) if range.contains(&value) => Ok(value),
                _ => Err(format!("var {name} must be a number in {}..={}: {text:?}", range.start(), range.end())),
            }
        }
        let d = Settings::default();
        let settings = Settings {
            // Any age the deployment chooses (API.md §8 gives no bound; a test may sweep at
            // once with 0), but under IN_FLIGHT_S each run's log line warns.
            min_age_s: number(&var, "SWEEP_MIN_AGE_S", d.min_age_s, 0..=30 * 86_400)?,
            page_size: number(&var, "SWEEP_PAGE_SIZE", d.page_size.into(), 1..=1000)? as u32,
            max_pages: number(&var, "SWEEP_MAX_PAGES", d.max_pages.into(), 1..=1000)? as u32,
        };
        let worst = settings.worst_case_subrequests();
        if worst > SUBREQUEST_BUDGET {
            return Err(format!("SWEEP_MAX_PAGES × SWEEP_PAGE_SIZE needs up to {worst} subrequests per run, over {SUBREQUEST_BUDGET}"));
        }
        Ok(settings)
    }

    /// What the run's log line says of settings that can delete an upload's object before the
    /// upload points its item at it.
    pub fn warning(&self) -> Option<&'static str> {
        (self.min_age_s < IN_FLIGHT_S).then_some("SWEEP_MIN_AGE_S is under 600 s: an upload in flight can lose its object")
    }

    /// Cursor read and write, then per page one list plus, per chunk, one lookup and one delete.
    fn worst_case_subrequests(&self) -> u64 {
        let chunks = u64::from(self.page_size).div_ceil(CHUNK as u64);
        2 + u64::from(self.max_pages) * (1 + 2 * chunks)
    }
}

/// One object of a listing page.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub key: String,
    pub uploaded_ms: f64,
}

/// Whether `object` may be deleted if nothing references it: a key of the worker's own shape,
/// uploaded more than `min_age_s` before `now_ms`. Everything else is never touched.
pub fn is_candidate(object: &Listed, now_ms: f64, min_age_s: u64) -> bool {
    is_image_key(&object.key) && now_ms - object.uploaded_ms > min_age_s as f64 * 1000.0
}

/// `SELECT image_key … IN (?1, …, ?n)` for a chunk of `n` keys.
pub fn referenced_sql(n: usize) -> String {
    let params: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    format!("SELECT image_key FROM list_items WHERE image_key IN ({})", params.join(", "))
}

/// What one run did: its log line. Every object seen is either deleted or kept; `errors`
/// counts failed operations (their objects are kept for the next walk).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Report {
    pub seen: u64,
    pub deleted: u64,
    pub kept: u64,
    pub errors: u64,
    pub pages: u32,
    pub resumed_from_cursor: bool,
    pub complete: bool,
    pub ms: f64,
    /// The first failure's detail, for whoever reads the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<&'static str>,
}

impl Report {
    pub fn error(&mut self, detail: String) {
        self.errors += 1;
        self.first_error.get_or_insert(detail);
    }

    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            event: &'static str,
            #[serde(flatten)]
            report: &'a Report,
        }
        serde_json::to_string(&Line { event: "sweep", report: self }).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef";
    const HOUR_MS: f64 = 3_600_000.0;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn settings_defaults_ranges_and_budget() {
        assert_eq!(Settings::from_vars(|_| None), Ok(Settings::default()));
        let small = Settings::from_vars(vars(&[("SWEEP_MIN_AGE_S", " 600 "), ("SWEEP_PAGE_SIZE", "2"), ("SWEEP_MAX_PAGES", "1")]));
        assert_eq!(small, Ok(Settings { min_age_s: 600, page_size: 2, max_pages: 1 }));
        assert_eq!(small.unwrap().warning(), None);
        assert_eq!(Settings::default().warning(), None);
        for young in ["0", "599"] {
            let settings = Settings::from_vars(vars(&[("SWEEP_MIN_AGE_S", young)])).unwrap();
            assert_eq!(settings.min_age_s, young.parse::<u64>().unwrap());
            assert!(settings.warning().is_some(), "{young}");
        }
        for (name, bad) in [
            ("SWEEP_MIN_AGE_S", "2592001"),
            ("SWEEP_MIN_AGE_S", "-3600"),
            ("SWEEP_MIN_AGE_S", "1h"),
            ("SWEEP_PAGE_SIZE", "0"),
            ("SWEEP_PAGE_SIZE", "1001"),
            ("SWEEP_MAX_PAGES", "0"),
        ] {
            assert!(Settings::from_vars(vars(&[(name, bad)])).is_err(), "{name}={bad}");
        }
        // 1000-key pages cost 21 subrequests each: 47 pages fit in 1000, 48 do not.
        assert!(Settings::from_vars(vars(&[("SWEEP_MAX_PAGES", "47")])).is_ok());
        assert!(Settings::from_vars(vars(&[("SWEEP_MAX_PAGES", "48")])).is_err());
        assert!(Settings::from_vars(vars(&[("SWEEP_MAX_PAGES", "300"), ("SWEEP_PAGE_SIZE", "100")])).is_ok());
    }

    #[test]
    fn candidates_are_old_keys_of_our_own_shape() {
        let now = 10.0 * HOUR_MS;
        let object = |key: String, age_ms: f64| Listed { key, uploaded_ms: now - age_ms };
        let ours = format!("list_items/12/{HEX}.png");
        assert!(is_candidate(&object(ours.clone(), HOUR_MS + 1.0), now, 3600));
        assert!(!is_candidate(&object(ours.clone(), HOUR_MS), now, 3600), "exactly the minimum age is not more than it");
        assert!(!is_candidate(&object(ours.clone(), 60_000.0), now, 3600));
        assert!(!is_candidate(&object(ours, -HOUR_MS), now, 3600), "uploaded after the run's time");
        for foreign in [format!("list_items/12/{HEX}.gif"), format!("list_items/12/{HEX}.png.bak"), "list_items/readme.txt".into(), format!("other/12/{HEX}.png")] {
            assert!(!is_candidate(&object(foreign.clone(), 100.0 * HOUR_MS), now, 3600), "{foreign}");
        }
    }

    #[test]
    fn lookup_sql_binds_one_parameter_per_key() {
        assert_eq!(referenced_sql(1), "SELECT image_key FROM list_items WHERE image_key IN (?1)");
        assert!(referenced_sql(CHUNK).ends_with("?99, ?100)"));
    }

    #[test]
    fn log_line() {
        let mut report = Report { seen: 3, deleted: 1, kept: 2, pages: 1, complete: true, ms: 4.0, ..Default::default() };
        assert_eq!(
            report.to_json(),
            r#"{"event":"sweep","seen":3,"deleted":1,"kept":2,"errors":0,"pages":1,"resumed_from_cursor":false,"complete":true,"ms":4.0}"#
        );
        report.error("R2 list failed".into());
        report.error("later".into());
        let line: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!((line["errors"].as_u64(), line["first_error"].as_str()), (Some(2), Some("R2 list failed")));
    }
}
