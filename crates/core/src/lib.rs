//! The kinesis-sentiment domain. Free of AWS SDK and Lambda runtime types: adapters implement
//! [`sentiment::SentimentAnalyzer`]; the Lambda crates map events onto [`transform::transform`].

pub mod config;
pub mod deadline;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod plan;
pub mod producer;
pub mod record;
pub mod retry;
pub mod sentiment;
pub mod text;
pub mod transform;
