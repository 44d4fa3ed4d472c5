//! Replays every committed fuzz corpus file (`../fuzz/corpus/<target>/*`) through the same
//! check functions the fuzz targets call, on stable, as a normal test. A crash found by the
//! fuzzer becomes a regression test by copying its input into the corpus once it is fixed.

use std::fs;
use std::path::{Path, PathBuf};

use cachet_benches::fuzz_checks::{
    check_api_input, check_markdown, check_security_input, check_template,
};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Files of `fuzz/corpus/<target>`, sorted (empty when the folder does not exist).
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("corpus").join(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8]), min_corpus: usize) {
    let corpus = inputs(target);
    assert!(
        corpus.len() >= min_corpus,
        "fuzz/corpus/{target} holds {} files, expected at least {min_corpus}",
        corpus.len()
    );
    for path in &corpus {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {msg}", path.display());
        }
    }
}

#[test]
fn markdown_corpus() {
    replay("markdown", check_markdown, 12);
}

#[test]
fn template_corpus() {
    replay("template", check_template, 12);
}

#[test]
fn api_input_corpus() {
    replay("api_input", check_api_input, 12);
}

/// The API corpus reaches the handlers (not just 404s): a few answers pinned down.
#[test]
fn api_input_corpus_reaches_handlers() {
    use cachet_benches::fuzz_checks::run_api_input;
    let dir = fuzz_dir().join("corpus/api_input");
    let status = |name: &str| {
        let data = fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = run_api_input(&data).unwrap_or_else(|| panic!("{name} too short"));
        eprintln!(
            "{name}: {} -> {} {}",
            out.request,
            out.status,
            String::from_utf8_lossy(&out.body)
                .chars()
                .take(300)
                .collect::<String>()
        );
        out.status.as_u16()
    };
    assert_eq!(status("ping-guest"), 200);
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        status(&entry.file_name().to_string_lossy());
    }
    assert!((200..300).contains(&status("components-create-json")));
    assert_eq!(status("components-delete-guest"), 401);
    assert_eq!(status("html-accept-406"), 406);
    assert_eq!(status("method-not-allowed"), 405);
}

#[test]
fn security_input_corpus() {
    replay("security_input", check_security_input, 12);
}
