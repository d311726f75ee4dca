//! The one classifier of AWS SDK errors: every adapter hands its SDK failures here and gets a
//! [`CallError`] back (throttled, transient, timeout or permanent), so the domains and the
//! retry driver never see an error-code string.
//!
//! Transport failures are classified by kind; a service's answer by its error code first (each
//! service adds its own throttling and transient codes to the common ones), then by the HTTP
//! status. <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ks_kernel::error::{CallError, ErrorClass, describe};

/// Error codes a service uses beyond the common ones.
#[derive(Debug, Clone, Copy)]
pub struct ServiceCodes {
    /// Codes that mean "slow down".
    pub throttling: &'static [&'static str],
    /// Codes of a failure on the service's side, worth trying again.
    pub transient: &'static [&'static str],
    /// Codes that are never retried, whatever their HTTP status says.
    pub permanent: &'static [&'static str],
}

/// Throttling codes every service may answer.
pub const COMMON_THROTTLING: [&str; 4] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Server-side failure codes every service may answer.
pub const COMMON_TRANSIENT: [&str; 4] = [
    "InternalServerException",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Amazon Comprehend.
/// <https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html>
pub const COMPREHEND: ServiceCodes = ServiceCodes {
    throttling: &["ProvisionedThroughputExceededException"],
    transient: &[],
    permanent: &[],
};

/// Kinesis Data Streams.
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>
pub const KINESIS: ServiceCodes = ServiceCodes {
    throttling: &[
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
        "LimitExceededException",
    ],
    transient: &["InternalFailureException"],
    permanent: &[],
};

/// DynamoDB. <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>
pub const DYNAMODB: ServiceCodes = ServiceCodes {
    throttling: &[
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
    ],
    transient: &["InternalServerError"],
    permanent: &[],
};

/// Amazon Bedrock Runtime (Converse). Its errors are told apart by their type only:
/// ModelNotReadyException is a 429 like throttling, ModelTimeoutException a 408, and
/// ModelErrorException a 424. Access and validation errors are permanent.
/// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors>
pub const BEDROCK: ServiceCodes = ServiceCodes {
    throttling: &["ThrottlingException", "ServiceQuotaExceededException"],
    transient: &[
        "ModelNotReadyException",
        "ModelTimeoutException",
        "ServiceUnavailableException",
        "InternalServerException",
    ],
    permanent: &[
        "ModelErrorException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ValidationException",
    ],
};

/// Amazon Athena: `TooManyRequestsException` is its throttling; an invalid query is permanent.
/// <https://docs.aws.amazon.com/athena/latest/APIReference/CommonErrors.html>
pub const ATHENA: ServiceCodes = ServiceCodes {
    throttling: &["TooManyRequestsException"],
    transient: &["InternalServerException"],
    permanent: &["InvalidRequestException", "ResourceNotFoundException"],
};

/// Services with no codes of their own (SSM, S3, Lambda's Invoke API).
pub const GENERIC: ServiceCodes = ServiceCodes {
    throttling: &[],
    transient: &[],
    permanent: &[],
};

/// The status of a raw response, so [`classify`] works with any response type.
pub trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The class of a service's answer with this code and HTTP status.
pub fn class_of(code: Option<&str>, status: u16, service: &ServiceCodes) -> ErrorClass {
    let is = |list: &[&str]| code.is_some_and(|c| list.contains(&c));
    // A known code decides; the status only speaks for codes we do not know.
    if is(&COMMON_THROTTLING) || is(service.throttling) {
        ErrorClass::Throttled
    } else if is(&COMMON_TRANSIENT) || is(service.transient) {
        ErrorClass::Transient
    } else if is(service.permanent) {
        ErrorClass::Permanent
    } else if status == 429 {
        ErrorClass::Throttled
    } else if status >= 500 {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    }
}

/// The service's error code of a failure, if the service answered one.
pub fn code_of<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

/// Sorts an SDK failure into a [`CallError`].
pub fn classify<E, R>(err: &SdkError<E, R>, service: &ServiceCodes) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => CallError::Timeout(0),
        SdkError::DispatchFailure(e) if e.is_user() => CallError::Permanent(describe(err)),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            CallError::Transient(describe(err))
        }
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let message = format!(
                "{}: {}",
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or_default()
            );
            CallError::new(class_of(e.code(), ctx.raw().status(), service), message)
        }
        _ => CallError::Permanent(describe(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_before_statuses() {
        // GIVEN answers as services send them THEN the code decides, then the status
        for (code, status, service, class) in [
            (
                Some("ThrottlingException"),
                400,
                &GENERIC,
                ErrorClass::Throttled,
            ),
            // Athena throttles with a 400 of its own code; a bad query is permanent even
            // when a proxy answers it with a 5xx.
            (
                Some("TooManyRequestsException"),
                400,
                &ATHENA,
                ErrorClass::Throttled,
            ),
            (
                Some("InvalidRequestException"),
                500,
                &ATHENA,
                ErrorClass::Permanent,
            ),
            (
                Some("InternalServerException"),
                500,
                &ATHENA,
                ErrorClass::Transient,
            ),
            (
                Some("ProvisionedThroughputExceededException"),
                400,
                &KINESIS,
                ErrorClass::Throttled,
            ),
            (
                Some("ProvisionedThroughputExceededException"),
                400,
                &GENERIC,
                ErrorClass::Permanent,
            ),
            (
                Some("KMSThrottlingException"),
                400,
                &KINESIS,
                ErrorClass::Throttled,
            ),
            (
                Some("InternalFailure"),
                400,
                &KINESIS,
                ErrorClass::Transient,
            ),
            (
                Some("InternalServerException"),
                400,
                &COMPREHEND,
                ErrorClass::Transient,
            ),
            (
                Some("InternalServerError"),
                400,
                &DYNAMODB,
                ErrorClass::Transient,
            ),
            (None, 429, &GENERIC, ErrorClass::Throttled),
            (None, 503, &GENERIC, ErrorClass::Transient),
            (
                Some("ValidationException"),
                400,
                &COMPREHEND,
                ErrorClass::Permanent,
            ),
            (
                Some("ResourceNotFoundException"),
                400,
                &KINESIS,
                ErrorClass::Permanent,
            ),
            // Bedrock: the type decides, not the status
            (
                Some("ModelNotReadyException"),
                429,
                &BEDROCK,
                ErrorClass::Transient,
            ),
            (
                Some("ThrottlingException"),
                429,
                &BEDROCK,
                ErrorClass::Throttled,
            ),
            (
                Some("ModelTimeoutException"),
                408,
                &BEDROCK,
                ErrorClass::Transient,
            ),
            (
                Some("ModelErrorException"),
                424,
                &BEDROCK,
                ErrorClass::Permanent,
            ),
            (
                Some("ServiceUnavailableException"),
                503,
                &BEDROCK,
                ErrorClass::Transient,
            ),
            (
                Some("InternalServerException"),
                500,
                &BEDROCK,
                ErrorClass::Transient,
            ),
            (
                Some("AccessDeniedException"),
                403,
                &BEDROCK,
                ErrorClass::Permanent,
            ),
            (
                Some("ValidationException"),
                400,
                &BEDROCK,
                ErrorClass::Permanent,
            ),
            (
                Some("ModelStreamErrorException"),
                424,
                &BEDROCK,
                ErrorClass::Permanent,
            ),
            (None, 408, &BEDROCK, ErrorClass::Permanent),
        ] {
            assert_eq!(class_of(code, status, service), class, "{code:?} {status}");
        }
    }
}
