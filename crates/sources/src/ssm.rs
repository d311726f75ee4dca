//! Secrets by name from SSM Parameter Store (`GetParameter`, decrypted). Secrets Manager secrets
//! are read through the same call as `/aws/reference/secretsmanager/<secret-name>`, so one client
//! serves both and the function needs no Secrets Manager SDK.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html>

use aws_sdk_ssm::Client;

use ks_kernel::error::describe;

/// The prefix under which Parameter Store exposes Secrets Manager secrets.
pub const SECRETS_MANAGER_PREFIX: &str = "/aws/reference/secretsmanager/";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret {name}: no such parameter (or secret) in this account and region")]
    NotFound { name: String },
    #[error("secret {name}: the parameter has no value")]
    Empty { name: String },
    #[error("secret {name}: cannot be read: {reason}")]
    Unavailable { name: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct SsmSecrets {
    client: Client,
}

/// The most one secret lookup may take, its retries included: lookups run at cold start,
/// and Lambda's init phase has 10 s in all.
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl SsmSecrets {
    /// Client settings for secret lookups: each ends within [`LOOKUP_TIMEOUT`].
    pub fn configure(builder: aws_sdk_ssm::config::Builder) -> aws_sdk_ssm::config::Builder {
        builder.timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_timeout(LOOKUP_TIMEOUT)
                .build(),
        )
    }

    pub fn new(client: Client) -> Self {
        SsmSecrets { client }
    }

    /// The decrypted value of parameter `name` (or Secrets Manager secret, by its reference name).
    pub async fn get(&self, name: &str) -> Result<String, SecretError> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            // Required for SecureString values, and for every Secrets Manager reference.
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_parameter_not_found() => SecretError::NotFound {
                    name: name.to_owned(),
                },
                _ => SecretError::Unavailable {
                    name: name.to_owned(),
                    reason: describe(&e),
                },
            })?;
        out.parameter()
            .and_then(|p| p.value())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| SecretError::Empty {
                name: name.to_owned(),
            })
    }
}
