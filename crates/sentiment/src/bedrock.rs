//! Amazon Bedrock's Converse API as a [`SentimentAnalyzer`]: many posts per call, the answer
//! forced through one tool whose schema is the result, validated post by post.
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>
//!
//! Layout: [`crate::bedrock_answer`] (the instruction, the tool, the posts message and the
//! answer's validation: pure) and this module (the call, `stopReason`, errors, usage, cost).
//!
//! What each `stopReason` means here: `tool_use`, `end_turn` and `stop_sequence` are read (a
//! text answer without the tool leaves every post to be asked again); `max_tokens` and
//! `model_context_window_exceeded` split the posts in two and ask for each half;
//! `guardrail_intervened` and `content_filtered` split too, until the post that trips them is
//! alone, and that post is answered as an error; `malformed_model_output`,
//! `malformed_tool_use` and any reason added later leave the posts to be asked again.

use std::future::Future;
use std::pin::Pin;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::StalledStreamProtectionConfig;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, ContentBlock, ConversationRole, ConverseOutput as Output,
    InferenceConfiguration, Message, SpecificToolChoice, StopReason, SystemContentBlock, Tool,
    ToolChoice, ToolConfiguration, ToolInputSchema, ToolSpecification,
};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::{Document, Number};
use ks_aws::errors::{BEDROCK, classify, code_of};
use ks_transform::sentiment::{
    Analysis, CallError, DocError, ModelUsage, Sentiment, SentimentAnalyzer,
};
use serde_json::Value;
use tracing::Instrument as _;

use crate::bedrock_answer as answer;
pub use crate::bedrock_config::*;

/// Error codes that no retry, and no other post, can get past: the invocation stops with them.
const FATAL_CODES: [&str; 2] = ["AccessDeniedException", "ResourceNotFoundException"];

/// List prices per million tokens (input, output), on-demand, us-east-1, from
/// <https://aws.amazon.com/bedrock/pricing/> as listed in 2025 (verify before relying on them).
/// Matched on the model id without its region prefix (`us.`, `eu.`, `apac.`, `global.`).
pub const PRICES_PER_MILLION_TOKENS: [(&str, f64, f64); 5] = [
    ("amazon.nova-micro-v1", 0.035, 0.14),
    ("amazon.nova-lite-v1", 0.06, 0.24),
    ("amazon.nova-pro-v1", 0.80, 3.20),
    ("anthropic.claude-3-haiku-20240307-v1", 0.25, 1.25),
    ("anthropic.claude-3-5-haiku-20241022-v1", 0.80, 4.00),
];

/// Whether `model_id` is documented to accept `toolChoice.tool` (Claude 3 and later, Nova).
pub fn can_force_one_tool(model_id: &str) -> bool {
    let base = base_model(model_id);
    base.starts_with("amazon.nova") || base.starts_with("anthropic.claude")
}

/// The model id without an ARN's prefix or an inference profile's region prefix.
fn base_model(model_id: &str) -> &str {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    for prefix in [
        "us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au.",
    ] {
        if let Some(rest) = id.strip_prefix(prefix) {
            return rest;
        }
    }
    id
}

/// The list price of `model_id`, if known.
pub fn price_of(model_id: &str) -> Option<(f64, f64)> {
    let base = base_model(model_id);
    PRICES_PER_MILLION_TOKENS
        .iter()
        .find(|(m, _, _)| base.starts_with(m))
        .map(|&(_, i, o)| (i, o))
}

#[derive(Debug)]
pub struct BedrockAnalyzer {
    client: Client,
    model_id: String,
    /// `bedrock:<model id>`, written next to each result.
    label: String,
    posts_per_call: usize,
    force_tool: bool,
}

impl BedrockAnalyzer {
    pub fn new(client: Client, model_id: &str, posts_per_call: usize) -> Self {
        let force_tool = can_force_one_tool(model_id);
        if !force_tool {
            tracing::warn!(
                model_id,
                "this model is not documented to accept toolChoice.tool: asking with toolChoice.any"
            );
        }
        BedrockAnalyzer {
            client,
            model_id: model_id.to_owned(),
            label: format!("bedrock:{model_id}"),
            posts_per_call,
            force_tool,
        }
    }

