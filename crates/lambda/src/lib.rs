//! The Lambda edge both functions share, and nothing else: the domains never see it.
//!
//! # Layout
//! - [`EdgeError`] and [`diagnostic`]: a handler's error as the runtime's `Diagnostic`, typed
//!   `Retryable.<CODE>` or `Permanent.<CODE>` so a reader (and an alarm) knows whether Lambda's
//!   or Firehose's retry may help; [`diagnostic_from!`] writes a handler error's `From` impl.
//! - [`function_name`]: the function's name for metrics, read once.
//! - [`main!`]: every function's `main`: logs, the state once, then the runtime.

pub use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};

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

/// A function's `main`: `$log_init()`, then `$state::from_env()` once (a failure is logged as
/// well as returned, `$failed` its message: that line is what CloudWatch shows for a failed
/// init), then the runtime calling `state.handle(event)` per invocation. The state lives as
/// long as the process, so each invocation's tasks may borrow it. The caller's crate provides
/// `tokio` and `tracing`.
#[macro_export]
macro_rules! main {
    ($state:ty, $log_init:path, $failed:literal) => {
        #[tokio::main]
        async fn main() -> Result<(), $crate::Error> {
            $log_init();
            let state = <$state>::from_env().await.inspect_err(|e| {
                tracing::error!(error = %e, $failed);
            })?;
            let state: &'static $state = Box::leak(Box::new(state));
            $crate::run($crate::service_fn(
                move |event: $crate::LambdaEvent<_>| state.handle(event),
            ))
            .await
        }
    };
}
