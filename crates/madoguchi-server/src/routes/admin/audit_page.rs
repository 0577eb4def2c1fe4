//! `/admin/audit`: the audit log in words. Actions are translated (`audit_actions` in the
//! catalogues, one label for each of `madoguchi_usecases::audit::ACTIONS`), actors and targets
//! are named (staff by their display name; residents as 住民 with a masked name, since the page
//! is for finding who acted, not for reading residents' data), details are key: value lines in
//! Tokyo time, and the log filters by actor, action and a range of Tokyo dates, 50 at a time.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::i18n;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::{date_label, instant_label, service_name, slot_when};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use madoguchi_domain::{AccountId, AccountKind, ErrorCode, Lang, ReservationId, Role, SlotId};
use madoguchi_storage::{
    ActorKind, AuditEntry, AuditFilter, Department, Office, Service, Slot, StorageError,
};
use madoguchi_usecases::audit::{ACTIONS, action_groups};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

/// Entries per page.
const PAGE: i64 = 50;

/// The filter form, as typed: every field may be empty or wrong, and is checked here.
#[derive(Deserialize, Serialize, Default)]
pub(super) struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: String,
}

/// A page text, or the key when missing (a gap stays visible).
fn text(lang: Lang, key: &str) -> String {
    i18n::text(lang, key)
}