    /// Client settings: the core retries (with the deadline) and times each call.
    pub fn configure(
        builder: aws_sdk_bedrockruntime::config::Builder,
    ) -> aws_sdk_bedrockruntime::config::Builder {
        builder
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    }

    fn tool_config(&self) -> Result<ToolConfiguration, CallError> {
        let spec = ToolSpecification::builder()
            .name(answer::TOOL_NAME)
            .description(answer::tool_description())
            .input_schema(ToolInputSchema::Json(to_document(&answer::tool_schema())))
            .build()
            .map_err(|e| CallError::Permanent(format!("building the tool: {e}")))?;
        let choice = if self.force_tool {
            let tool = SpecificToolChoice::builder()
                .name(answer::TOOL_NAME)
                .build()
                .map_err(|e| CallError::Permanent(format!("building toolChoice: {e}")))?;
            ToolChoice::Tool(tool)
        } else {
            ToolChoice::Any(AnyToolChoice::builder().build())
        };
        ToolConfiguration::builder()
            .tools(Tool::ToolSpec(spec))
            .tool_choice(choice)
            .build()
            .map_err(|e| CallError::Permanent(format!("building toolConfig: {e}")))
    }

    /// One Converse call for `texts`.
    async fn converse(&self, texts: &[&str]) -> Result<ConverseOutput, CallError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(answer::posts_message(texts)))
            .build()
            .map_err(|e| CallError::Permanent(format!("building the message: {e}")))?;
        let call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(answer::INSTRUCTION.to_owned()))
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(answer::max_tokens(texts.len()))
                    .temperature(0.0)
                    .build(),
            )
            .tool_config(self.tool_config()?)
            .send();
        // A task of its own, as for Comprehend: the SDK's pipeline is CPU work.
        let mut task = AbortOnDrop(tokio::spawn(call.in_current_span()));
        let output = (&mut task.0)
            .await
            .map_err(|e| CallError::Transient(format!("the call's task ended abnormally: {e}")))?;
        output.map_err(|e| {
            let err = classify(&e, &BEDROCK);
            if code_of(&e).is_some_and(|c| FATAL_CODES.contains(&c)) {
                return CallError::Unusable(self.unusable(&err));
            }
            err
        })
    }

    /// Why the model cannot be used, with the console step that fixes it.
    fn unusable(&self, err: &CallError) -> String {
        format!(
            "Bedrock refused model {:?} ({err}). Enable access to it in the Bedrock console \
             (Model access, in this account and region), check the id, and allow \
             bedrock:InvokeModel on it in the function's role (the template's BedrockModelId)",
            self.model_id
        )
    }

    /// What one answered call spent, at the list price known for the model (0 if none).
    fn usage_of(&self, out: &ConverseOutput) -> ModelUsage {
        let n = |v: i32| u64::try_from(v).unwrap_or(0);
        let (input_tokens, output_tokens) = out
            .usage()
            .map_or((0, 0), |u| (n(u.input_tokens()), n(u.output_tokens())));
        let cost_usd = price_of(&self.model_id).map_or(0.0, |(i, o)| {
            (input_tokens as f64 * i + output_tokens as f64 * o) / 1e6
        });
        ModelUsage {
            calls: 1,
            input_tokens,
            output_tokens,
            cost_usd,
        }
    }

    /// Scores `texts`, splitting them where the stop reason says the call was too big or one
    /// post tripped a filter.
    fn score<'a>(
        &'a self,
        texts: &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = Analysis> + Send + 'a>> {
        Box::pin(async move {
            let out = match self.converse(texts).await {
                Ok(out) => out,
                Err(e) => {
                    let usage = ModelUsage {
                        calls: 1,
                        ..ModelUsage::default()
                    };
                    return Analysis {
                        outcome: Err(e),
                        usage,
                    };
                }
            };
            let mut usage = self.usage_of(&out);
            let outcome = match Reading::of(out.stop_reason()) {
                Reading::Read => Ok(read_output(&out, texts.len())),
                Reading::Split(code) if texts.len() == 1 => Ok(vec![Err(DocError {
                    code: code.to_owned(),
                    message: format!("Converse stopped with {code} for this post alone"),
                    retryable: false,
                    service_failure: false,
                })]),
                Reading::Split(_) => {
                    let (a, b) = texts.split_at(texts.len() / 2);
                    let (a, b) = futures::join!(self.score(a), self.score(b));
                    usage.add(a.usage);
                    usage.add(b.usage);
                    a.outcome.and_then(|mut all| {
                        all.extend(b.outcome?);
                        Ok(all)
                    })
                }
                Reading::AskAgain(code) => Ok(ask_again(code, texts.len())),
            };
            Analysis { outcome, usage }
        })
    }
}

