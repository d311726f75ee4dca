//! The README's configuration table states each default; this holds it to the code's.

use firehose_transform::TransformConfig;

/// `(variable, default)` for each row of the README's configuration table whose default is a
/// single literal value, but `RUST_LOG`.
fn documented_defaults() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the workspace README");
    let table = readme
        .split("### Configuration")
        .nth(1)
        .expect("a Configuration section");
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("| Variable"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    ks_testkit::readme::literal_defaults(rows, 15)
}

#[test]
fn every_default_in_the_readme_is_the_codes_default() {
    // GIVEN the README's table (at least 15 rows)
    let rows = documented_defaults();
    let unset = format!("{:?}", TransformConfig::from_lookup(|_| None).unwrap());
    for (var, default) in rows {
        // WHEN the variable is set to its documented default
        let set = TransformConfig::from_lookup(|k| (k == var).then(|| default.clone()))
            .unwrap_or_else(|e| panic!("{var}={default:?} from the README is refused: {e}"));
        // THEN the configuration is the one the code uses when it is unset
        assert_eq!(
            format!("{set:?}"),
            unset,
            "{var}: the README says {default:?}"
        );
    }
}

#[test]
fn the_bedrock_defaults_in_the_readme_are_the_codes_defaults() {
    // GIVEN the bedrock backend, whose own settings are read only when it is chosen
    let base = |k: &str| (k == "SENTIMENT_BACKEND").then(|| "bedrock".to_owned());
    let unset = format!("{:?}", TransformConfig::from_lookup(base).unwrap());
    let rows: Vec<_> = documented_defaults()
        .into_iter()
        .filter(|(var, _)| var.starts_with("BEDROCK_"))
        .collect();
    assert!(rows.len() >= 6, "{rows:?}");
    for (var, default) in rows {
        // WHEN each is set to its documented default THEN nothing changes
        let set = TransformConfig::from_lookup(|k| {
            if k == var {
                Some(default.clone())
            } else {
                base(k)
            }
        })
        .unwrap_or_else(|e| panic!("{var}={default:?} from the README is refused: {e}"));
        assert_eq!(
            format!("{set:?}"),
            unset,
            "{var}: the README says {default:?}"
        );
    }
}
