//! The stream producer's README states each setting's default; this holds it to the code's.

use stream_producer::ProducerConfig;

/// `(variable, default)` for each row of the README's settings table whose default is a single
/// literal value, but `RUST_LOG`.
fn documented_defaults() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../stream-producer/README.md");
    let readme = std::fs::read_to_string(path).expect("the stream-producer README");
    ks_testkit::readme::literal_defaults(readme.lines().filter(|l| l.starts_with("| `")), 25)
}

/// The other variables a setting needs to be read at all.
fn context(var: &str) -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![("STREAM_NAME", "s")];
    if var.starts_with("MASTODON_") {
        vars.extend([
            ("SOURCE", "mastodon"),
            ("MASTODON_URL", "https://m.example"),
        ]);
    } else if var.starts_with("HTTP_JSON_") {
        vars.extend([
            ("SOURCE", "http-json"),
            ("HTTP_JSON_URL", "https://api.example/v1"),
        ]);
    } else if var == "AGGREGATION_MAX_BYTES" {
        vars.push(("AGGREGATION", "true"));
    }
    vars
}

#[test]
fn every_default_in_the_readme_is_the_codes_default() {
    // GIVEN the README's table (at least 25 rows)
    let rows = documented_defaults();
    for (var, default) in rows {
        let base = context(&var);
        let unset = ProducerConfig::from_lookup(ks_kernel::env::fixed(&base)).unwrap();
        // WHEN the variable is set to its documented default
        let mut with = base.clone();
        with.push((var.as_str(), default.as_str()));
        let set = ProducerConfig::from_lookup(ks_kernel::env::fixed(&with))
            .unwrap_or_else(|e| panic!("{var}={default:?} from the README is refused: {e}"));
        // THEN the configuration is the one the code uses when it is unset
        assert_eq!(set, unset, "{var}: the README says {default:?}");
    }
}
