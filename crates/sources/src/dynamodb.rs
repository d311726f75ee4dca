//! Cursors in DynamoDB: one item per source key, written with a condition on the version that
//! was read, so two overlapping invocations cannot both advance the same cursor.
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>
//!
//! Table: partition key `source` (S). Item: `source`, `position` (S), `version` (N),
//! `updated_at` (S, RFC 3339, for people reading the table).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use ks_producer::synthetic::rfc3339_ms;
use ks_producer::{Cursor, CursorError, CursorStore};

use ks_kernel::error::describe;

#[derive(Debug, Clone)]
pub struct DynamoCursorStore {
    client: Client,
    table: String,
}

impl DynamoCursorStore {
    /// `CURSOR_TABLE`, required with `CURSOR_STORE=dynamodb`.
    pub fn table_from_env<F: Fn(&str) -> Option<String>>(
        env: &ks_kernel::env::Env<'_, F>,
    ) -> Result<String, ks_kernel::env::ConfigError> {
        env.get("CURSOR_TABLE")
            .ok_or_else(|| env.invalid("CURSOR_TABLE", "required when CURSOR_STORE=dynamodb"))
    }

    /// Client settings for this store: every call (its retries included) ends within
    /// `timeout`, so a stalled read or write of the cursor cannot run into the Lambda's own
    /// timeout; the SDK's standard retries stay on inside it.
    pub fn configure(
        builder: aws_sdk_dynamodb::config::Builder,
        timeout: Duration,
    ) -> aws_sdk_dynamodb::config::Builder {
        builder.timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_timeout(timeout)
                .build(),
        )
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCursorStore {
            client,
            table: table.into(),
        }
    }
}

impl CursorStore for DynamoCursorStore {
    async fn load(&self, key: &str) -> Result<Option<Cursor>, CursorError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("source", AttributeValue::S(key.to_owned()))
            // A strongly consistent read, so a cursor written a moment ago is seen.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| CursorError::Unavailable {
                key: key.to_owned(),
                reason: describe(&e),
            })?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let corrupt = |reason: &str| CursorError::Corrupt {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        let position = match item.get("position") {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => return Err(corrupt("`position` is missing or not a string")),
        };
        let version = match item.get("version") {
            Some(AttributeValue::N(n)) => n
                .parse::<u64>()
                .map_err(|_| corrupt("`version` is not a whole number"))?,
            _ => return Err(corrupt("`version` is missing or not a number")),
        };
        Ok(Some(Cursor { position, version }))
    }

    async fn save(
        &self,
        key: &str,
        expected: Option<&Cursor>,
        position: &str,
    ) -> Result<Cursor, CursorError> {
        let version = expected.map_or(1, |c| c.version + 1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("source", AttributeValue::S(key.to_owned()))
            .item("position", AttributeValue::S(position.to_owned()))
            .item("version", AttributeValue::N(version.to_string()))
            .item("updated_at", AttributeValue::S(rfc3339_ms(now)));
        put = match expected {
            // `source` is a reserved word, hence the placeholder.
            None => put
                .condition_expression("attribute_not_exists(#s)")
                .expression_attribute_names("#s", "source"),
            Some(c) => put
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", AttributeValue::N(c.version.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(Cursor {
                position: position.to_owned(),
                version,
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(CursorError::Conflict {
                    key: key.to_owned(),
                    expected: expected.map_or(0, |c| c.version),
                })
            }
            Err(e) => Err(CursorError::Unavailable {
                key: key.to_owned(),
                reason: describe(&e),
            }),
        }
    }
}
