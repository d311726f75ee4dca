//! One module per subcommand.

pub mod demo;
#[cfg(feature = "aws")]
pub mod firehose;
pub mod iceberg;
pub mod purge;
#[cfg(feature = "aws")]
pub mod put;
pub mod report;
