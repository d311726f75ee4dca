//! The transform's sentiment services: each implements `ks_transform`'s `SentimentAnalyzer`
//! over a real service, owns its settings (struct, defaults, env reader, limits) and is tested
//! against a stand-in that speaks the service's wire protocol. This crate never sees the
//! producer: the crate graph keeps the two domains apart in every build.
//!
//! # Layout
//! - [`comprehend`]: Comprehend `BatchDetectSentiment`; [`comprehend_config`]: its settings
//!   (`COMPREHEND_*`).
//! - [`bedrock`]: Bedrock `Converse`, many posts a call; [`bedrock_config`]: its settings
//!   (`BEDROCK_*`); [`bedrock_answer`]: its instruction, tool schema and answer validation (pure).

#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "bedrock-answer")]
pub mod bedrock_answer;
#[cfg(feature = "bedrock")]
pub mod bedrock_config;
#[cfg(feature = "comprehend")]
pub mod comprehend;
#[cfg(feature = "comprehend")]
pub mod comprehend_config;
