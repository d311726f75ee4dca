//! Settings read once from the environment at cold start: empty values count as unset, and an
//! invalid value is an error that names the variable, worded alike for every function.

use std::str::FromStr;
use std::time::Duration;

use crate::retry::RetryPolicy;

/// A setting that cannot be used, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

/// The namespace of every function's metrics.
pub const DEFAULT_METRICS_NAMESPACE: &str = "KinesisSentiment";

/// Reads variables, treating empty values as unset (templates often pass ""). Shared by every
/// function's config so they validate and word their errors alike.
pub struct Env<'a, F: Fn(&str) -> Option<String>>(pub &'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    pub fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn invalid(&self, var: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            var,
            value: self.get(var).unwrap_or_default(),
            reason: reason.into(),
        }
    }

    pub fn number<T>(
        &self,
        var: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let n: T = raw
            .parse()
            .map_err(|_| self.invalid(var, "not a whole number"))?;
        if !range.contains(&n) {
            return Err(self.invalid(
                var,
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        Ok(n)
    }

    /// A number with no default: unset is `None`.
    pub fn optional_number<T>(
        &self,
        var: &'static str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<Option<T>, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        match self.get(var) {
            None => Ok(None),
            Some(_) => self.number(var, *range.start(), range).map(Some),
        }
    }

    pub fn choice<T: Copy>(
        &self,
        var: &'static str,
        default: &str,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let raw = self
            .get(var)
            .unwrap_or_else(|| default.to_owned())
            .to_ascii_lowercase();
        options
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.invalid(var, format!("expected one of: {}", names.join(", ")))
            })
    }

    /// `true` or `false`.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.choice(
            var,
            if default { "true" } else { "false" },
            &[("false", false), ("true", true)],
        )
    }

    /// A duration given in milliseconds (`<NAME>_MS`), within `range` (in ms).
    pub fn millis(
        &self,
        var: &'static str,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        let ms = self.number(var, default.as_millis() as u64, range)?;
        Ok(Duration::from_millis(ms))
    }

    /// A duration given in whole `unit`s (`<NAME>_MINUTES`, `<NAME>_HOURS`), within `range` (in
    /// units); `default` is rounded down to the unit.
    pub fn whole(
        &self,
        var: &'static str,
        default: Duration,
        unit: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        let n = self.number(var, default.as_secs() / unit.as_secs(), range)?;
        Ok(Duration::from_secs(n * unit.as_secs()))
    }

    /// `DEADLINE_MARGIN_MS`: the time a function keeps back from its Lambda deadline to finish
    /// (answer, save, log). Every function reads it alike; each has its own default and range.
    pub fn deadline_margin(
        &self,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.millis("DEADLINE_MARGIN_MS", default, range)
    }

    /// `METRICS_NAMESPACE`, or [`DEFAULT_METRICS_NAMESPACE`].
    pub fn metrics_namespace(&self) -> String {
        self.get("METRICS_NAMESPACE")
            .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned())
    }

    /// A JSON pointer (RFC 6901), checked; `None` when unset.
    pub fn pointer(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(var) {
            None => Ok(None),
            Some(v) => check_pointer(&v)
                .map(|()| Some(v.clone()))
                .map_err(|why| self.invalid(var, why)),
        }
    }

    /// A required http:// or https:// URL with a host.
    pub fn url(&self, var: &'static str) -> Result<String, ConfigError> {
        let v = self
            .get(var)
            .ok_or_else(|| self.invalid(var, "required for this SOURCE"))?;
        let rest = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(v),
            _ => Err(self.invalid(var, "must be an http:// or https:// URL with a host")),
        }
    }

    /// A Glue Data Catalog name ([`crate::catalog::check_name`]), or `default` when unset.
    pub fn catalog_name(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let name = self.get(var).unwrap_or_else(|| default.to_owned());
        crate::catalog::check_name(&name).map_err(|why| self.invalid(var, why))?;
        Ok(name)
    }

    /// A retry policy from `<PREFIX>_MAX_ATTEMPTS`, `<PREFIX>_BACKOFF_BASE_MS` and
    /// `<PREFIX>_BACKOFF_CAP_MS`, each defaulting to `default`'s value.
    pub fn retry(
        &self,
        vars: RetryVars,
        default: &RetryPolicy,
    ) -> Result<RetryPolicy, ConfigError> {
        let base = self.number(vars.base, default.base.as_millis() as u64, 1..=60_000)?;
        let cap = self.number(vars.cap, default.cap.as_millis() as u64, 1..=300_000)?;
        if cap < base {
            return Err(self.invalid(vars.cap, format!("must not be below {}", vars.base)));
        }
        Ok(RetryPolicy {
            max_attempts: self.number(vars.attempts, default.max_attempts, 1..=50)?,
            base: Duration::from_millis(base),
            cap: Duration::from_millis(cap),
        })
    }
}

/// A lookup over fixed `(variable, value)` pairs instead of the process environment: for
/// tests, and for callers that build settings themselves.
pub fn fixed<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// The three variables of one retry policy.
#[derive(Debug, Clone, Copy)]
pub struct RetryVars {
    pub attempts: &'static str,
    pub base: &'static str,
    pub cap: &'static str,
}

/// Checks the syntax of a JSON pointer (RFC 6901): it starts with `/`, and every `~` is
/// followed by `0` or `1`.
pub fn check_pointer(spec: &str) -> Result<(), &'static str> {
    if !spec.starts_with('/') {
        return Err("it must start with '/'");
    }
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err("'~' must be followed by 0 or 1");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_unset_and_numbers_are_range_checked() {
        // GIVEN a blank and an out-of-range value
        let vars = [("A", "  "), ("B", "70")];
        let lookup = fixed(&vars);
        let env = Env(&lookup);
        // THEN the blank one takes the default and the other names the variable and the range
        assert_eq!(env.number("A", 5u32, 1..=10), Ok(5));
        let err = env.number("B", 5u32, 1..=10).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid B="70": must be between 1 and 10"#
        );
    }

    #[test]
    fn a_retry_policy_reads_its_three_variables() {
        let vars = [
            ("X_MAX_ATTEMPTS", "3"),
            ("X_BACKOFF_BASE_MS", "500"),
            ("X_BACKOFF_CAP_MS", "100"),
        ];
        let lookup = fixed(&vars);
        let env = Env(&lookup);
        let names = RetryVars {
            attempts: "X_MAX_ATTEMPTS",
            base: "X_BACKOFF_BASE_MS",
            cap: "X_BACKOFF_CAP_MS",
        };
        let err = env.retry(names, &RetryPolicy::default()).unwrap_err();
        assert_eq!(err.var, "X_BACKOFF_CAP_MS");
        assert!(err.reason.contains("X_BACKOFF_BASE_MS"), "{err}");
    }

    #[test]
    fn pointers_are_checked() {
        assert_eq!(check_pointer("/a/b~0c~1"), Ok(()));
        assert!(check_pointer("a").is_err());
        assert!(check_pointer("/a~2").is_err());
    }
}
