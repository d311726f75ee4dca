//! How a failed call is classified, once, by whoever made it: the retry driver's callers decide
//! from the class, never from a service's error-code strings.

/// What kind of failure a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The service asked us to slow down.
    Throttled,
    /// A failure a later attempt may not meet (5xx, a dropped connection).
    Transient,
    /// The call took longer than its time limit.
    Timeout,
    /// Trying again cannot help (bad request, access denied, missing resource).
    Permanent,
}

impl ErrorClass {
    pub fn is_retryable(self) -> bool {
        self != ErrorClass::Permanent
    }

    /// A short code for logs and error markers.
    pub fn code(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "THROTTLED",
            ErrorClass::Transient => "TRANSIENT",
            ErrorClass::Timeout => "TIMEOUT",
            ErrorClass::Permanent => "PERMANENT",
        }
    }
}

/// A call that failed as a whole, classified so the caller knows whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("transient failure: {0}")]
    Transient(String),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The service cannot be used at all as configured (access not granted, no such model): no
    /// call of this invocation can succeed, so the caller makes no further one and says why.
    #[error("unusable: {0}")]
    Unusable(String),
}

impl CallError {
    /// A failure of `class`, described by `message` (a timeout keeps only its class).
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        match class {
            ErrorClass::Throttled => CallError::Throttled(message.into()),
            ErrorClass::Transient => CallError::Transient(message.into()),
            ErrorClass::Timeout => CallError::Timeout(0),
            ErrorClass::Permanent => CallError::Permanent(message.into()),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            CallError::Throttled(_) => ErrorClass::Throttled,
            CallError::Transient(_) => ErrorClass::Transient,
            CallError::Timeout(_) => ErrorClass::Timeout,
            CallError::Permanent(_) | CallError::Unusable(_) => ErrorClass::Permanent,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }

    /// A short code for logs and the record's error marker.
    pub fn code(&self) -> &'static str {
        self.class().code()
    }
}

/// The full text of an error and its sources: SDK errors say little at the top ("dispatch
/// failure"); the source chain says why.
pub fn describe<E: std::error::Error + ?Sized>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_failures_are_not_retried() {
        // GIVEN one error of each class THEN retryability and codes follow the class
        for (e, retry, code) in [
            (CallError::Throttled("x".into()), true, "THROTTLED"),
            (CallError::Transient("x".into()), true, "TRANSIENT"),
            (CallError::Timeout(5), true, "TIMEOUT"),
            (CallError::Permanent("x".into()), false, "PERMANENT"),
        ] {
            assert_eq!((e.is_retryable(), e.code()), (retry, code), "{e}");
            assert_eq!(CallError::new(e.class(), "x").class(), e.class());
        }
    }

    #[test]
    fn describe_follows_the_source_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(describe(&e), "outer: inner");
    }
}
