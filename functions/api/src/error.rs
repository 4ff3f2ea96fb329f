//! One place that turns errors into HTTP answers (problem+json, RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callcoach_shared::ports::StoreError;
use callcoach_shared::usecases::call_changes::ChangeError;
use callcoach_shared::usecases::deletion::DeletionError;
use callcoach_shared::usecases::export_job::QueueExportError;
use callcoach_shared::usecases::new_call::NewCallError;
use callcoach_shared::usecases::practice::PracticeError;
use callcoach_shared::usecases::prep::PrepError;
use callcoach_shared::usecases::teams::TeamError;
use callcoach_shared::usecases::workspace::WorkspaceError;

/// The one answer for "not yours" and "does not exist": byte-identical, whatever the route.
pub const NOT_FOUND_BODY: &str = r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"The resource does not exist."}"#;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("missing or invalid identity")]
    Unauthorized,
    /// The workspace is cancelled or suspended: reads and exports work, changes do not.
    #[error("the workspace is locked")]
    Locked,
    /// The workspace was deleted: nothing of it is served any more.
    #[error("the workspace was deleted")]
    Gone,
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Over a quota of the workspace: try again once the period ends.
    #[error("over the workspace's {meter} quota")]
    TooManyRequests {
        meter: &'static str,
        retry_after: std::time::Duration,
    },
    /// The request outlasted the time API Gateway waits.
    #[error("the request took too long")]
    TimedOut,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor(_) => {
                ApiError::BadRequest("cursor: not valid for this listing".into())
            }
            StoreError::StaleTransition { .. } => {
                ApiError::Conflict("the call changed meanwhile; retry")
            }
            StoreError::Conflict => ApiError::Conflict("the record changed meanwhile; retry"),
            // A record the request names is not there (the workspace record before
            // provisioning): the one 404.
            StoreError::NotFound => ApiError::NotFound,
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

/// Failures of the backends behind a route: a 500 that keeps its cause for the log.
macro_rules! internal_from {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                ApiError::Internal(Box::new(e))
            }
        }
    )*};
}

internal_from!(
    callcoach_shared::ports::QueueError,
    callcoach_shared::ports::BlobError,
    callcoach_shared::usecases::documents::DocumentError,
    callcoach_shared::usecases::progress::ProgressError,
    callcoach_shared::crypto::CryptoError,
    callcoach_shared::crypto::bundle::BundleCryptoError,
    serde_json::Error,
    callcoach_shared::usecases::export::WithdrawalError,
    callcoach_shared::usecases::playbooks::PlaybookError,
);

impl From<callcoach_shared::usecases::call_listing::ListingError> for ApiError {
    fn from(e: callcoach_shared::usecases::call_listing::ListingError) -> Self {
        use callcoach_shared::usecases::call_listing::ListingError;
        match e {
            ListingError::Store(store) => store.into(),
            ListingError::Crypto(crypto) => crypto.into(),
        }
    }
}

impl From<callcoach_shared::usecases::calls::CallError> for ApiError {
    fn from(e: callcoach_shared::usecases::calls::CallError) -> Self {
        use callcoach_shared::usecases::calls::CallError;
        match e {
            CallError::NotFound => ApiError::NotFound,
            CallError::Store(store) => store.into(),
            CallError::Illegal(_) => ApiError::Conflict("the call cannot make that change now"),
            CallError::Queue(queue) => queue.into(),
        }
    }
}

impl From<NewCallError> for ApiError {
    fn from(e: NewCallError) -> Self {
        match e {
            NewCallError::NotAllowed => ApiError::NotFound,
            NewCallError::OverQuota { meter, retry_after } => ApiError::TooManyRequests {
                meter: meter.as_str(),
                retry_after,
            },
            NewCallError::Call(e) => e.into(),
            NewCallError::Store(e) => e.into(),
            NewCallError::Blob(e) => e.into(),
            NewCallError::Crypto(e) => e.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::NotFound => ApiError::NotFound,
            ChangeError::TranscriptChanged => {
                ApiError::Conflict("the call's transcript changed meanwhile; retry")
            }
            ChangeError::UnknownSpeaker => {
                ApiError::BadRequest("speaker: not a speaker of this call's transcript".into())
            }
            ChangeError::NothingToScore => {
                ApiError::Conflict("the call has no transcript to score yet")
            }
            ChangeError::AnalysisHeld => ApiError::Conflict(
                "the call is under legal hold; its analysis stays as it is until the hold is lifted",
            ),
            ChangeError::WorkspaceHeld => ApiError::Conflict(
                "the workspace is under legal hold; analyses stay as they are until it is lifted",
            ),
            ChangeError::DeletionHeld => {
                ApiError::Conflict("the call is under legal hold; lift the hold before deleting it")
            }
            ChangeError::Store(e) => e.into(),
            ChangeError::Queue(e) => e.into(),
            ChangeError::Document(e) => e.into(),
            ChangeError::Progress(e) => e.into(),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::NoTeam => ApiError::NotFound,
            TeamError::LastOwner => ApiError::Conflict("a team needs at least one owner"),
            TeamError::Store(e) => e.into(),
            TeamError::Crypto(e) => e.into(),
        }
    }
}

