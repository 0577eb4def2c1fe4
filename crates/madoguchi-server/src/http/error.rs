//! The one error type of the HTTP layer.
//!
//! A handler returns `AppError`; the response carries an [`ErrorReport`] extension and no body,
//! and [`crate::http::context::request_context`] renders it once, as JSON for `/api/` and as a
//! page otherwise, in the caller's language. Server errors are logged with their detail here
//! and never shown to the user.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_storage::StorageError;
use serde::Serialize;

pub use madoguchi_usecases::FieldError;
use madoguchi_usecases::UseCaseError;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub status: StatusCode,
    pub fields: Vec<FieldError>,
    pub retry_after_s: Option<u64>,
    /// What went wrong inside, for the log only.
    internal: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

/// The status each code answers with. One table, so the API and the pages agree.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        ValidationFailed
        | Required
        | InvalidEmail
        | InvalidDisplayName
        | PasswordTooShort
        | PasswordTooLong
        | PasswordTooCommon
        | PasswordContainsEmail
        | InvalidOrgCode
        | InvalidOrgName
        | InvalidRoleScope
        | InvalidTenantSlug
        | ControlCharacter
        | TextTooLong
        | DateOutOfRange
        | UnknownQuestion
        | AnswerRequired
        | AnswerNotText
        | AnswerNotYesNo
        | AnswerUnknownOption
        | AnswerNotInteger
        | AnswerNotDate
        | AnswerOutOfRange
        | IneligibleAge
        | IneligibleSex
        | IneligibleNonResident
        | BirthDateRequired
        | InvalidIdempotencyKey
        | IdempotencyKeyReused
        | InvalidServiceRules
        | InvalidHolidayFile
        | AmountNotPositive
        | AmountOverLimit
        | CurrencyNotJpy
        | InvalidRevenueCategory
        | PaymentMethodNotOffered
        | TaxNotPayableAtCounter
        | PaymentExceedsOutstanding
        | MixedPaymentMethods
        | InstalmentsNotAllowed
        | SlipNumberRequired
        | InvalidSlipNumber
        | RefundExceedsPaid
        | ExemptionNotEligible => StatusCode::UNPROCESSABLE_ENTITY,
        ReceivableClosed
        | ReceivableAlreadyPaid
        | ReceivableHasPayments
        | PaymentInProgress
        | RefundNotPending
        | PaymentNotRefundable
        | PaymentRequired
        | QueueClosed
        | QueueFullToday
        | QueuePrefixTaken
        | QueueExists
        | TicketStateConflict
        | RoomEnded => StatusCode::CONFLICT,
        GrantInvalid | GrantExpired => StatusCode::UNAUTHORIZED,
        SignallingInvalid => StatusCode::BAD_REQUEST,
        MediaUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        JoinNotOpenYet | JoinClosed | NotJoinable => StatusCode::CONFLICT,
        SlipsNotConfigured | SlipNothingToIssue | SlipReissueLimit | SlipNotReissuable => {
            StatusCode::CONFLICT
        }
        SlipAmountTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
        FacilityUnitTaken | FacilityBookingNotHolding => StatusCode::CONFLICT,
        LotteryDrawn | LotteryOverCap | LotteryInputsChanged => StatusCode::CONFLICT,
        RefundSelfApproval => StatusCode::FORBIDDEN,
        WebhookSignatureInvalid => StatusCode::BAD_REQUEST,
        PaymentProviderUnavailable => StatusCode::BAD_GATEWAY,
        SlotFull
        | BookingNotOpen
        | BookingClosed
        | BookingDayClosed
        | PersonalLimitReached
        | HoldExpired
        | CancellationDeadlinePassed
        | ReservationNotActive
        | BookingSuspended
        | WaitlistUnavailable
        | WaitlistSeatsLeft
        | AlreadyBooked
        | AlreadyWaiting
        | ChangeToOtherService
        | ChangeDeadlinePassed => StatusCode::CONFLICT,
        MalformedJson | TokenInvalid => StatusCode::BAD_REQUEST,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        EmailTaken | OrgCodeTaken | Conflict | LastAdmin | CapabilityNotBuilt => {
            StatusCode::CONFLICT
        }
        InvalidCredentials | Unauthenticated => StatusCode::UNAUTHORIZED,
        EmailNotVerified | Forbidden | CsrfFailed => StatusCode::FORBIDDEN,
        AccountLocked => StatusCode::LOCKED,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        TenantUnknown | NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl AppError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            status: status_of(code),
            fields: Vec::new(),
            retry_after_s: None,
            internal: None,
        }
    }

    /// A validation failure naming the offending fields.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        let code = match fields.as_slice() {
            [only] => only.code,
            _ => ErrorCode::ValidationFailed,
        };
        Self {
            fields,
            ..Self::new(code)
        }
    }

    pub fn field(field: &str, code: ErrorCode) -> Self {
        Self::fields(vec![FieldError {
            field: field.to_owned(),
            code,
        }])
    }

    /// An unexpected failure: logged with `detail`, shown as a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self {
            internal: Some(detail.to_string()),
            ..Self::new(ErrorCode::Internal)
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            code: self.code,
            fields: self.fields.clone(),
            retry_after_s: self.retry_after_s,
        }
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        UseCaseError::from(error).into()
    }
}

/// The one mapping from a use case's outcome to HTTP: the code decides the status.
impl From<UseCaseError> for AppError {
    fn from(error: UseCaseError) -> Self {
        Self {
            code: error.code,
            status: status_of(error.code),
            fields: error.fields,
            retry_after_s: error.retry_after_s,
            internal: error.internal,
        }
    }
}

impl From<madoguchi_domain::ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        AppError::new(code)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, detail = self.internal.as_deref().unwrap_or(""), "request failed");
        }
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self.report());
        response
    }
}

/// Carried on an error response until the context middleware renders it.
#[derive(Clone, Debug)]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub fields: Vec<FieldError>,
    pub retry_after_s: Option<u64>,
}

/// The JSON error body of the API.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code.
    pub code: ErrorCode,
    /// Human-readable message in the requested language.
    pub message: String,
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorReport {
    pub fn body(&self, lang: Lang) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.code.message(lang).to_owned(),
                fields: self
                    .fields
                    .iter()
                    .map(|f| FieldErrorBody {
                        field: f.field.clone(),
                        code: f.code,
                        message: f.code.message(lang).to_owned(),
                    })
                    .collect(),
            },
        }
    }
}