/// What a stop reason asks of us.
enum Reading {
    Read,
    Split(&'static str),
    AskAgain(&'static str),
}

impl Reading {
    fn of(reason: &StopReason) -> Self {
        match reason {
            StopReason::ToolUse | StopReason::EndTurn | StopReason::StopSequence => Reading::Read,
            StopReason::MaxTokens => Reading::Split("MAX_TOKENS"),
            StopReason::ModelContextWindowExceeded => Reading::Split("CONTEXT_WINDOW_EXCEEDED"),
            StopReason::GuardrailIntervened => Reading::Split("GUARDRAIL_INTERVENED"),
            StopReason::ContentFiltered => Reading::Split("CONTENT_FILTERED"),
            StopReason::MalformedModelOutput => Reading::AskAgain("MALFORMED_MODEL_OUTPUT"),
            StopReason::MalformedToolUse => Reading::AskAgain("MALFORMED_TOOL_USE"),
            _ => Reading::AskAgain("UNKNOWN_STOP_REASON"),
        }
    }
}

fn ask_again(code: &str, n: usize) -> Vec<Result<Sentiment, DocError>> {
    let e = DocError {
        code: code.to_owned(),
        message: format!("Converse answered {code}; asked again"),
        retryable: true,
        service_failure: false,
    };
    vec![Err(e); n]
}

/// The posts' answers from the tool call in `out`, or every post to ask again without one.
fn read_output(out: &ConverseOutput, n: usize) -> Vec<Result<Sentiment, DocError>> {
    let tool_input = match out.output() {
        Some(Output::Message(m)) => m.content().iter().find_map(|c| match c {
            ContentBlock::ToolUse(t) if t.name() == answer::TOOL_NAME => Some(t.input()),
            _ => None,
        }),
        _ => None,
    };
    match tool_input {
        Some(input) => answer::read_answer(&to_value(input), n),
        None => ask_again("NO_TOOL_CALL", n),
    }
}

impl SentimentAnalyzer for BedrockAnalyzer {
    fn model(&self) -> &str {
        &self.label
    }

    fn supports_language(&self, _language: &str) -> bool {
        true
    }

    fn any_language(&self) -> bool {
        true
    }

    fn bills_units(&self) -> bool {
        false
    }

    fn max_batch_documents(&self) -> usize {
        self.posts_per_call
    }

    fn is_remote(&self) -> bool {
        true
    }

    async fn analyze(&self, _language: &str, texts: &[&str]) -> Analysis {
        self.score(texts).await
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// serde_json to the SDK's document type (the tool schema).
pub fn to_document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(o) => {
            Document::Object(o.iter().map(|(k, v)| (k.clone(), to_document(v))).collect())
        }
    }
}

/// The SDK's document type to serde_json (the tool's input).
pub fn to_value(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Document::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_and_prices_are_matched_without_region_prefixes() {
        assert!(can_force_one_tool("amazon.nova-micro-v1:0"));
        assert!(can_force_one_tool("us.amazon.nova-micro-v1:0"));
        assert!(can_force_one_tool(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(!can_force_one_tool("meta.llama3-8b-instruct-v1:0"));
        assert_eq!(price_of("apac.amazon.nova-micro-v1:0"), Some((0.035, 0.14)));
        assert_eq!(price_of("mistral.mistral-7b-instruct-v0:2"), None);
    }

    #[test]
    fn documents_round_trip_through_json() {
        let v = serde_json::json!({"a": [1, -2, 0.5, "x", null, true], "b": {}});
        assert_eq!(to_value(&to_document(&v)), v);
    }
}
