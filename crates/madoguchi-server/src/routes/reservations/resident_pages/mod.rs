//! Resident pages for booking: the bookable services, a month of availability, one day's
//! times, the booking form, and the resident's own reservations with cancellation.
//!
//! They work without JavaScript (links, plain forms and redirects) and book through the same
//! flow as the API ([`madoguchi_usecases::reservations::book`]): the window, eligibility and required answers are checked
//! there, and capacity and personal limits are decided by the database inside `reserve`. The
//! calendar's ○△×－ marks are hints for choosing a day; nothing here checks capacity before
//! booking.

mod catalogue;
mod form;
mod my;

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::templates::PageBase;
use crate::view::page::page_base;
use axum::Router;
use madoguchi_domain::{AccountKind, ErrorCode};
use madoguchi_storage::Service;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    catalogue::router()
        .merge(form::router())
        .merge(my::router())
}

// ---------------------------------------------------------------------------------------------
// Shared look-ups.

/// An active, bookable service by its code; anything else is not found.
async fn bookable_service(state: &AppState, ctx: &Ctx, code: &str) -> AppResult<Service> {
    state
        .storage
        .list_services(ctx.tenant.id)
        .await?
        .into_iter()
        .find(|s| s.active && s.code.as_str() == code)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

/// The layout of a public page: the header shows whoever is signed in.
async fn public_base(
    ctx: &Ctx,
    auth: Option<crate::http::SessionAuth>,
    session: &Session,
) -> AppResult<PageBase> {
    let session = auth.is_some().then_some(session);
    page_base(ctx, auth.map(|a| a.kind), session, false).await
}

async fn resident_base(ctx: &Ctx, session: &Session) -> AppResult<PageBase> {
    page_base(ctx, Some(AccountKind::Resident), Some(session), false).await
}

#[cfg(test)]
mod tests {
    use super::form::scoped_key;
    use crate::view::present::{
        birth_year_label, clock, date_label, new_idempotency_key, parse_day,
    };
    use madoguchi_domain::Lang;
    use time::macros::{date, datetime};

    #[test]
    fn dates_read_the_japanese_way_and_the_english_way() {
        assert_eq!(
            date_label(date!(2026 - 07 - 10), Lang::Ja),
            "2026年7月10日（金）"
        );
        assert_eq!(
            date_label(date!(2026 - 07 - 10), Lang::En),
            "Fri 10 July 2026"
        );
        assert_eq!(clock(datetime!(2026-07-10 00:05 UTC)), "9:05");
        assert_eq!(parse_day(" 2026-07-10"), Some(date!(2026 - 07 - 10)));
        assert_eq!(parse_day("9999-01-01"), None, "far outside any booking");
    }

    #[test]
    fn a_birth_year_shows_its_era_and_both_eras_in_a_year_of_change() {
        assert_eq!(birth_year_label(1980, Lang::Ja), "1980（昭和55年）");
        assert_eq!(
            birth_year_label(1989, Lang::Ja),
            "1989（昭和64年・平成元年）"
        );
        assert_eq!(
            birth_year_label(2019, Lang::Ja),
            "2019（平成31年・令和元年）"
        );
        assert_eq!(birth_year_label(1980, Lang::En), "1980 (Showa 55)");
        assert_eq!(
            birth_year_label(1989, Lang::En),
            "1989 (Showa 64, Heisei 1)"
        );
    }

    #[test]
    fn the_birth_years_offered_follow_the_age_range_and_stop_at_this_year() {
        use crate::view::present::{BIRTH_YEARS_BACK, birth_years};
        let rules = |eligibility: serde_json::Value| -> madoguchi_booking::ServiceRules {
            serde_json::from_value(serde_json::json!({
                "window": {"opens_days_before": 60, "opens_at_local": "09:00", "closes_hours_before": 48},
                "cancellation": {"deadline_hours_before": 48},
                "eligibility": eligibility,
            }))
            .unwrap()
        };
        let today = date!(2026 - 12 - 06);
        assert_eq!(
            birth_years(&rules(serde_json::json!({})), today),
            (2026 - BIRTH_YEARS_BACK)..=2026
        );
        // 40 or older at the end of the fiscal year: born in 1987 at the latest, with a year's
        // slack for the fiscal year that ends in the next calendar year.
        assert_eq!(
            birth_years(&rules(serde_json::json!({"age_min": 40})), today),
            (2026 - BIRTH_YEARS_BACK)..=1987
        );
        assert_eq!(
            birth_years(
                &rules(serde_json::json!({"age_min": 3, "age_max": 6})),
                today
            ),
            2018..=2024
        );
    }

    #[test]
    fn the_page_key_is_scoped_to_the_account() {
        let a = madoguchi_domain::AccountId::new();
        let b = madoguchi_domain::AccountId::new();
        let key = new_idempotency_key();
        assert_ne!(scoped_key(a, &key), scoped_key(b, &key));
        assert!(scoped_key(a, &key).is_some());
        assert_eq!(scoped_key(a, "short"), None);
        assert_eq!(scoped_key(a, &format!("{key}:x")), None);
    }
}
