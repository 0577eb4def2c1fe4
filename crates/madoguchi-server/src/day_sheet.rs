//! The day sheet (予約一覧) as staff see it: which rows a staff member may see of one Tokyo day,
//! and the columns of a row. The API, the page and the CSV export all build on it.

use crate::http::Ctx;
use crate::http::error::AppResult;
use crate::state::AppState;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::tokyo::start_of_tokyo_day;
use madoguchi_domain::{DepartmentId, OfficeId};
use madoguchi_storage::{DaySheetFilter, DaySheetRow};
use serde::Serialize;
use time::{Date, OffsetDateTime};
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
    let filter = DaySheetFilter {
        from: start_of_tokyo_day(date),
        until: start_of_tokyo_day(date.next_day().unwrap_or(date)),
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