impl From<PrepError> for ApiError {
    fn from(e: PrepError) -> Self {
        match e {
            PrepError::MissingAnalysis => ApiError::NotFound,
            PrepError::Store(e) => e.into(),
            PrepError::Document(e) => e.into(),
            PrepError::Playbook(e) => e.into(),
            PrepError::Crypto(e) => e.into(),
        }
    }
}

impl From<PracticeError> for ApiError {
    fn from(e: PracticeError) -> Self {
        match e {
            PracticeError::Document(inner) => inner.into(),
            refused => ApiError::BadRequest(refused.to_string()),
        }
    }
}

impl From<callcoach_shared::usecases::export::ExportError> for ApiError {
    fn from(e: callcoach_shared::usecases::export::ExportError) -> Self {
        use callcoach_shared::usecases::export::ExportError;
        match e {
            ExportError::Withdrawn => ApiError::Conflict(
                "a deletion withdrew the workspace's exports while this one was written; export again",
            ),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<QueueExportError> for ApiError {
    fn from(e: QueueExportError) -> Self {
        match e {
            QueueExportError::OverQuota { meter, retry_after } => ApiError::TooManyRequests {
                meter: meter.as_str(),
                retry_after,
            },
            QueueExportError::Store(e) => e.into(),
            QueueExportError::Queue(e) => e.into(),
        }
    }
}

impl From<DeletionError> for ApiError {
    fn from(e: DeletionError) -> Self {
        match e {
            DeletionError::NotFound => ApiError::NotFound,
            DeletionError::LegalHold => {
                ApiError::Conflict("a legal hold covers data in this scope; lift it first")
            }
            DeletionError::Contended => ApiError::Conflict("a call changed meanwhile; retry"),
            DeletionError::Final => {
                ApiError::Conflict("the grace period is over; the deletion is final")
            }
            DeletionError::LastOwner => {
                ApiError::Conflict("the user is the last owner of a team; name another owner first")
            }
            DeletionError::Store(e) => e.into(),
        }
    }
}

impl From<WorkspaceError> for ApiError {
    fn from(e: WorkspaceError) -> Self {
        match e {
            WorkspaceError::NotAdmin => ApiError::NotFound,
            WorkspaceError::LastAdmin => {
                ApiError::Conflict("a workspace needs at least one admin; name another first")
            }
            WorkspaceError::Closed => ApiError::Gone,
            // Provisioning is not an API route; an admin route cannot meet it.
            WorkspaceError::AlreadyProvisioned => {
                ApiError::Conflict("the workspace exists already")
            }
            WorkspaceError::Store(e) => e.into(),
        }
    }
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({"type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail});
    with_problem_type(status, body.to_string())
}

fn with_problem_type(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => {
                with_problem_type(StatusCode::NOT_FOUND, NOT_FOUND_BODY.to_owned())
            }
            ApiError::Unauthorized => problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "A verified identity with a tenant is required.",
            ),
            ApiError::Locked => problem(
                StatusCode::FORBIDDEN,
                "Workspace locked",
                "the workspace is cancelled or suspended: reads and exports still work, changes do not",
            ),
            ApiError::Gone => problem(
                StatusCode::GONE,
                "Workspace deleted",
                "this workspace was deleted; its data is unreadable and is being purged",
            ),
            ApiError::BadRequest(detail) => {
                problem(StatusCode::BAD_REQUEST, "Bad Request", &detail)
            }
            ApiError::PayloadTooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                "The request body is too large.",
            ),
            ApiError::Conflict(detail) => problem(StatusCode::CONFLICT, "Conflict", detail),
            ApiError::TooManyRequests { meter, retry_after } => {
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    &format!(
                        "the workspace's {meter} quota for this period is spent; try again after Retry-After seconds"
                    ),
                );
                let seconds = retry_after.as_secs().max(1).to_string();
                if let Ok(value) = HeaderValue::from_str(&seconds) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            ApiError::TimedOut => {
                tracing::error!("request cut off at the gateway's wait");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    "The request took too long; try again.",
                )
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %callcoach_shared::telemetry::Chain(source.as_ref()), "request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "Something went wrong on our side.",
                )
            }
        }
    }
}
