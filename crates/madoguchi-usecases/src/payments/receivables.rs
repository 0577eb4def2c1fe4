//! Receivables (調定): assessing what someone owes (staff at a counter, finance, or the system
//! for a booking's fee), cancelling or writing one off, and finding them.

use super::hidden;
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, ErrorCode, OfficeId, ReceivableId};
use madoguchi_payments::{PaymentAmount, ReceivableStatus, RevenueCategoryCode};
use madoguchi_storage::{AuditStore, NewReceivable, PaymentStore, Receivable, ReceivableFilter};
use time::{Date, Duration};

pub const DESCRIPTION_MAX_CHARS: usize = 200;
pub const PAYER_NAME_MAX_CHARS: usize = 100;
/// A receivable is due this long after it is assessed unless the caller says otherwise.
pub const DEFAULT_DUE_IN: Duration = Duration::days(30);

/// What is assessed.
#[derive(Clone, Debug, Default)]
pub struct AssessInput {
    pub category: String,
    pub description: String,
    pub payer_name: String,
    pub payer_account: Option<AccountId>,
    pub office: Option<OfficeId>,
    pub amount_yen: String,
    pub due_on: Option<Date>,
    /// What it is for, when something else owns it (`reservation`, id).
    pub source: Option<(String, String)>,
}

fn may_assess(scope: &Scope, access: Option<&StaffAccess>, office: Option<OfficeId>) -> bool {
    match scope.actor {
        Actor::System | Actor::Operator => true,
        Actor::Staff(_) => {
            access.is_some_and(|a| a.may_read_finance() || a.may_take_counter_payment(office))
        }
        Actor::Resident(_) | Actor::Anonymous => false,
    }
}

/// Assesses a receivable and posts it. Every problem with the input is reported at once.
pub async fn assess<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    input: &AssessInput,
) -> UseCaseResult<Receivable> {
    if !may_assess(scope, access, input.office) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let mut problems = Vec::new();
    let category = match RevenueCategoryCode::parse(input.category.trim()) {
        Ok(code) => {
            let known = store.revenue_categories(scope.tenant).await?;
            if known.iter().any(|c| c.code == code) {
                Some(code)
            } else {
                problems.push(crate::FieldError::new(
                    "category",
                    ErrorCode::InvalidRevenueCategory,
                ));
                None
            }
        }
        Err(code) => {
            problems.push(crate::FieldError::new("category", code));
            None
        }
    };
    let text = |field: &str, raw: &str, max: usize, problems: &mut Vec<crate::FieldError>| {
        match madoguchi_domain::text::bounded_text(raw, max) {
            Ok(Some(t)) => Some(t.to_owned()),
            Ok(None) => {
                problems.push(crate::FieldError::new(field, ErrorCode::Required));
                None
            }
            Err(code) => {
                problems.push(crate::FieldError::new(field, code));
                None
            }
        }
    };
    let description = text(
        "description",
        &input.description,
        DESCRIPTION_MAX_CHARS,
        &mut problems,
    );
    let payer_name = text(
        "payer_name",
        &input.payer_name,
        PAYER_NAME_MAX_CHARS,
        &mut problems,
    );
    let amount = match input
        .amount_yen
        .trim()
        .replace([',', '，', '¥', '円'], "")
        .parse::<i64>()
    {
        Ok(yen) => PaymentAmount::new(yen)
            .map_err(|code| problems.push(crate::FieldError::new("amount_yen", code)))
            .ok(),
        Err(_) => {
            problems.push(crate::FieldError::new(
                "amount_yen",
                ErrorCode::AmountNotPositive,
            ));
            None
        }
    };
    let now = scope.now();
    let today = madoguchi_domain::tokyo::to_tokyo(now).date();
    let due_on = input.due_on.unwrap_or(today + DEFAULT_DUE_IN);
    if !madoguchi_domain::tokyo::is_supported_date(due_on) {
        problems.push(crate::FieldError::new("due_on", ErrorCode::DateOutOfRange));
    }
    let (Some(category), Some(description), Some(payer_name), Some(amount), true) = (
        category,
        description,
        payer_name,
        amount,
        problems.is_empty(),
    ) else {
        return Err(UseCaseError::fields(problems));
    };
    let id = ReceivableId::new();
    let new = NewReceivable {
        id,
        category: category.clone(),
        description,
        payer_account: input.payer_account,
        payer_name,
        office: input.office,
        fiscal_year: madoguchi_calendar::fiscal_year(today).0,
        due_on,
        amount,
        source: input.source.clone(),
        at: now,
    };
    let entry = audit::entry(
        scope,
        "receivable.assessed",
        Some(id.to_string()),
        serde_json::json!({"category": category.as_str(), "amount_yen": amount.get()}),
    );
    Ok(store.create_receivable(scope.tenant, &new, &entry).await?)
}

/// Cancels (調定取消) or writes off (不納欠損) a receivable: finance only, with a reason.
pub async fn close<S: PaymentStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    id: ReceivableId,
    write_off: bool,
    reason: &str,
) -> UseCaseResult<Receivable> {
    if !matches!(scope.actor, Actor::Staff(_)) || !access.may_read_finance() {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let reason = madoguchi_domain::text::bounded_text(reason, DESCRIPTION_MAX_CHARS)
        .map_err(|code| UseCaseError::field("reason", code))?
        .ok_or_else(|| UseCaseError::field("reason", ErrorCode::Required))?;
    let entry = audit::entry(
        scope,
        if write_off {
            "receivable.written_off"
        } else {
            "receivable.cancelled"
        },
        Some(id.to_string()),
        serde_json::json!({}),
    );
    Ok(store
        .close_receivable(scope.tenant, id, write_off, reason, scope.now(), &entry)
        .await?)
}

/// Finds receivables: a resident sees their own; staff what they may see.
pub async fn search<S: PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    text: Option<&str>,
    status: Option<ReceivableStatus>,
    limit: i64,
) -> UseCaseResult<Vec<Receivable>> {
    let text = match text {
        Some(raw) => madoguchi_domain::text::bounded_text(raw, 100)
            .map_err(|code| UseCaseError::field("q", code))?
            .map(str::to_owned),
        None => None,
    };
    let filter = ReceivableFilter {
        payer_account: match scope.actor {
            Actor::Resident(id) => Some(id),
            Actor::Anonymous => return Err(hidden()),
            _ => None,
        },
        status,
        category: None,
        text,
        limit: limit.clamp(1, 200),
    };
    let found = store.list_receivables(scope.tenant, &filter).await?;
    Ok(found
        .into_iter()
        .filter(|r| super::may_see_receivable(scope, access, r))
        .collect())
}
