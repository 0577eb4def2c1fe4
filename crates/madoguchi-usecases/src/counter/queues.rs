//! A department's queue: created by an administrator (the caller checks the role), opened and
//! closed for new tickets by the specialists who serve it.

use crate::{FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_counter::QueuePrefix;
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::text::bounded_text;
use madoguchi_domain::{DepartmentId, ErrorCode, QueueId, TenantId};
use madoguchi_storage::{
    AuditStore, CounterQueue, CounterStore, NewCounterQueue, OrgStore, StorageError,
};

/// What an administrator enters for a new queue.
#[derive(Clone, Debug, Default)]
pub struct QueueInput {
    pub department: Option<DepartmentId>,
    /// One capital letter, as typed (full-width and lower case are accepted).
    pub prefix: String,
    pub name_ja: String,
    pub name_en: String,
}

/// The letter of a queue as typed: `a`, `Ａ` and ` A ` all read as `A`.
pub fn parse_prefix(raw: &str) -> Option<QueuePrefix> {
    let mut chars = raw.trim().chars();
    let letter = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    // Full-width Latin capitals and small letters (Ａ–Ｚ, ａ–ｚ) as typed on a Japanese keyboard.
    let ascii = match letter {
        'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(u32::from(letter) - 0xFEE0)?,
        other => other,
    };
    QueuePrefix::new(ascii.to_ascii_uppercase())
}

fn name(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    match bounded_text(raw, 100) {
        Ok(Some(text)) => text.to_owned(),
        Ok(None) => {
            errors.push(FieldError::new(field, ErrorCode::Required));
            String::new()
        }
        Err(code) => {
            errors.push(FieldError::new(field, code));
            String::new()
        }
    }
}

/// Creates a queue for a department of the scope's city.
pub async fn create<S: CounterStore + OrgStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    input: &QueueInput,
) -> UseCaseResult<CounterQueue> {
    let mut errors = Vec::new();
    let prefix = parse_prefix(&input.prefix);
    if prefix.is_none() {
        errors.push(FieldError::new("prefix", ErrorCode::ValidationFailed));
    }
    let name_ja = name(&input.name_ja, "name_ja", &mut errors);
    let name_en = name(&input.name_en, "name_en", &mut errors);
    let department = match input.department {
        Some(id) => match store.department(scope.tenant, id).await {
            Ok(department) => Some(department.id),
            Err(StorageError::NotFound) => {
                errors.push(FieldError::new("department", ErrorCode::ValidationFailed));
                None
            }
            Err(other) => return Err(other.into()),
        },
        None => {
            errors.push(FieldError::new("department", ErrorCode::Required));
            None
        }
    };
    let (Some(prefix), Some(department), true) = (prefix, department, errors.is_empty()) else {
        return Err(UseCaseError::fields(errors));
    };
    let new = NewCounterQueue {
        department,
        prefix,
        name_ja,
        name_en,
    };
    let entry = audit::entry(
        scope,
        "counter.queue_created",
        None,
        serde_json::json!({"prefix": String::from(prefix), "department": department}),
    );
    Ok(store
        .create_queue(scope.tenant, &new, scope.now(), &entry)
        .await?)
}

/// The city's queues, by letter.
pub async fn list<S: CounterStore + ?Sized>(
    store: &S,
    tenant: TenantId,
) -> UseCaseResult<Vec<CounterQueue>> {
    Ok(store.list_queues(tenant).await?)
}

/// A queue a staff member serves; another department's queue is `forbidden`.
pub async fn served_by<S: CounterStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    queue: QueueId,
) -> UseCaseResult<CounterQueue> {
    let queue = store.queue(scope.tenant, queue).await?;
    if access.may_serve_queue(queue.department) {
        Ok(queue)
    } else {
        Err(UseCaseError::new(ErrorCode::Forbidden))
    }
}

/// Opens or closes a queue for new tickets (closing keeps the tickets already taken).
pub async fn set_accepting<S: CounterStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: &StaffAccess,
    queue: QueueId,
    accepting: bool,
) -> UseCaseResult<CounterQueue> {
    let queue = served_by(store, scope, access, queue).await?;
    let action = if accepting {
        "counter.queue_opened"
    } else {
        "counter.queue_closed"
    };
    let entry = audit::entry(
        scope,
        action,
        Some(queue.id.to_string()),
        serde_json::json!({}),
    );
    Ok(store
        .set_queue_accepting(scope.tenant, queue.id, accepting, &entry)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_read_as_typed_on_a_japanese_keyboard() {
        for typed in ["A", "a", " A ", "Ａ", "ａ"] {
            assert_eq!(
                parse_prefix(typed).map(QueuePrefix::letter),
                Some('A'),
                "{typed:?}"
            );
        }
        for bad in ["", "AB", "1", "あ", "-", "Ａ Ｂ"] {
            assert_eq!(parse_prefix(bad), None, "{bad:?}");
        }
    }
}
