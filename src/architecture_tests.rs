//! The pure core stays pure: only the adapter modules listed here may name the Workers runtime
//! (`worker`, `js_sys`, `web_sys`, `wasm_bindgen`). Every other file under `src/`, including
//! any new one, is plain Rust that `cargo test` and the fuzz targets run on the host.

use std::fs;
use std::path::{Path, PathBuf};

/// The thin edge: bindings, adapters and the routes that wire them.
const EDGE: &[&str] = &[
    "auth/kv_store.rs",
    "bindings.rs",
    "edge.rs",
    "fetch/remote.rs",
    "lib.rs",
    "node_builtins.rs",
    "rate_limit.rs",
    "routes/demo.rs",
    "routes/images.rs",
    "routes/mod.rs",
    "routes/upload_image.rs",
    "store/images.rs",
    "store/list_items.rs",
    "streams.rs",
    "sweep/cloudflare.rs",
    "transfer.rs",
];

const RUNTIME_CRATES: &[&str] = &["worker", "js_sys", "web_sys", "wasm_bindgen", "wasm_bindgen_futures"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// A line of code (not a comment) that names a runtime crate as a path root.
fn names_runtime(line: &str) -> Option<&'static str> {
    let code = line.split("//").next().unwrap_or_default();
    RUNTIME_CRATES.iter().copied().find(|krate| {
        code.match_indices(krate).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            let after = &code[at + krate.len()..];
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                && (after.starts_with("::") || (code.trim_start().starts_with("use ") && after.starts_with([';', ' ', '}'])))
        })
    })
}

#[test]
fn pure_modules_do_not_name_the_workers_runtime() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offences = Vec::new();
    for file in files {
        let name = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if EDGE.contains(&name.as_str()) || name == "architecture_tests.rs" {
            continue;
        }
        for (number, line) in fs::read_to_string(&file).unwrap().lines().enumerate() {
            if let Some(krate) = names_runtime(line) {
                offences.push(format!("src/{name}:{}: {krate}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(offences.is_empty(), "pure modules naming the runtime (move the code to an adapter):\n{}", offences.join("\n"));
}

#[test]
fn the_check_sees_a_runtime_import() {
    assert_eq!(names_runtime("use worker::Env;"), Some("worker"));
    assert_eq!(names_runtime("    let x = js_sys::Date::now();"), Some("js_sys"));
    assert_eq!(names_runtime("use wasm_bindgen::JsValue;"), Some("wasm_bindgen"));
    assert_eq!(names_runtime("use web_sys;"), Some("web_sys"));
    assert_eq!(names_runtime("// worker::Env in a comment"), None);
    assert_eq!(names_runtime("let worker_count = 3; my_worker::go();"), None);
    assert_eq!(names_runtime("use crate::edge::worker;"), None);
}
