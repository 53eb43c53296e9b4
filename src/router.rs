//! (method, path) → route, and the deployment switch `DISABLED_ROUTES` (step 1 of §3). Pure.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    UploadImage,
    UploadImagePreflight,
    Image { key: String, head_only: bool },
    /// `GET /`: the browser demo page, only where the var `DEMO_PAGE` is `"true"` (local dev).
    DemoPage,
}

const UPLOAD_PATH: &str = "/api/v1/list_items/upload_image";
const IMAGES_PREFIX: &str = "/images/";

impl Route {
    /// The name used in `DISABLED_ROUTES`.
    pub fn name(&self) -> &'static str {
        match self {
            Route::UploadImage | Route::UploadImagePreflight => "list_items/upload_image",
            Route::Image { .. } => "images",
            Route::DemoPage => "demo",
        }
    }
}

pub fn identify(method: &str, path: &str) -> Option<Route> {
    let upload = path == UPLOAD_PATH || path.strip_suffix('/') == Some(UPLOAD_PATH);
    match method {
        "PUT" if upload => Some(Route::UploadImage),
        "OPTIONS" if upload => Some(Route::UploadImagePreflight),
        "GET" if path == "/" => Some(Route::DemoPage),
        "GET" | "HEAD" => path
            .strip_prefix(IMAGES_PREFIX)
            .map(|key| Route::Image { key: unescape_slashes(key), head_only: method == "HEAD" }),
        _ => None,
    }
}

/// A generic OpenAPI client sends the `{key}` path parameter percent-encoded, its `/` as `%2F`;
/// both spellings name the same key. Nothing else is decoded: `is_image_key` refuses any other `%`.
fn unescape_slashes(key: &str) -> String {
    key.replace("%2F", "/").replace("%2f", "/")
}

/// Whether a route exists in this deployment at all: the demo page only where `DEMO_PAGE` is
/// exactly `"true"`; elsewhere `GET /` stays `route-non-existent`.
pub fn exists(route: &Route, demo_page: Option<&str>) -> bool {
    *route != Route::DemoPage || demo_page == Some("true")
}

/// `DISABLED_ROUTES` is a comma-separated list of route names; spaces are tolerated.
pub fn is_disabled(route: &Route, disabled_routes: &str) -> bool {
    disabled_routes.split(',').any(|name| name.trim() == route.name())
}

/// Keys the worker itself writes: `list_items/<id>/<32 hex>.png|.jpg`. Anything else (path
/// tricks, other prefixes) never reaches R2.
pub fn is_image_key(key: &str) -> bool {
    let mut parts = key.split('/');
    let (Some("list_items"), Some(id), Some(file), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some((stem, ext)) = file.split_once('.') else { return false };
    !id.is_empty()
        && id.len() <= 19
        && id.bytes().all(|b| b.is_ascii_digit())
        && stem.len() == 32
        && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (ext == "png" || ext == "jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(identify("PUT", "/api/v1/list_items/upload_image"), Some(Route::UploadImage));
        assert_eq!(identify("PUT", "/api/v1/list_items/upload_image/"), Some(Route::UploadImage));
        assert_eq!(identify("OPTIONS", "/api/v1/list_items/upload_image"), Some(Route::UploadImagePreflight));
        assert_eq!(identify("GET", "/api/v1/list_items/upload_image"), None);
        assert_eq!(identify("PUT", "/api/v1/list_items/upload_image//"), None);
        assert_eq!(identify("POST", "/api/v1/list_items/upload_image"), None);
        assert_eq!(identify("PUT", "/api/v1/nope"), None);
        assert_eq!(identify("HEAD", "/images/a"), Some(Route::Image { key: "a".into(), head_only: true }));
    }

    #[test]
    fn image_key_with_encoded_slashes() {
        let hex = "0123456789abcdef0123456789abcdef";
        let key = format!("list_items/12/{hex}.png");
        for path in [format!("/images/{key}"), format!("/images/list_items%2F12%2F{hex}.png"), format!("/images/list_items%2f12/{hex}.png")] {
            assert_eq!(identify("GET", &path), Some(Route::Image { key: key.clone(), head_only: false }), "{path}");
        }
        let Some(Route::Image { key: other, .. }) = identify("GET", &format!("/images/list_items%2F12%2F{hex}%2Epng")) else { panic!() };
        assert!(!is_image_key(&other), "only %2F is decoded");
    }

    #[test]
    fn demo_page_route() {
        assert_eq!(identify("GET", "/"), Some(Route::DemoPage));
        assert_eq!(Route::DemoPage.name(), "demo");
        for (method, path) in [("HEAD", "/"), ("PUT", "/"), ("POST", "/"), ("GET", "//"), ("GET", "/index.html"), ("GET", "")] {
            assert_eq!(identify(method, path), None, "{method} {path:?}");
        }
        assert!(exists(&Route::DemoPage, Some("true")));
        for off in [None, Some(""), Some("false"), Some("TRUE"), Some("1"), Some(" true")] {
            assert!(!exists(&Route::DemoPage, off), "{off:?}");
        }
        assert!(exists(&Route::UploadImage, None));
        assert!(is_disabled(&Route::DemoPage, "demo"));
    }

    #[test]
    fn disabled_routes() {
        assert!(is_disabled(&Route::UploadImage, "list_items/upload_image"));
        assert!(is_disabled(&Route::UploadImage, "x, list_items/upload_image ,y"));
        assert!(!is_disabled(&Route::UploadImage, ""));
        assert!(!is_disabled(&Route::UploadImage, "list_items/upload"));
        assert!(is_disabled(&Route::Image { key: String::new(), head_only: false }, "images"));
    }

    #[test]
    fn image_keys() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert!(is_image_key(&format!("list_items/12/{hex}.png")));
        assert!(is_image_key(&format!("list_items/12/{hex}.jpg")));
        for bad in [
            format!("list_items/12/{hex}.gif"),
            format!("list_items/12/{}.png", hex.to_uppercase()),
            format!("list_items/../{hex}.png"),
            format!("list_items/12/../12/{hex}.png"),
            format!("other/12/{hex}.png"),
            format!("list_items//{hex}.png"),
            format!("list_items/12/{hex}.png.png"),
            "list_items/12/x.png".to_string(),
            String::new(),
        ] {
            assert!(!is_image_key(&bad), "{bad}");
        }
    }
}