/// An entry of one of the catalogue's tables (`audit_actions`, `job_kinds`, …), or `None`.
pub(super) fn table_text(lang: Lang, table: &str, key: &str) -> Option<String> {
    i18n::catalogue(lang)
        .get(table)
        .and_then(|t| t.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The translated action, or the raw id for an action recorded by an older version.
fn action_label(lang: Lang, action: &str) -> String {
    table_text(lang, "audit_actions", action).unwrap_or_else(|| action.to_owned())
}

/// `山＊＊`: enough for an administrator to tell residents apart, not to read their name.
fn masked(name: &str) -> String {
    let first: String = name.chars().take(1).collect();
    format!("{first}＊＊")
}

/// What the filter form asked for, checked.
struct Checked {
    action_prefix: Option<String>,
    actor: Option<AccountId>,
    from: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    before: Option<OffsetDateTime>,
}

fn tokyo_date(raw: &str) -> Option<Date> {
    let date = Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    madoguchi_domain::tokyo::supported_date(date).ok()
}

/// Checks the form: each wrong field gets its message, nothing is guessed.
fn check(query: &AuditQuery, lang: Lang) -> Result<Checked, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let action = query.action.trim();
    let action_prefix = if action.is_empty() {
        None
    } else if ACTIONS.contains(&action)
        || action
            .strip_suffix('.')
            .is_some_and(|g| action_groups().contains(&g))
    {
        Some(action.to_owned())
    } else {
        errors.insert("action".into(), text(lang, "audit_filter_invalid_action"));
        None
    };
    let actor = match query.actor.trim() {
        "" => None,
        raw => match Uuid::parse_str(raw) {
            Ok(id) => Some(AccountId(id)),
            Err(_) => {
                errors.insert("actor".into(), text(lang, "audit_filter_invalid_actor"));
                None
            }
        },
    };
    let mut date = |field: &str, raw: &str| -> Option<Date> {
        if raw.trim().is_empty() {
            return None;
        }
        let parsed = tokyo_date(raw);
        if parsed.is_none() {
            errors.insert(field.into(), text(lang, "audit_filter_invalid_date"));
        }
        parsed
    };
    let from_day = date("from", &query.from);
    let until_day = date("until", &query.until);
    if let (Some(from), Some(until)) = (from_day, until_day)
        && until < from
    {
        errors.insert("until".into(), text(lang, "audit_filter_invalid_range"));
    }
    let before = match query.before.trim() {
        "" => None,
        raw => match OffsetDateTime::parse(raw, &Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                errors.insert("before".into(), text(lang, "audit_filter_invalid_before"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        action_prefix,
        actor,
        from: from_day.map(madoguchi_domain::tokyo::start_of_tokyo_day),
        // The end date is included: up to the start of the next Tokyo day.
        until: until_day
            .and_then(Date::next_day)
            .map(madoguchi_domain::tokyo::start_of_tokyo_day),
        before,
    })
}

/// Names of what entries point at, read once per page.
struct Names {
    lang: Lang,
    offices: Vec<Office>,
    departments: Vec<Department>,
    services: Vec<Service>,
    accounts: HashMap<Uuid, (AccountKind, String)>,
    slots: HashMap<Uuid, Slot>,
    /// A reservation or waiting-list entry: its service and slot.
    bookings: HashMap<Uuid, (Uuid, Uuid)>,
}

fn uuid_of(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

impl Names {
    async fn read(state: &AppState, ctx: &Ctx, entries: &[AuditEntry]) -> AppResult<Names> {
        let tenant = ctx.tenant.id;
        let mut names = Names {
            lang: ctx.lang,
            offices: state.storage.list_offices(tenant).await?,
            departments: state.storage.list_departments(tenant).await?,
            services: state.storage.list_services(tenant).await?,
            accounts: HashMap::new(),
            slots: HashMap::new(),
            bookings: HashMap::new(),
        };
        let mut accounts: Vec<Uuid> = Vec::new();
        let mut slots: Vec<Uuid> = Vec::new();
        for e in entries {
            accounts.extend(e.actor_id.map(|a| a.0));
            let group = e.action.split('.').next().unwrap_or_default();
            if let Some(target) = e.target.as_deref().and_then(uuid_of) {
                match group {
                    "reservation" => {
                        if let Some(r) = found(
                            state
                                .storage
                                .reservation(tenant, ReservationId(target))
                                .await,
                        )? {
                            names.bookings.insert(target, (r.service_id.0, r.slot_id.0));
                            slots.push(r.slot_id.0);
                        }
                    }
                    "waitlist" => {
                        if let Some(w) = found(state.storage.waitlist_entry(tenant, target).await)?
                        {
                            names.bookings.insert(target, (w.service_id.0, w.slot_id.0));
                            slots.push(w.slot_id.0);
                        }
                    }
                    _ => accounts.push(target),
                }
            }
            for key in ["slot", "from_slot"] {
                slots.extend(e.details[key].as_str().and_then(uuid_of));
            }
            accounts.extend(e.details["account"].as_str().and_then(uuid_of));
        }
        accounts.sort();
        accounts.dedup();
        for id in accounts {
            if names.is_org(id) {
                continue;
            }
            if let Some(a) = found(state.storage.account(tenant, AccountId(id)).await)? {
                names
                    .accounts
                    .insert(id, (a.kind, a.display_name.as_str().to_owned()));
            }
        }
        slots.sort();
        slots.dedup();
        for id in slots {
            if let Some(slot) = found(state.storage.slot(tenant, SlotId(id)).await)? {
                names.slots.insert(id, slot);
            }
        }
        Ok(names)
    }

    fn is_org(&self, id: Uuid) -> bool {
        self.offices.iter().any(|o| o.id.0 == id)
            || self.departments.iter().any(|d| d.id.0 == id)
            || self.services.iter().any(|s| s.id.0 == id)
    }

    /// A person: staff by name, residents as 住民（山＊＊）.
    fn account(&self, id: Uuid) -> Option<String> {
        let (kind, name) = self.accounts.get(&id)?;
        Some(match kind {
            AccountKind::Staff => name.clone(),
            AccountKind::Resident => format!(
                "{}（{}）",
                text(self.lang, "audit_actor_resident"),
                masked(name)
            ),
        })
    }

    fn slot(&self, id: Uuid) -> Option<String> {
        self.slots.get(&id).map(|s| slot_when(s, self.lang))
    }

    fn service(&self, id: Uuid) -> Option<String> {
        self.services
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| service_name(s, self.lang).to_owned())
    }

    /// What a target id names, in words; an unknown id is shortened rather than shown whole.
    fn target(&self, raw: &str) -> String {
        let Some(id) = uuid_of(raw) else {
            return raw.to_owned();
        };
        if let Some((service, slot)) = self.bookings.get(&id) {
            let service = self.service(*service).unwrap_or_default();
            return match self.slot(*slot) {
                Some(when) => format!("{service} {when}"),
                None => service,
            };
        }
        self.org(id)
            .or_else(|| self.account(id))
            .unwrap_or_else(|| short_id(raw))
    }

    fn org(&self, id: Uuid) -> Option<String> {
        if let Some(o) = self.offices.iter().find(|o| o.id.0 == id) {
            return Some(o.name(self.lang).to_owned());
        }
        if let Some(d) = self.departments.iter().find(|d| d.id.0 == id) {
            return Some(d.name(self.lang).to_owned());
        }
        self.service(id)
    }

    /// One detail's value in words.
    fn value(&self, key: &str, value: &Value) -> String {
        let lang = self.lang;
        match value {
            Value::Null => "—".to_owned(),
            Value::Bool(true) => text(lang, "audit_yes"),
            Value::Bool(false) => text(lang, "audit_no"),
            Value::Number(n) => n.to_string(),
            Value::String(s) => self.string_value(key, s),
            Value::Array(items) => items
                .iter()
                .map(|v| self.value(key, v))
                .collect::<Vec<_>>()
                .join(if lang == Lang::Ja { "、" } else { ", " }),
            Value::Object(map) => {
                if let Some(role) = map.get("role").and_then(Value::as_str) {
                    return self.role(role, map);
                }
                map.iter()
                    .map(|(k, v)| format!("{k}: {}", self.value(k, v)))
                    .collect::<Vec<_>>()
                    .join(if lang == Lang::Ja { "、" } else { "; " })
            }
        }
    }

    fn role(&self, role: &str, map: &serde_json::Map<String, Value>) -> String {
        let label = Role::parse(role)
            .map(|r| r.label(self.lang).to_owned())
            .unwrap_or_else(|| role.to_owned());
        let scope: Vec<String> = ["office_id", "department_id"]
            .iter()
            .filter_map(|k| map.get(*k).and_then(Value::as_str).and_then(uuid_of))
            .filter_map(|id| self.org(id))
            .collect();
        if scope.is_empty() {
            label
        } else {
            text(self.lang, "role_scope")
                .replace("{role}", &label)
                .replace("{scope}", &scope.join("・"))
        }
    }

    fn string_value(&self, key: &str, s: &str) -> String {
        let lang = self.lang;
        match key {
            "attendance" => return text(lang, &format!("staff_res_state_{s}")),
            "by" if s == "operator" => return text(lang, "audit_value_operator"),
            "slot" | "from_slot" => {
                if let Some(when) = uuid_of(s).and_then(|id| self.slot(id)) {
                    return when;
                }
            }
            _ => {}
        }
        if let Ok(at) = OffsetDateTime::parse(s, &Rfc3339) {
            return instant_label(at, lang);
        }
        if let Some(date) = tokyo_date(s).filter(|_| s.len() == 10) {
            return date_label(date, lang);
        }
        match uuid_of(s) {
            Some(id) => self
                .org(id)
                .or_else(|| self.account(id))
                .unwrap_or_else(|| short_id(s)),
            None => s.to_owned(),
        }
    }

    /// `key: value` lines with translated keys.
    fn details(&self, details: &Value) -> Vec<(String, String)> {
        let Some(map) = details.as_object() else {
            return Vec::new();
        };
        map.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let label =
                    table_text(self.lang, "audit_detail_keys", k).unwrap_or_else(|| k.clone());
                (label, self.value(k, v))
            })
            .collect()
    }
}

/// `NotFound` is an answer here (a deleted or foreign id), not an error.
fn found<T>(result: Result<T, StorageError>) -> AppResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StorageError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// `ID 1a2b3c4d`: enough to tell ids apart, short enough to read.
fn short_id(raw: &str) -> String {
    format!("ID {}", raw.chars().take(8).collect::<String>())
}

#[derive(Serialize)]
struct Row {
    at: String,
    at_raw: String,
    actor: String,
    actor_id: Option<String>,
    action: String,
    action_id: String,
    target: Option<String>,
    details: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct ChoiceGroup {
    label: String,
    choices: Vec<Choice>,
}

fn action_choices(lang: Lang, chosen: &str) -> Vec<ChoiceGroup> {
    action_groups()
        .into_iter()
        .map(|group| {
            let group_label =
                table_text(lang, "audit_groups", group).unwrap_or_else(|| group.to_owned());
            let all = format!("{group}.");
            let mut choices = vec![Choice {
                label: text(lang, "audit_filter_group_all").replace("{group}", &group_label),
                selected: chosen == all,
                value: all,
            }];
            choices.extend(
                ACTIONS
                    .iter()
                    .filter(|a| a.split('.').next() == Some(group))
                    .map(|a| Choice {
                        value: (*a).to_owned(),
                        label: action_label(lang, a),
                        selected: chosen == *a,
                    }),
            );
            ChoiceGroup {
                label: group_label,
                choices,
            }
        })
        .collect()
}

pub(super) async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<AuditQuery>,
) -> AppResult<Response> {
    if !staff.access.may_read_audit_log() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let lang = ctx.lang;
    let checked = check(&query, lang);
    let mut entries = Vec::new();
    if let Ok(c) = &checked {
        let filter = AuditFilter {
            action_prefix: c.action_prefix.clone(),
            actor_id: c.actor,
            from: c.from,
            until: c.until,
            before: c.before,
            limit: PAGE,
        };
        entries = state.storage.list_audit(ctx.tenant.id, &filter).await?;
    }
    let next_before = (entries.len() as i64 == PAGE)
        .then(|| entries.last().and_then(|e| e.at.format(&Rfc3339).ok()))
        .flatten();
    let names = Names::read(&state, &ctx, &entries).await?;
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| Row {
            at: instant_label(e.at, lang),
            at_raw: e.at.format(&Rfc3339).unwrap_or_default(),
            actor: match (e.actor_kind, e.actor_id) {
                (ActorKind::System, _) => text(lang, "audit_actor_system"),
                (ActorKind::Anonymous, _) => text(lang, "audit_actor_anonymous"),
                (_, Some(id)) => names
                    .account(id.0)
                    .unwrap_or_else(|| text(lang, "audit_actor_unknown")),
                (ActorKind::Staff, None) => text(lang, "audit_actor_staff"),
                (ActorKind::Resident, None) => text(lang, "audit_actor_resident"),
            },
            actor_id: e.actor_id.map(|a| a.to_string()),
            action: action_label(lang, &e.action),
            action_id: e.action.clone(),
            target: e.target.as_deref().map(|t| names.target(t)),
            details: names.details(&e.details),
        })
        .collect();
    // Who may be chosen: the city's staff, and whoever the filter names already.
    let mut actors: Vec<Choice> = state
        .storage
        .list_accounts(ctx.tenant.id, AccountKind::Staff)
        .await?
        .into_iter()
        .map(|a| Choice {
            selected: a.id.to_string() == query.actor.trim(),
            value: a.id.to_string(),
            label: a.display_name.as_str().to_owned(),
        })
        .collect();
    if let Ok(Checked {
        actor: Some(actor), ..
    }) = &checked
        && !actors.iter().any(|c| c.selected)
    {
        let label = match found(state.storage.account(ctx.tenant.id, *actor).await)? {
            Some(a) if a.kind == AccountKind::Staff => a.display_name.as_str().to_owned(),
            Some(a) => format!(
                "{}（{}）",
                text(lang, "audit_actor_resident"),
                masked(a.display_name.as_str())
            ),
            None => text(lang, "audit_actor_unknown"),
        };
        actors.insert(
            0,
            Choice {
                value: actor.to_string(),
                label,
                selected: true,
            },
        );
    }
    let (status, errors, alert) = match &checked {
        Ok(_) => (StatusCode::OK, BTreeMap::new(), None),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors.clone(),
            Some(ErrorCode::ValidationFailed.message(lang).to_owned()),
        ),
    };
    let actions = action_choices(lang, query.action.trim());
    let filtered = !(query.action.is_empty()
        && query.actor.is_empty()
        && query.from.is_empty()
        && query.until.is_empty());
    let base = staff_base(&ctx, &staff, &session).await?;
    let html: Html<String> = state.templates.page(
        "admin/audit.html",
        &base,
        context! { rows, query, actions, actors, errors, alert, next_before, filtered },
    )?;
    Ok((status, html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(action: &str, actor: &str, from: &str, until: &str, before: &str) -> AuditQuery {
        AuditQuery {
            action: action.into(),
            actor: actor.into(),
            from: from.into(),
            until: until.into(),
            before: before.into(),
        }
    }

    #[test]
    fn a_known_action_or_group_filters_and_anything_else_is_refused_with_a_message() {
        assert!(check(&query("reservation.booked", "", "", "", ""), Lang::Ja).is_ok());
        assert!(check(&query("reservation.", "", "", "", ""), Lang::Ja).is_ok());
        let errors = check(&query("reservation", "", "", "", ""), Lang::Ja)
            .err()
            .unwrap_or_default();
        assert!(errors.contains_key("action"));
        let errors = check(
            &query("x.y", "nobody", "2026-13-01", "", "yesterday"),
            Lang::En,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["action", "actor", "before", "from"]
        );
    }

    #[test]
    fn a_date_range_is_tokyo_days_with_the_end_day_included() {
        let c = check(&query("", "", "2026-04-01", "2026-04-01", ""), Lang::Ja)
            .ok()
            .map(|c| (c.from, c.until));
        assert_eq!(
            c,
            Some((
                Some(time::macros::datetime!(2026-03-31 15:00 UTC)),
                Some(time::macros::datetime!(2026-04-01 15:00 UTC))
            ))
        );
        let errors = check(&query("", "", "2026-04-02", "2026-04-01", ""), Lang::Ja)
            .err()
            .unwrap_or_default();
        assert!(errors.contains_key("until"));
        assert!(
            check(&query("", "", "1800-01-01", "", ""), Lang::Ja).is_err(),
            "outside the supported years"
        );
    }

    #[test]
    fn a_resident_name_is_masked_after_its_first_character() {
        assert_eq!(masked("山田 花子"), "山＊＊");
        assert_eq!(masked("Alice"), "A＊＊");
    }
}
