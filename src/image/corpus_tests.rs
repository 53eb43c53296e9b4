//! The real-world corpus (tests/corpus/MANIFEST.tsv, verdicts computed by Chromium + Pillow in
//! scripts/corpus_verdicts.mjs) and the fuzz targets' findings (tests/corpus/regressions/, same
//! format): the validator must agree with every row, and every file it accepts must be refused
//! when cut anywhere before the end of its first image.

use super::{ImageInfo, ImageValidator, Rejection};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

struct Row {
    file: String,
    displayable: bool,
    width: u32,
    height: u32,
}

fn manifest(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (file, verdict, width, height) = (
        column("file"),
        column("verdict"),
        column("width"),
        column("height"),
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or("");
            let displayable = match cell(verdict) {
                "displayable" => true,
                // bad-crc: shown by the decoders, refused by the contract's CRC rule.
                "not-displayable" | "bad-crc" => false,
                other => panic!("{line}: verdict {other:?}; run scripts/corpus_verdicts.mjs"),
            };
            Row {
                file: cell(file).to_owned(),
                displayable,
                width: cell(width).parse().unwrap_or(0),
                height: cell(height).parse().unwrap_or(0),
            }
        })
        .collect()
}

/// The rows of the manifest in `dir` (relative to tests/corpus) with their files' bytes.
fn corpus_in(dir: &str) -> Vec<(Row, Vec<u8>)> {
    let dir = corpus_dir().join(dir);
    manifest(&dir.join("MANIFEST.tsv"))
        .into_iter()
        .map(|row| {
            let path = dir.join(&row.file);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (row, bytes)
        })
        .collect()
}

fn corpus() -> Vec<(Row, Vec<u8>)> {
    corpus_in(".")
}

/// The corpus and the fuzz regressions.
fn everything() -> Vec<(Row, Vec<u8>)> {
    let mut all = corpus();
    all.extend(corpus_in("regressions"));
    all
}

/// Feeds `bytes` one at a time and returns the verdict of every prefix, from the empty one
/// to the whole file, by finishing a clone of the (small) state at each boundary: linear time.
fn prefix_verdicts(bytes: &[u8]) -> Vec<Result<ImageInfo, Rejection>> {
    let mut verdicts = Vec::with_capacity(bytes.len() + 1);
    let mut validator = ImageValidator::new();
    let mut failed = None;
    for byte in bytes {
        verdicts.push(failed.map_or_else(|| validator.clone().finish(), Err));
        if failed.is_none() {
            failed = validator.push(core::slice::from_ref(byte)).err();
        }
    }
    verdicts.push(failed.map_or_else(|| validator.finish(), Err));
    verdicts
}

#[test]
fn validator_agrees_with_every_manifest_row() {
    let mut disagreements = Vec::new();
    let rows = everything();
    for (row, bytes) in &rows {
        let mut validator = ImageValidator::new();
        let verdict = validator.push(bytes).and_then(|()| validator.finish());
        let agrees = match verdict {
            // The decoders report the stored (un-rotated) dimensions of the first frame.
            Ok(info) => row.displayable && (info.width, info.height) == (row.width, row.height),
            Err(_) => !row.displayable,
        };
        if !agrees {
            let expected = if row.displayable {
                "displayable"
            } else {
                "not-displayable"
            };
            disagreements.push(format!(
                "{}: manifest {expected} {}x{}, validator {verdict:?}",
                row.file, row.width, row.height
            ));
        }
    }
    let real_world = corpus().len();
    assert!(real_world >= 150, "the corpus shrank to {real_world} files");
    assert!(
        disagreements.is_empty(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        rows.len(),
        disagreements.join("\n")
    );
}

#[test]
fn accepted_corpus_files_are_refused_when_cut_inside_the_first_image() {
    for (row, bytes) in everything().iter().filter(|(row, _)| row.displayable) {
        let verdicts = prefix_verdicts(bytes);
        // The first image ends where a prefix is first accepted; from there on every prefix is
        // accepted too (what follows is stored unchanged and never re-judged).
        let first_image_end = verdicts
            .iter()
            .position(Result::is_ok)
            .unwrap_or(verdicts.len());
        assert!(
            first_image_end > 0 && first_image_end < verdicts.len(),
            "{}: never accepted",
            row.file
        );
        assert_eq!(verdicts[0], Err(Rejection::Empty), "{}", row.file);
        for (len, verdict) in verdicts.iter().enumerate().skip(1) {
            if len < first_image_end {
                assert_eq!(
                    *verdict,
                    Err(Rejection::Corrupt),
                    "{} cut to {len} bytes",
                    row.file
                );
            } else {
                assert_eq!(
                    *verdict, verdicts[first_image_end],
                    "{} cut to {len} bytes",
                    row.file
                );
            }
        }
    }
}

#[test]
fn multi_picture_and_trailer_files_are_covered() {
    // Acceptance: at least 20 accepted JPEGs carry bytes after their first image
    // (MPO, Ultra HDR gain maps, camera trailers).
    let with_tail = corpus()
        .iter()
        .filter(|(row, bytes)| {
            row.displayable && bytes.starts_with(&[0xFF, 0xD8]) && {
                let verdicts = prefix_verdicts(bytes);
                verdicts
                    .iter()
                    .position(Result::is_ok)
                    .is_some_and(|end| end < bytes.len())
            }
        })
        .count();
    assert!(
        with_tail >= 20,
        "only {with_tail} accepted JPEGs with bytes after the first image"
    );
}
