//! The Lambda edge both functions share, and nothing else: the domains never see it.
//!
//! # Layout
//! - [`EdgeError`] and [`diagnostic`]: a handler's error as the runtime's `Diagnostic`, typed
//!   `Retryable.<CODE>` or `Permanent.<CODE>` so a reader (and an alarm) knows whether Lambda's
//!   or Firehose's retry may help; [`diagnostic_from!`] writes a handler error's `From` impl.
//! - [`function_name`]: the function's name for metrics, read once.

pub use lambda_runtime::Diagnostic;

/// A handler's error as the runtime reports it.
pub trait EdgeError: std::fmt::Display {
    /// A short code naming what failed, e.g. `DELIVERY` or `ModelUnusable`.
    fn code(&self) -> &str;

    /// Whether the same invocation may succeed later without a change of settings.
    fn is_retryable(&self) -> bool;
}

/// `e` as the runtime's error report: the type says whether a retry may help, the message is
/// the error's.
pub fn diagnostic(e: &impl EdgeError) -> Diagnostic {
    let class = if e.is_retryable() {
        "Retryable"
    } else {
        "Permanent"
    };
    Diagnostic {
        error_type: format!("{class}.{}", e.code()),
        error_message: e.to_string(),
    }
}

/// `impl From<$error> for Diagnostic` through [`diagnostic`], so every handler's error reaches
/// the runtime typed alike. A macro: the orphan rule forbids a blanket impl here.
#[macro_export]
macro_rules! diagnostic_from {
    ($error:ty) => {
        impl From<$error> for $crate::Diagnostic {
            fn from(e: $error) -> Self {
                $crate::diagnostic(&e)
            }
        }
    };
}

/// `AWS_LAMBDA_FUNCTION_NAME`, or `default` outside Lambda (tests, `cargo lambda watch`).
pub fn function_name(default: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| default.to_owned())
}
