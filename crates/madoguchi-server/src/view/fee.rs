//! How a reservation's fee reads on its pages, the resident's and staff's: the amount, how it
//! is settled, and what is left to do (pay online before the hold ends, pay at the counter,
//! check an exemption's proof, refund money that came after the seat was released). Also the
//! fee and the ways to pay that the booking form offers, and where the payment provider sends
//! the payer back.

use crate::http::Ctx;
use crate::http::error::AppResult;
use crate::i18n::text;
use crate::state::AppState;
use crate::view::present::instant_label;
use madoguchi_booking::{Fee, Settlement};
use madoguchi_domain::{Lang, PaymentId, ReservationId, Yen};
use madoguchi_payments::{PaymentStatus, ReceivableStatus};
use madoguchi_storage::{PaymentFilter, Reservation, ReservationStatus, Service};
use madoguchi_usecases::Actor;
use madoguchi_usecases::payments::checkout::ReturnUrls;
use madoguchi_usecases::reservations::fees;
use serde::Serialize;
use time::OffsetDateTime;

/// A reservation's fee as its page shows it.
#[derive(Serialize)]
pub(crate) struct FeeView {
    /// `¥500`.
    pub(crate) amount: String,
    /// `exempt`, `awaiting_payment` (a hold waiting for its payment), `at_counter` (booked,
    /// paid on the day), `paid`, `refund_due` (paid, but the seat was released) or
    /// `released` (nothing is owed any more).
    pub(crate) state: &'static str,
    /// The exemption's label, when exempt.
    pub(crate) exemption: Option<String>,
    /// A declared exemption staff check at the visit.
    pub(crate) staff_check: bool,
    /// A hold is paid before this.
    pub(crate) pay_until: Option<String>,
    /// The resident may pay online now.
    pub(crate) may_pay_online: bool,
    /// What was paid, `¥500`.
    pub(crate) paid: String,
    /// The payment a refund would return (staff pages).
    #[serde(skip)]
    pub(crate) refundable_payment: Option<PaymentId>,
}

/// The fee of `reservation`, or `None` when its service is free and nothing was assessed.
pub(crate) async fn fee_view(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    service: &Service,
    now: OffsetDateTime,
) -> AppResult<Option<FeeView>> {
    let lang = ctx.lang;
    let scope = state.scope(ctx.tenant.id, Actor::System);
    let receivable = fees::receivable_of(&state.reservations(), &scope, reservation.id).await?;
    let settlement = fees::settlement_of(reservation);
    let fee = service.rules.fee.as_ref();
    let amount = match (&receivable, fee) {
        (Some(r), _) => r.original_yen,
        (None, Some(fee)) => fee.amount_yen.get(),
        (None, None) => return Ok(None),
    };
    let live_hold = reservation.status == ReservationStatus::Held
        && reservation.hold_expires_at.is_some_and(|t| t > now);
    let active = live_hold || reservation.status == ReservationStatus::Confirmed;
    let mut view = FeeView {
        amount: Yen(amount).to_string(),
        state: "released",
        exemption: None,
        staff_check: false,
        pay_until: None,
        may_pay_online: false,
        paid: Yen(receivable.as_ref().map_or(0, |r| r.paid_yen)).to_string(),
        refundable_payment: None,
    };
    if let Some(Settlement::Exempt {
        exemption,
        staff_check,
    }) = &settlement
    {
        view.state = "exempt";
        view.exemption = Some(
            fee.and_then(|f| f.exemption(exemption))
                .map_or_else(|| exemption.clone(), |e| e.label(lang).to_owned()),
        );
        view.staff_check = *staff_check;
        return Ok(Some(view));
    }
    let status = receivable.as_ref().map(|r| r.status);
    view.state = match status {
        Some(ReceivableStatus::Paid | ReceivableStatus::Overpaid) if active => "paid",
        Some(ReceivableStatus::Paid | ReceivableStatus::Overpaid) => match reservation.status {
            ReservationStatus::Attended | ReservationStatus::NoShow => "paid",
            _ => "refund_due",
        },
        Some(ReceivableStatus::Cancelled | ReceivableStatus::WrittenOff) => "released",
        // Open, partly paid, or not assessed yet (the pay button assesses it).
        _ if live_hold => "awaiting_payment",
        _ if reservation.status == ReservationStatus::Confirmed => "at_counter",
        _ => "released",
    };
    if view.state == "awaiting_payment" {
        view.pay_until = reservation.hold_expires_at.map(|t| instant_label(t, lang));
    }
    view.may_pay_online = matches!(view.state, "awaiting_payment" | "at_counter")
        && state.gateways.online(ctx.tenant.id).await.is_some();
    if let (Some(receivable), "refund_due" | "paid") = (&receivable, view.state) {
        let payments = state
            .storage
            .list_payments(
                ctx.tenant.id,
                &PaymentFilter {
                    receivable: Some(receivable.id),
                    limit: 20,
                    ..PaymentFilter::default()
                },
            )
            .await?;
        view.refundable_payment = payments
            .iter()
            .find(|p| p.status == PaymentStatus::Succeeded)
            .map(|p| p.id);
    }
    Ok(Some(view))
}

/// One way of paying the booking form offers.
#[derive(Serialize)]
pub(crate) struct PaymentChoice {
    /// The form value: `card`, `paypay`, `counter` or `exempt_<code>`.
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) hint: Option<String>,
}

/// The ways to settle `fee` a resident chooses from on the booking form: online (card,
/// PayPay) when the city takes payments online, at the counter where allowed, and each
/// exemption.
pub(crate) fn payment_choices(fee: &Fee, online: bool, lang: Lang) -> Vec<PaymentChoice> {
    let mut choices = Vec::new();
    if online {
        for method in ["card", "paypay"] {
            choices.push(PaymentChoice {
                value: method.to_owned(),
                label: text(lang, &format!("fee_pay_{method}")),
                hint: None,
            });
        }
    }
    if fee.counter_allowed {
        choices.push(PaymentChoice {
            value: "counter".to_owned(),
            label: text(lang, "fee_pay_counter"),
            hint: None,
        });
    }
    for exemption in &fee.exemptions {
        let hint = match exemption.rule {
            madoguchi_booking::ExemptionRule::AgeAtLeast { .. } => {
                text(lang, "fee_exempt_age_hint")
            }
            madoguchi_booking::ExemptionRule::SelfDeclared => {
                text(lang, "fee_exempt_declared_hint")
            }
        };
        choices.push(PaymentChoice {
            value: format!("exempt_{}", exemption.code),
            label: text(lang, "fee_exempt_label").replace("{label}", exemption.label(lang)),
            hint: Some(hint),
        });
    }
    choices
}

/// Where the payment provider sends a payer of `reservation` back: the payment's result page,
/// or the reservation when they give up.
pub(crate) fn return_urls(
    public_url: &str,
    reservation: ReservationId,
) -> impl Fn(PaymentId) -> ReturnUrls + use<> {
    let base = public_url.trim_end_matches('/').to_owned();
    move |payment| ReturnUrls {
        result_url: format!("{base}/payments/{payment}"),
        cancel_url: format!("{base}/my/reservations/{reservation}"),
    }
}
