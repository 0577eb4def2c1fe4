//! The city's year-end closure (by default 29 December to 3 January), or none.

use super::CalendarStores;
use super::input::parse_month_day;
use crate::cache::Catalogue;
use crate::{FieldError, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_calendar::YearEndClosure;
use madoguchi_domain::ErrorCode;

/// A year-end closure from its two ends, reporting both fields at once.
pub fn parse_year_end_closure(first: &str, last: &str) -> UseCaseResult<YearEndClosure> {
    let first = parse_month_day("first", first);
    let last = parse_month_day("last", last);
    match (first, last) {
        (Ok(first), Ok(last)) => YearEndClosure::new(first, last)
            .map_err(|_| UseCaseError::field("last", ErrorCode::ValidationFailed)),
        (first, last) => Err(UseCaseError::fields(
            [first.err().map(|_| "first"), last.err().map(|_| "last")]
                .into_iter()
                .flatten()
                .map(|field| FieldError::new(field, ErrorCode::ValidationFailed))
                .collect(),
        )),
    }
}

/// Sets the city's year-end closure (`None`: the city has none).
pub async fn set_year_end_closure<S: CalendarStores + ?Sized>(
    store: &S,
    catalogue: &Catalogue,
    scope: &Scope,
    closure: Option<YearEndClosure>,
) -> UseCaseResult<()> {
    store.set_year_end_closure(scope.tenant, closure).await?;
    catalogue.calendar_changed(scope.tenant);
    let details = match closure {
        Some(closure) => serde_json::json!({"first": closure.first(), "last": closure.last()}),
        None => serde_json::json!({"first": null, "last": null}),
    };
    audit::record(store, scope, "calendar.year_end_closure_set", None, details).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_end_closures_are_parsed_with_both_fields_reported() {
        let closure = parse_year_end_closure("12-28", "1/4").expect("valid");
        assert_eq!(closure.days(), 8);
        let error = parse_year_end_closure("13-01", "xx").expect_err("both bad");
        assert_eq!(error.fields.len(), 2);
        assert_eq!(error.code, ErrorCode::ValidationFailed);
    }
}
