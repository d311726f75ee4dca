//! The SDK clients `put` uses, from the standard AWS configuration (env, profiles, SSO) with an
//! optional region and endpoint from the command line (for emulators and stand-ins).

use aws_config::{BehaviorVersion, Region};
use ks_sources::kinesis::KinesisSink;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region), or pass --region"
    )]
    NoRegion,
}

pub struct Clients {
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
}

/// Loads the configuration once and builds both clients. An `endpoint_url` serves both (an
/// emulator answers every service on one port) and switches S3 to path-style addressing, which
/// local endpoints need.
pub async fn clients(
    region: Option<String>,
    endpoint_url: Option<String>,
) -> Result<Clients, ConfigError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    if let Some(url) = &endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(ConfigError::NoRegion);
    }
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        KinesisSink::configure(aws_sdk_kinesis::config::Builder::from(&sdk)).build(),
    );
    // A stalled transfer fails instead of hanging; a large object streams while it moves.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(endpoint_url.is_some())
            .timeout_config(ks_aws::s3_timeouts())
            .build(),
    );
    Ok(Clients { kinesis, s3 })
}
