//! Writing the audit log from a use case: the actor and the time come from the scope, so every
//! entry says who did it and when in the same way.

use crate::{Scope, UseCaseResult};
use madoguchi_storage::{AuditStore, NewAuditEntry};

/// Every action id the code records, grouped by what it is about. The audit page translates
/// each (`audit_actions` in `web/i18n/{ja,en}.json`) and offers them as filters; a unit test of
/// the server checks that each has both labels and that every action written through
/// [`record`] is listed here, and `tests/it/audit_actions.rs` performs the reservation actions
/// and finds their entries.
pub const ACTIONS: &[&str] = &[
    // Reservations, however made: online, through the API, by staff, from the waiting list.
    "reservation.booked",
    "reservation.proxy_booked",
    "reservation.hold_confirmed",
    "reservation.waitlist_promoted",
    "reservation.waitlist_offered",
    "reservation.changed",
    "reservation.cancelled",
    "reservation.attendance",
    "reservation.paid_after_release",
    "waitlist.joined",
    "waitlist.withdrawn",
    "waitlist.skipped",
    "booking.suspended",
    "booking.suspension_lifted",
    "booking.policy_changed",
    "day_sheet.exported",
    // Services and their slots.
    "service.created",
    "service.slots_added",
    "service.slots_generated",
    // The organisation.
    "office.created",
    "office.updated",
    "department.created",
    "staff.created",
    "staff.roles_changed",
    // The calendar.
    "calendar.holidays_imported",
    "calendar.holidays_removed",
    "calendar.year_end_closure_set",
    "calendar.closing_day_added",
    "calendar.closing_day_removed",
    "calendar.office_days_set",
    "calendar.office_days_replaced",
    // What the city offers its residents.
    "city.capability_switched",
    // Accounts.
    "resident.signed_up",
    "resident.sign_up_existing",
    "resident.email_verified",
    "resident.signed_in",
    "resident.sign_in_failed",
    "resident.signed_out",
    "resident.password_reset_requested",
    "resident.password_reset",
    "resident.calendar_feed_reissued",
    "staff.signed_in",
    "staff.sign_in_failed",
    "staff.signed_out",
    "staff.password_reset_requested",
    "staff.password_reset",
    // LINE.
    "line.channel_saved",
    "resident.line_code_issued",
    "resident.line_linked",
    "resident.line_unlinked",
    "resident.line_unfollowed",
    // Payments: what is owed, paid and refunded.
    "receivable.assessed",
    "receivable.cancelled",
    "receivable.written_off",
    "payment.started",
    "payment.status_changed",
    "payment.counter_taken",
    "refund.requested",
    "refund.approved",
    "refund.rejected",
    "refund.paid",
    "refund.failed",
    // The remote counter: queues, tickets and calls.
    "counter.queue_created",
    "counter.queue_opened",
    "counter.queue_closed",
    "counter.ticket_issued",
    "counter.ticket_left",
    "counter.called",
    "counter.recalled",
    "counter.no_answer",
    "counter.answered",
    "counter.finished",
    "counter.removed",
    "counter.joined",
    "counter.left",
    "counter.room_admitted",
    "counter.transferred",
    "counter.department_added",
    "counter.interpreter_invited",
    "counter.room_ended",
    "counter.room_moved",
    "counter.outcome_recorded",
    // Convenience-store slips: settings, batches, reissues.
    "slips.configured",
    "slips.issued",
    "slips.reissued",
    "slips.imported",
    "slips.import_finished",
];

/// The groups the audit page filters by: an action id's part before the dot.
pub fn action_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for action in ACTIONS {
        let group = action.split('.').next().unwrap_or(action);
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// Appends one entry. `target` is an id, and `details` holds ids and codes only, never names
/// or addresses: the log is kept for years and read by auditors.
pub async fn record<S: AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> UseCaseResult<()> {
    let entry = entry(scope, action, target, details);
    store.append_audit(scope.tenant, &entry).await?;
    Ok(())
}

/// The entry [`record`] would append, for a storage call that writes it in the transaction of
/// the change it records (`BookingStore::reserve_audited`).
pub fn entry(
    scope: &Scope,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        at: scope.now(),
        actor_kind: scope.actor.kind(),
        actor_id: scope.actor.account(),
        action: action.to_owned(),
        target,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once_as_group_dot_name() {
        for (i, action) in ACTIONS.iter().enumerate() {
            assert!(!ACTIONS[..i].contains(action), "{action} listed twice");
            let (group, name) = action.split_once('.').unwrap_or_default();
            assert!(!group.is_empty() && !name.is_empty(), "{action}");
            assert!(
                action
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{action}"
            );
        }
    }
}
