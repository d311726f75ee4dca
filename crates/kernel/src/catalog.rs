//! Names of databases and tables in the Glue Data Catalog, as this project writes them into
//! Firehose's routing answers and into Athena SQL: checked once, so a name is always safe to
//! put in a query unquoted.

/// The Iceberg tables' names when `ICEBERG_POSTS_TABLE` / `ICEBERG_PURGES_TABLE` are unset:
/// one default for the transform (which routes to them) and the purge (which reads them).
pub const DEFAULT_POSTS_TABLE: &str = "posts";
pub const DEFAULT_PURGES_TABLE: &str = "account_purges";

/// The longest database or table name the Glue Data Catalog takes (`Name`, 1–255 characters:
/// <https://docs.aws.amazon.com/glue/latest/webapi/API_TableInput.html>).
pub const GLUE_NAME_MAX_CHARS: usize = 255;

/// Checks a catalog name: a lowercase letter, then lowercase letters, digits and underscores,
/// at most [`GLUE_NAME_MAX_CHARS`]. Athena reads only lowercase names, underscores being the
/// one special character it accepts without quoting
/// (<https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html>);
/// requiring a letter first keeps the name usable unquoted in DML as well.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("must not be empty"),
        Some(c) if !c.is_ascii_lowercase() => return Err("must start with a lowercase letter"),
        Some(_) => {}
    }
    if name.len() > GLUE_NAME_MAX_CHARS {
        return Err("must be at most 255 characters (the Glue Data Catalog's limit)");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err("only lowercase letters, digits and '_' (Athena's rule for names)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_athena_and_glue_accept_pass_and_others_say_why_not() {
        // GIVEN names of each kind WHEN checked THEN only plain lowercase identifiers pass
        for ok in [
            "posts",
            "account_purges",
            "social_lake_2026",
            &"a".repeat(255),
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "must not be empty"),
            ("Posts", "must start with a lowercase letter"),
            ("_posts", "must start with a lowercase letter"),
            ("9lives", "must start with a lowercase letter"),
            (
                "my-db",
                "only lowercase letters, digits and '_' (Athena's rule for names)",
            ),
            (
                "posts; drop",
                "only lowercase letters, digits and '_' (Athena's rule for names)",
            ),
            (
                "postś",
                "only lowercase letters, digits and '_' (Athena's rule for names)",
            ),
        ] {
            assert_eq!(check_name(bad), Err(why), "{bad}");
        }
        assert!(check_name(&"a".repeat(256)).unwrap_err().contains("255"));
    }
}
