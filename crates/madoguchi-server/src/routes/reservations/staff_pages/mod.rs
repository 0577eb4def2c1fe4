//! Staff pages for reservations: the day sheet (予約一覧) with attendance marking and its CSV
//! export, booking for a phone caller or a walk-in (代理予約) with a printable confirmation,
//! changing or cancelling a reservation for a resident, and the no-show suspensions with their
//! lifting.
//!
//! The pages work without JavaScript (links, plain forms, redirects). They do no booking logic
//! of their own: the use cases of [`madoguchi_usecases::reservations`] do the work, as for the API, and the day
//! sheet's rows come from [`day_sheet_rows`] and [`day_sheet_line`], so the API, the page and the
//! CSV show the same thing. Who may do what is
//! [`StaffAccess::may_handle_reservations`] alone.

mod day_sheet;
mod detail;
mod policy;
mod proxy;
mod suspensions;

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::present::answer_text;
use axum::Router;
use madoguchi_booking::ServiceRules;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang, ReservationId, ServiceId, SlotId};
use madoguchi_storage::{Department, Office, Reservation, Service};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::{self as uc, Bookable};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    day_sheet::router()
        .merge(detail::router())
        .merge(proxy::router())
        .merge(suspensions::router())
        .merge(policy::router())
}

/// How many days of sessions the proxy form lists at a time.
const PROXY_DAYS_LISTED: i64 = 31;

/// The CSV's header row. Japanese, as the offices' spreadsheets expect.
const CSV_HEADER: [&str; 13] = [
    "日付",
    "開始",
    "終了",
    "会場",
    "サービス",
    "氏名",
    "フリガナ",
    "電話番号",
    "メールアドレス",
    "状態",
    "回答",
    "職員による予約",
    "予約番号",
];

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// Every page here is for staff who handle reservations (not finance).
fn require_handler(staff: &StaffSession) -> AppResult<()> {
    if staff.access.handles_reservations() {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

fn text(lang: Lang, key: &str) -> String {
    crate::i18n::text(lang, key)
}

/// A refusal the page shows itself (with the form again); anything else goes to the error page.
fn shown_on_page(error: &AppError) -> bool {
    error.status.is_client_error()
        && !matches!(error.code, ErrorCode::NotFound | ErrorCode::Forbidden)
}

fn optional_uuid(field: &str, raw: &str) -> AppResult<Option<Uuid>> {
    match raw.trim() {
        "" => Ok(None),
        raw => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| AppError::field(field, ErrorCode::ValidationFailed)),
    }
}

/// The offices and departments whose reservations a staff member handles: what the filters
/// offer. An office is offered when some service there is theirs, a department when its
/// services are theirs at some office.
struct Scope {
    offices: Vec<Office>,
    departments: Vec<Department>,
}

async fn scope_of(state: &AppState, ctx: &Ctx, access: &StaffAccess) -> AppResult<Scope> {
    let all_offices = state.offices(ctx.tenant.id).await?;
    let all_departments = state.storage.list_departments(ctx.tenant.id).await?;
    let offices = all_offices
        .iter()
        .filter(|o| {
            access.may_handle_reservations(o.id, None)
                || all_departments
                    .iter()
                    .any(|d| access.may_handle_reservations(o.id, Some(d.id)))
        })
        .cloned()
        .collect();
    let departments = all_departments
        .into_iter()
        .filter(|d| {
            all_offices
                .iter()
                .any(|o| access.may_handle_reservations(o.id, Some(d.id)))
        })
        .collect();
    Ok(Scope {
        offices,
        departments,
    })
}

/// A reservation the staff member handles; another office's is forbidden.
async fn handled_reservation(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    id: Uuid,
) -> AppResult<Reservation> {
    let reservation = state
        .storage
        .reservation(ctx.tenant.id, ReservationId(id))
        .await?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    if uc::staff_may_handle(&state.reservations(), &scope, &staff.access, &reservation).await? {
        Ok(reservation)
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// A slot of an active service that the staff member handles.
async fn handled_slot(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    id: SlotId,
) -> AppResult<Bookable> {
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    let target = uc::bookable(&state.reservations(), &scope, id).await?;
    if staff
        .access
        .may_handle_reservations(target.slot.office_id, target.service.department_id)
    {
        Ok(target)
    } else {
        Err(AppError::new(ErrorCode::Forbidden))
    }
}

/// Rules of the services, by id.
fn rules_by_service(services: &[Service]) -> BTreeMap<ServiceId, ServiceRules> {
    services.iter().map(|s| (s.id, s.rules.clone())).collect()
}

#[derive(Serialize)]
struct AnswerView {
    label: String,
    answer: String,
}

/// The answers in the order of the service's questions, labelled in `lang`. Answers to a
/// question the service no longer asks are still shown, under their key.
fn answer_views(
    answers: &serde_json::Value,
    rules: Option<&ServiceRules>,
    lang: Lang,
) -> Vec<AnswerView> {
    let Some(map) = answers.as_object() else {
        return Vec::new();
    };
    let questions = rules.map(|r| r.questions.as_slice()).unwrap_or_default();
    let mut views: Vec<AnswerView> = questions
        .iter()
        .filter_map(|q| {
            let answer = answer_text(Some(q), map.get(&q.id)?, lang);
            (!answer.is_empty()).then(|| AnswerView {
                label: q.label(lang).to_owned(),
                answer,
            })
        })
        .collect();
    for (key, value) in map {
        if !questions.iter().any(|q| &q.id == key) {
            let answer = answer_text(None, value, lang);
            if !answer.is_empty() {
                views.push(AnswerView {
                    label: key.clone(),
                    answer,
                });
            }
        }
    }
    views
}

#[derive(Serialize)]
struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

#[cfg(test)]
mod tests {
    use super::day_sheet::csv_cell;
    use super::day_sheet::marks_for;
    use super::proxy::scoped_key;
    use crate::view::present::new_idempotency_key;
    use madoguchi_domain::AccountId;
    use madoguchi_storage::ReservationStatus;

    #[test]
    fn formula_like_cells_are_neutralised_for_excel() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("0312345678"), "0312345678");
        assert_eq!(csv_cell("山田 太郎"), "山田 太郎");
    }

    #[test]
    fn marks_offered_depend_on_the_status() {
        assert_eq!(
            marks_for(ReservationStatus::Confirmed),
            vec!["attended", "no_show"]
        );
        assert_eq!(marks_for(ReservationStatus::Attended), vec!["no_show"]);
        assert!(marks_for(ReservationStatus::Cancelled).is_empty());
    }

    #[test]
    fn the_page_key_is_scoped_to_the_staff_member() {
        let a = AccountId::new();
        let b = AccountId::new();
        let key = new_idempotency_key();
        assert_ne!(scoped_key(a, &key), scoped_key(b, &key));
        assert_eq!(scoped_key(a, "short"), None);
    }
}
