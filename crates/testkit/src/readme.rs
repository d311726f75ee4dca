//! The READMEs' settings tables, as the tests that hold them to the code read them: one reader,
//! so every README's table is parsed by the same rule.

/// `(variable, default)` for each row among `rows` that is a settings-table row
/// (`` | `VARIABLE` | `default` | … ``) whose default is a single literal value: not a
/// sentence, not two values, not a `<placeholder>`. `RUST_LOG` is left out: the log filter
/// reads it, not a config. Panics below `at_least` rows: the table was not found.
pub fn literal_defaults<'a>(
    rows: impl IntoIterator<Item = &'a str>,
    at_least: usize,
) -> Vec<(String, String)> {
    let mut found: Vec<_> = rows.into_iter().filter_map(literal_default).collect();
    assert!(
        found.len() >= at_least,
        "the table was not found or changed shape: {found:?}"
    );
    found.retain(|(var, _)| var != "RUST_LOG");
    found
}

fn literal_default(row: &str) -> Option<(String, String)> {
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let var = cells.get(1)?.trim_matches('`');
    let literal = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
    let is_var = !var.is_empty()
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    (is_var && !literal.contains(['`', '<'])).then(|| (var.to_owned(), literal.to_owned()))
}
