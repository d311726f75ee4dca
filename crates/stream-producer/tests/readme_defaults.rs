//! The stream producer's README states each setting's default; this holds it to the code's.

use stream_producer::ProducerConfig;

/// `(variable, default)` for each row of the README's settings table whose default is a single
/// literal value.
fn documented_defaults() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../stream-producer/README.md");
    let readme = std::fs::read_to_string(path).expect("the stream-producer README");
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let var = cells.get(1)?.trim_matches('`');
            let default = cells.get(2)?;
            let literal = default.strip_prefix('`')?.strip_suffix('`')?;
            let is_var = var.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            (is_var && !literal.contains(['`', '<'])).then(|| (var.to_owned(), literal.to_owned()))
        })
        .collect()
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
    // GIVEN the README's table
    let rows = documented_defaults();
    assert!(
        rows.len() >= 25,
        "the table was not found or changed shape: {rows:?}"
    );
    for (var, default) in rows {
        if var == "RUST_LOG" {
            continue; // read by the log filter, not the config
        }
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
