//! Limits from the worker's vars (API.md §5), read at request time; a missing var means its
//! default. Pure: the caller supplies the lookup.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_image_bytes: u64,
    pub max_image_side: u32,
    pub max_image_pixels: u64,
    pub fetch_timeout_ms: u64,
    pub max_redirects: u32,
    pub allow_private: bool,
    /// Finishing the R2 write and the D1 update once the last byte has arrived.
    pub store_timeout_ms: u64,
    /// A direct upload's whole body (API.md §7).
    pub upload_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_bytes: 20 * 1024 * 1024,
            max_image_side: 12_000,
            max_image_pixels: 50_000_000,
            fetch_timeout_ms: 10_000,
            max_redirects: 3,
            allow_private: false,
            store_timeout_ms: 10_000,
            upload_timeout_ms: 60_000,
        }
    }
}

impl Limits {
    /// `Err(var name)` for a var that is set but not a number: a misconfigured deployment
    /// should fail loudly rather than run with a limit nobody chose.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        fn number<T: std::str::FromStr>(var: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> Result<T, String> {
            match var(name) {
                None => Ok(default),
                Some(text) => text.trim().parse().map_err(|_| format!("var {name} is not a number: {text:?}")),
            }
        }
        let d = Limits::default();
        Ok(Limits {
            max_image_bytes: number(&var, "MAX_IMAGE_BYTES", d.max_image_bytes)?,
            max_image_side: number(&var, "MAX_IMAGE_SIDE", d.max_image_side)?,
            max_image_pixels: number(&var, "MAX_IMAGE_PIXELS", d.max_image_pixels)?,
            fetch_timeout_ms: number(&var, "FETCH_TIMEOUT_MS", d.fetch_timeout_ms)?,
            max_redirects: number(&var, "MAX_REDIRECTS", d.max_redirects)?,
            allow_private: var("FETCH_ALLOW_PRIVATE").is_some_and(|v| v.trim() == "true"),
            store_timeout_ms: number(&var, "STORE_TIMEOUT_MS", d.store_timeout_ms)?,
            upload_timeout_ms: number(&var, "UPLOAD_TIMEOUT_MS", d.upload_timeout_ms)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Limits::from_vars(|_| None), Ok(Limits::default()));
        let limits = Limits::from_vars(|name| match name {
            "MAX_IMAGE_BYTES" => Some("1000".into()),
            "FETCH_ALLOW_PRIVATE" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(limits.max_image_bytes, 1000);
        assert!(limits.allow_private);
        assert_eq!(limits.max_redirects, 3);
        assert!(Limits::from_vars(|name| (name == "MAX_REDIRECTS").then(|| "three".into())).is_err());
        assert!(!Limits::from_vars(|name| (name == "FETCH_ALLOW_PRIVATE").then(|| "yes".into())).unwrap().allow_private);
    }
}
