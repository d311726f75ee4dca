//! Replays the checked-in corpus (`fuzz/corpus/<target>/`, seeds) and regressions
//! (`fuzz/regressions/<target>/`, every input a fuzzer once failed on, minimised) through each
//! target's check: the same code the fuzz targets run, on stable, in seconds. `make test` runs
//! it; it fuzzes nothing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use ks_fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files directly under `dir` (none if it does not exist), in name order.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_input_keeps_its_targets_properties() {
    // GIVEN every checked-in input of every target
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, check) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name}/ has no seed");
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for path in corpus.iter().chain(&regressions) {
            let data = std::fs::read(path).expect("a corpus file reads");
            // WHEN it goes through the target's check
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&data)));
            replayed += 1;
            if let Err(panic) = outcome {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", path.display()));
            }
        }
    }
    // THEN no property is violated
    assert!(
        failures.is_empty(),
        "{} of {replayed} inputs violate their target's properties:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "replayed {replayed} inputs through {} targets",
        TARGETS.len()
    );
}

#[test]
fn the_targets_the_checks_name_are_the_fuzz_binaries_and_the_corpus_folders() {
    // GIVEN the fuzz crate's binaries and the corpus's folders
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut bins: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "ks-fuzz")
        .map(str::to_owned)
        .collect();
    bins.sort();
    let mut folders: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .expect("fuzz/corpus")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    folders.sort();
    let mut regressions: Vec<String> = std::fs::read_dir(fuzz_dir().join("regressions"))
        .map(|d| {
            d.map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| !n.starts_with('.'))
            .collect()
        })
        .unwrap_or_default();
    regressions.sort();
    // THEN each names the same targets, so no input is left unreplayed
    let names: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        bins, names,
        "fuzz/Cargo.toml's [[bin]]s against ks_fuzz_checks::TARGETS"
    );
    assert_eq!(folders, names, "fuzz/corpus/'s folders against the targets");
    for r in &regressions {
        assert!(names.contains(r), "fuzz/regressions/{r}/ is no target's");
    }
    for name in &names {
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let src = std::fs::read_to_string(&target).expect("the target's source");
        assert!(
            src.contains(&format!("ks_fuzz_checks::{name}::check(data)")),
            "{} does not call its check",
            target.display()
        );
    }
}
