//! Pure payment rules of Madoguchi: what is owed (receivables, 調定), how one payment moves
//! through its states, the municipal rules a checkout must respect, refunds with four eyes, and
//! the ledger postings every one of those changes produces.
//!
//! Architecture invariant: no I/O and no async here. Storage records what these functions
//! decide; a provider's wire shapes (Stripe) never reach this crate.

pub mod amount;
pub mod category;
pub mod ledger;
pub mod method;
pub mod payment;
pub mod receivable;
pub mod refund;
pub mod rules;

pub use amount::PaymentAmount;
pub use category::{RevenueCategory, RevenueCategoryCode};
pub use ledger::{LedgerAccount, LedgerLine, Posting, PostingError, PostingKind};
pub use method::{Brand, Channel, Method, MethodFamily, Provider};
pub use payment::{PaymentSignal, PaymentStatus, SignalDecision};
pub use receivable::{Closure, ReceivableChange, ReceivableState, ReceivableStatus};
pub use refund::{RefundDecision, RefundStatus, check_refund_amount};
pub use rules::{CheckoutProblem, CounterCheckout, check_counter_checkout, check_new_payment};
