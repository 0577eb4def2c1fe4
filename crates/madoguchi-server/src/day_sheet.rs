//! The day sheet (予約一覧) as staff see it: which rows a staff member may see of one Tokyo day,
//! and the columns of a row. The API, the page and the CSV export all build on it.

use crate::http::Ctx;
use crate::http::error::AppResult;
use crate::state::AppState;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use madoguchi_domain::{DepartmentId, OfficeId};
use madoguchi_storage::{DaySheetFilter, DaySheetRow, ReservationStatus};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct DaySheetLine {
    pub reservation_id: Uuid,
    /// The reservation number people read aloud (予約番号), e.g. `K7QX-3MPA`.
    #[schema(value_type = String, example = "K7QX-3MPA")]
    pub reference: madoguchi_domain::ReservationRef,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub office_id: Uuid,
    pub service_code: String,
    pub service_name_ja: String,
    pub service_name_en: String,
    /// The account's name, or the caller's name for a staff booking without an account.
    pub name: Option<String>,
    /// The caller's reading (kana), for a staff booking.
    pub name_kana: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub booked_by_staff: bool,
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
}

/// The parts of a day-sheet row the sheet shows, shared by the API, the page and the CSV.
pub(crate) fn day_sheet_line(row: &DaySheetRow) -> DaySheetLine {
    let details = &row.reservation.details;
    let caller = details.get("caller");
    let text = |v: Option<&serde_json::Value>, key: &str| {
        v.and_then(|c| c.get(key))
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    DaySheetLine {
        reservation_id: row.reservation.id.0,
        reference: row.reservation.reference,
        status: row.reservation.status.as_str(),
        starts_at: row.slot.starts_at,
        ends_at: row.slot.ends_at,
        office_id: row.slot.office_id.0,
        service_code: row.service_code.clone(),
        service_name_ja: row.service_name_ja.clone(),
        service_name_en: row.service_name_en.clone(),
        name: row
            .account_name
            .clone()
            .or_else(|| text(caller, "name_kanji")),
        name_kana: text(caller, "name_kana"),
        phone: text(caller, "phone"),
        email: row.account_email.clone(),
        booked_by_staff: row.reservation.booked_by.is_some(),
        answers: details
            .get("answers")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({})),
    }
}

/// What a staff member may see of one Tokyo day: the rows of the offices and departments they
/// handle, narrowed by the filter.
pub(crate) async fn day_sheet_rows(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    date: Date,
    office: Option<OfficeId>,
    department: Option<DepartmentId>,
) -> AppResult<Vec<DaySheetRow>> {
    let until = date.next_day().unwrap_or(date);
    rows_between(state, ctx, access, (date, until), office, department).await
}

/// The rows of the Tokyo days `from` (inclusive) to `until` (exclusive) a staff member may see.
async fn rows_between(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    (from, until): (Date, Date),
    office: Option<OfficeId>,
    department: Option<DepartmentId>,
) -> AppResult<Vec<DaySheetRow>> {
    let filter = DaySheetFilter {
        from: start_of_tokyo_day(from),
        until: start_of_tokyo_day(until),
        office,
        department,
    };
    let rows = state.storage.day_sheet(ctx.tenant.id, &filter).await?;
    if access.is_admin() {
        return Ok(rows);
    }
    let services = state.storage.list_services(ctx.tenant.id).await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            let department = services
                .iter()
                .find(|s| s.id == row.reservation.service_id)
                .and_then(|s| s.department_id);
            access.may_handle_reservations(row.slot.office_id, department)
        })
        .collect())
}

/// How far ahead the sheet looks for the next day with bookings: about a quarter, the longest
/// booking window of the demo services.
const NEXT_BOOKED_DAY_HORIZON_DAYS: i64 = 92;

/// How many days one look ahead reads, so a busy city reads a week of rows, not a quarter's.
const NEXT_BOOKED_DAY_STEP_DAYS: i64 = 7;

/// The first Tokyo day from `from` on (inclusive) that the city keeps open for the booking's
/// office and that has a booking the staff member may see (held, confirmed, attended or a
/// no-show; cancelled and expired ones are not work to do), within
/// [`NEXT_BOOKED_DAY_HORIZON_DAYS`].
pub(crate) async fn next_booked_day(
    state: &AppState,
    ctx: &Ctx,
    access: &StaffAccess,
    from: Date,
    office: Option<OfficeId>,
    department: Option<DepartmentId>,
) -> AppResult<Option<Date>> {
    let calendar = state
        .catalogue
        .calendar(&*state.storage, ctx.tenant.id)
        .await?;
    let horizon = from.saturating_add(Duration::days(NEXT_BOOKED_DAY_HORIZON_DAYS));
    let mut start = from;
    while start < horizon {
        let until = start
            .saturating_add(Duration::days(NEXT_BOOKED_DAY_STEP_DAYS))
            .min(horizon);
        let rows = rows_between(state, ctx, access, (start, until), office, department).await?;
        let first = rows
            .iter()
            .filter(|row| {
                !matches!(
                    row.reservation.status,
                    ReservationStatus::Cancelled | ReservationStatus::Expired
                )
            })
            .map(|row| (row.slot.office_id, row.slot.starts_at.to_offset(JST).date()))
            // A day the city closed after the booking was made is not a working day.
            .filter(|(office, date)| calendar.is_open(*office, *date).unwrap_or(true))
            .map(|(_, date)| date)
            .min();
        if first.is_some() {
            return Ok(first);
        }
        if until == start {
            break;
        }
        start = until;
    }
    Ok(None)
}
