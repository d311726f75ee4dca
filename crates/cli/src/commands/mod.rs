//! One module per subcommand.

pub mod demo;
#[cfg(feature = "aws")]
pub mod firehose;
#[cfg(feature = "aws")]
pub mod put;
pub mod report;
