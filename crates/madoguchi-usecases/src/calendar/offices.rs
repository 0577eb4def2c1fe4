//! Offices' own days: closing rules (weekly, monthly, a date, a period) and whether an office
//! opens on weekends and holidays. An office without settings keeps the municipal days off.

use super::CalendarStores;
use crate::cache::Catalogue;
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_calendar::{ClosingRule, MunicipalCalendar, OfficeClosingDays};
use madoguchi_domain::{ErrorCode, OfficeId};
use madoguchi_storage::{OfficeCalendar, StoredClosingRule};
use uuid::Uuid;

/// Refuses closing days the calendar could not use (closed on every day of the week).
pub fn validate_office_days(office: OfficeId, days: &OfficeClosingDays) -> UseCaseResult<()> {
    MunicipalCalendar::builder()
        .office(office, days.clone())
        .build()
        .map(|_| ())
        .map_err(|_| UseCaseError::field("weekday", ErrorCode::ValidationFailed))
}

/// Adds a closing rule to an office, refusing one that would leave the office never open. The
/// same rule twice is stored once (`None`: the office already had it).
pub async fn add_closing_rule<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    office: OfficeId,
    rule: ClosingRule,
) -> UseCaseResult<Option<StoredClosingRule>> {
    let current = store.office_calendar(scope.tenant, office).await?;
    if current.rules.iter().any(|stored| stored.rule == rule) {
        return Ok(None);
    }
    let mut days = current.closing_days();
    days.rules.push(rule.clone());
    validate_office_days(office, &days)?;
    let stored = store
        .add_office_closing_rule(scope.tenant, office, &rule)
        .await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({"office_id": office.to_string(), "rule": rule});
    let target = Some(stored.id.to_string());
    audit::record(store, scope, "calendar.closing_day_added", target, details).await?;
    Ok(Some(stored))
}

/// Removes one closing rule of an office.
pub async fn remove_closing_rule<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    office: OfficeId,
    rule: Uuid,
) -> UseCaseResult<()> {
    store
        .remove_office_closing_rule(scope.tenant, office, rule)
        .await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({"office_id": office.to_string()});
    let target = Some(rule.to_string());
    audit::record(
        store,
        scope,
        "calendar.closing_day_removed",
        target,
        details,
    )
    .await
}

/// Sets whether an office opens on weekends and holidays.
pub async fn set_open_on_weekends_and_holidays<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    office: OfficeId,
    open: bool,
) -> UseCaseResult<()> {
    store
        .set_office_open_on_weekends_and_holidays(scope.tenant, office, open)
        .await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({"open_on_weekends_and_holidays": open});
    let target = Some(office.to_string());
    audit::record(store, scope, "calendar.office_days_set", target, details).await
}

/// Replaces an office's whole calendar.
pub async fn replace_office_calendar<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    office: OfficeId,
    days: &OfficeClosingDays,
) -> UseCaseResult<OfficeCalendar> {
    validate_office_days(office, days)?;
    let calendar = store
        .replace_office_calendar(scope.tenant, office, days)
        .await?;
    catalogue.calendar_changed(scope.tenant);
    let details = serde_json::json!({
        "open_on_weekends_and_holidays": days.open_on_weekends_and_holidays,
        "rules": days.rules.len(),
    });
    let target = Some(office.to_string());
    audit::record(
        store,
        scope,
        "calendar.office_days_replaced",
        target,
        details,
    )
    .await?;
    Ok(calendar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_calendar::OnHoliday;
    use time::Weekday;

    #[test]
    fn an_office_closed_on_every_weekday_is_refused_on_the_weekday_field() {
        let rules = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .map(|weekday| ClosingRule::Weekly {
            weekday,
            on_holiday: OnHoliday::StayClosed,
        })
        .collect();
        let days = OfficeClosingDays {
            open_on_weekends_and_holidays: true,
            rules,
        };
        let error = validate_office_days(OfficeId(Uuid::nil()), &days).err();
        assert_eq!(
            error.and_then(|e| e.fields.first().map(|f| f.field.clone())),
            Some("weekday".to_owned())
        );
    }
}
