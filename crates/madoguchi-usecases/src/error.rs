//! The one error type of the use cases: a stable [`ErrorCode`] (which the server turns into a
//! status and a message in the caller's language), the fields at fault, and, for failures the
//! user cannot fix, a detail kept for the log.

use madoguchi_domain::ErrorCode;
use madoguchi_storage::{Refusal, StorageError};

/// A problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: ErrorCode,
}

impl FieldError {
    pub fn new(field: &str, code: ErrorCode) -> Self {
        Self {
            field: field.to_owned(),
            code,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{code}")]
pub struct UseCaseError {
    pub code: ErrorCode,
    pub fields: Vec<FieldError>,
    /// Seconds after which trying again may succeed (an unreachable database).
    pub retry_after_s: Option<u64>,
    /// What went wrong inside, for the log only; never shown to the user.
    pub internal: Option<String>,
}

pub type UseCaseResult<T> = Result<T, UseCaseError>;

impl UseCaseError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            fields: Vec::new(),
            retry_after_s: None,
            internal: None,
        }
    }

    /// A validation failure naming the offending fields; the code of the only field when
    /// there is one, `validation_failed` when there are several.
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
        Self::fields(vec![FieldError::new(field, code)])
    }

    /// An unexpected failure: the detail goes to the log, the user sees a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self {
            internal: Some(detail.to_string()),
            ..Self::new(ErrorCode::Internal)
        }
    }
}

impl From<ErrorCode> for UseCaseError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

/// The one translation of storage outcomes into codes: unique violations name their field,
/// other constraints are invalid input, refusals keep their meaning, an unreachable database
/// asks to retry.
impl From<StorageError> for UseCaseError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => Self::new(ErrorCode::NotFound),
            StorageError::Duplicate { constraint } => match constraint.as_str() {
                "accounts_email" => Self::field("email", ErrorCode::EmailTaken),
                "offices_code" | "departments_code" | "services_code" => {
                    Self::field("code", ErrorCode::OrgCodeTaken)
                }
                "waitlist_one_per_resident" => Self::new(ErrorCode::AlreadyWaiting),
                _ => Self::new(ErrorCode::Conflict),
            },
            StorageError::Constraint { .. } => Self::new(ErrorCode::ValidationFailed),
            StorageError::LastAdmin => Self::new(ErrorCode::LastAdmin),
            // The code a booking of such a service answered when rules were parsed on use.
            StorageError::UnreadableRules(_) => Self::new(ErrorCode::InvalidServiceRules),
            StorageError::Refused(refusal) => Self::new(match refusal {
                Refusal::SlotFull => ErrorCode::SlotFull,
                Refusal::PersonalLimit => ErrorCode::PersonalLimitReached,
                Refusal::StaleHold => ErrorCode::HoldExpired,
                Refusal::NotActive => ErrorCode::ReservationNotActive,
                Refusal::SeatsLeft => ErrorCode::WaitlistSeatsLeft,
                Refusal::AlreadyBooked => ErrorCode::AlreadyBooked,
                Refusal::OtherService => ErrorCode::ChangeToOtherService,
                Refusal::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            }),
            StorageError::PaymentRule(code)
            | StorageError::CounterRule(code)
            | StorageError::SlipRule(code)
            | StorageError::FacilityRule(code) => Self::new(code),
            StorageError::Unavailable(detail) => Self {
                internal: Some(detail),
                retry_after_s: Some(5),
                ..Self::new(ErrorCode::Unavailable)
            },
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_email_names_the_email_field() {
        let error = UseCaseError::from(StorageError::Duplicate {
            constraint: "accounts_email".into(),
        });
        assert_eq!(error.code, ErrorCode::EmailTaken);
        assert_eq!(
            error.fields,
            vec![FieldError::new("email", ErrorCode::EmailTaken)]
        );
    }

    #[test]
    fn an_unreachable_database_asks_to_retry_and_keeps_its_detail_for_the_log() {
        let error = UseCaseError::from(StorageError::Unavailable("pool timed out".into()));
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert_eq!(error.retry_after_s, Some(5));
        assert_eq!(error.internal.as_deref(), Some("pool timed out"));
    }

    #[test]
    fn several_bad_fields_report_a_general_validation_failure() {
        let error = UseCaseError::fields(vec![
            FieldError::new("code", ErrorCode::InvalidOrgCode),
            FieldError::new("name_ja", ErrorCode::InvalidOrgName),
        ]);
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(error.fields.len(), 2);
    }
}
