//! Fiscal years (年度) and the 出納整理期間.

use madoguchi_calendar::{FiscalYear, fiscal_year, fiscal_year_range, settlement_fiscal_year};
use time::macros::date;

#[test]
fn the_fiscal_year_starts_on_april_1() {
    assert_eq!(fiscal_year(date!(2026 - 03 - 31)), FiscalYear(2025));
    assert_eq!(fiscal_year(date!(2026 - 04 - 01)), FiscalYear(2026));
    assert_eq!(fiscal_year(date!(2026 - 12 - 31)), FiscalYear(2026));
    assert_eq!(fiscal_year(date!(2027 - 01 - 01)), FiscalYear(2026));
    assert_eq!(FiscalYear(2026).to_string(), "2026年度");
}

#[test]
fn a_fiscal_year_runs_from_april_1_to_march_31() {
    assert_eq!(
        fiscal_year_range(FiscalYear(2026)),
        Ok(date!(2026 - 04 - 01)..=date!(2027 - 03 - 31))
    );
    assert!(FiscalYear(2026).contains(date!(2027 - 03 - 31)));
    assert!(!FiscalYear(2026).contains(date!(2027 - 04 - 01)));
    assert!(fiscal_year_range(FiscalYear(9999)).is_err());
}

#[test]
fn the_accounts_of_a_year_stay_open_for_settlement_until_may_31() {
    let fy = FiscalYear(2026);
    assert_eq!(
        fy.settlement_period(),
        Ok(date!(2027 - 04 - 01)..=date!(2027 - 05 - 31))
    );
    assert!(fy.in_settlement_period(date!(2027 - 04 - 01)));
    assert!(fy.in_settlement_period(date!(2027 - 05 - 31)));
    assert!(!fy.in_settlement_period(date!(2027 - 06 - 01)));
    assert!(
        !fy.in_settlement_period(date!(2026 - 05 - 31)),
        "that is 2025年度's"
    );
    assert!(fy.accounts_open_on(date!(2026 - 04 - 01)));
    assert!(fy.accounts_open_on(date!(2027 - 05 - 31)));
    assert!(!fy.accounts_open_on(date!(2027 - 06 - 01)));
    assert!(!fy.accounts_open_on(date!(2026 - 03 - 31)));
}

#[test]
fn a_date_in_april_or_may_settles_the_previous_year() {
    assert_eq!(
        settlement_fiscal_year(date!(2027 - 05 - 15)),
        Some(FiscalYear(2026))
    );
    assert_eq!(settlement_fiscal_year(date!(2027 - 06 - 01)), None);
    assert_eq!(settlement_fiscal_year(date!(2027 - 03 - 31)), None);
}
