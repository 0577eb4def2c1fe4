//! The municipal rules a new payment must respect, checked before anything is stored or any
//! provider is called:
//! - one payment, one method (never cash and cashless together);
//! - cards in one lump sum (一括), no instalments;
//! - no taxes through a counter's cashless terminal;
//! - no top-up: a payment never exceeds what is still owed;
//! - one payment in flight per receivable, and none for a settled or closed one.

use crate::{Method, PaymentAmount, Provider, ReceivableState, ReceivableStatus};
use madoguchi_domain::ErrorCode;

/// Why a checkout is refused, as the user is told.
pub type CheckoutProblem = ErrorCode;

/// May a payment of `amount` with `method` at `provider` be started for a receivable in
/// `state` (of a tax category when `is_tax`)?
pub fn check_new_payment(
    state: &ReceivableState,
    is_tax: bool,
    provider: Provider,
    method: Method,
    amount: PaymentAmount,
) -> Result<(), CheckoutProblem> {
    match state.status() {
        ReceivableStatus::Cancelled | ReceivableStatus::WrittenOff => {
            return Err(ErrorCode::ReceivableClosed);
        }
        ReceivableStatus::Paid | ReceivableStatus::Overpaid => {
            return Err(ErrorCode::ReceivableAlreadyPaid);
        }
        ReceivableStatus::Open | ReceivableStatus::PartlyPaid => {}
    }
    if !method.fits(provider) {
        return Err(ErrorCode::PaymentMethodNotOffered);
    }
    if is_tax && provider == Provider::Counter && !method.is_cash() {
        return Err(ErrorCode::TaxNotPayableAtCounter);
    }
    if amount.get() > state.outstanding_yen() {
        return Err(ErrorCode::PaymentExceedsOutstanding);
    }
    Ok(())
}

/// What a clerk entered at the counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterCheckout {
    /// Every method ticked on the form: exactly one is allowed.
    pub methods: Vec<Method>,
    /// Card instalments (支払回数): only 1.
    pub instalments: u32,
    /// The terminal's slip number (伝票番号), required for cashless.
    pub slip_number: Option<String>,
}

/// A terminal slip number: 1–20 ASCII letters and digits.
fn slip_number_ok(raw: &str) -> bool {
    (1..=20).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the counter form and returns its one method.
pub fn check_counter_checkout(form: &CounterCheckout) -> Result<Method, CheckoutProblem> {
    let method = match form.methods.as_slice() {
        [] => return Err(ErrorCode::Required),
        [one] => *one,
        _ => return Err(ErrorCode::MixedPaymentMethods),
    };
    if !method.fits(Provider::Counter) {
        return Err(ErrorCode::PaymentMethodNotOffered);
    }
    if form.instalments != 1 {
        return Err(ErrorCode::InstalmentsNotAllowed);
    }
    match (method.is_cash(), form.slip_number.as_deref()) {
        (true, _) => {}
        (false, None) => return Err(ErrorCode::SlipNumberRequired),
        (false, Some(slip)) if !slip_number_ok(slip) => return Err(ErrorCode::InvalidSlipNumber),
        (false, Some(_)) => {}
    }
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Brand, RevenueCategoryCode};

    fn owing(yen: i64) -> ReceivableState {
        ReceivableState {
            category: RevenueCategoryCode::parse("certificate_fee").unwrap(),
            assessed_yen: yen,
            paid_yen: 0,
            closure: None,
        }
    }

    fn amount(yen: i64) -> PaymentAmount {
        PaymentAmount::new(yen).unwrap()
    }

    #[test]
    fn a_fee_can_be_paid_online_or_at_the_counter() {
        let r = owing(300);
        assert!(check_new_payment(&r, false, Provider::Stripe, Method::Card, amount(300)).is_ok());
        let visa = Method::Counter(Brand::Visa);
        assert!(check_new_payment(&r, false, Provider::Counter, visa, amount(300)).is_ok());
    }

    #[test]
    fn taxes_are_refused_at_the_counter_terminal_but_not_in_cash() {
        let r = owing(10_000);
        let paypay = Method::Counter(Brand::Paypay);
        assert_eq!(
            check_new_payment(&r, true, Provider::Counter, paypay, amount(10_000)),
            Err(ErrorCode::TaxNotPayableAtCounter)
        );
        assert!(
            check_new_payment(&r, true, Provider::Counter, Method::Cash, amount(10_000)).is_ok()
        );
    }

    #[test]
    fn paying_more_than_is_owed_is_a_top_up_and_refused() {
        assert_eq!(
            check_new_payment(
                &owing(300),
                false,
                Provider::Counter,
                Method::Cash,
                amount(1_000)
            ),
            Err(ErrorCode::PaymentExceedsOutstanding)
        );
    }

    #[test]
    fn a_paid_receivable_takes_no_second_payment() {
        let mut r = owing(300);
        r.paid_yen = 300;
        assert_eq!(
            check_new_payment(&r, false, Provider::Stripe, Method::Card, amount(300)),
            Err(ErrorCode::ReceivableAlreadyPaid)
        );
    }

    #[test]
    fn cash_and_card_together_are_refused() {
        let form = CounterCheckout {
            methods: vec![Method::Cash, Method::Counter(Brand::Jcb)],
            instalments: 1,
            slip_number: Some("123".into()),
        };
        assert_eq!(
            check_counter_checkout(&form),
            Err(ErrorCode::MixedPaymentMethods)
        );
    }

    #[test]
    fn instalments_are_refused() {
        let form = CounterCheckout {
            methods: vec![Method::Counter(Brand::Visa)],
            instalments: 3,
            slip_number: Some("123".into()),
        };
        assert_eq!(
            check_counter_checkout(&form),
            Err(ErrorCode::InstalmentsNotAllowed)
        );
    }

    #[test]
    fn cashless_needs_the_terminal_slip_number() {
        let mut form = CounterCheckout {
            methods: vec![Method::Counter(Brand::Id)],
            instalments: 1,
            slip_number: None,
        };
        assert_eq!(
            check_counter_checkout(&form),
            Err(ErrorCode::SlipNumberRequired)
        );
        form.slip_number = Some("12 34".into());
        assert_eq!(
            check_counter_checkout(&form),
            Err(ErrorCode::InvalidSlipNumber)
        );
        form.slip_number = Some("001234".into());
        assert_eq!(
            check_counter_checkout(&form),
            Ok(Method::Counter(Brand::Id))
        );
    }

    #[test]
    fn online_methods_are_not_counter_methods() {
        let form = CounterCheckout {
            methods: vec![Method::Card],
            instalments: 1,
            slip_number: None,
        };
        assert_eq!(
            check_counter_checkout(&form),
            Err(ErrorCode::PaymentMethodNotOffered)
        );
    }
}
