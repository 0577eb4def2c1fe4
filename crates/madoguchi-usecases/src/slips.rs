//! Convenience-store slips (コンビニ収納): a city's settings, issuing a cycle's slips as one
//! batch, the batch's PDF and manifest, and reissuing one receivable's slip. Finance and
//! administrators issue; the CLI (an operator) and jobs (the system) may too.
//!
//! The stored batch is the truth and its documents are a view of it: [`documents`] renders the
//! PDF and the manifest from the stored slips whenever they are asked for, so a lost file is
//! printed again identically, and issuing never leaves slips stored without a way to print
//! them.

use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang, ReceivableId};
use madoguchi_konbini::CompanyCode;
use madoguchi_payments::RevenueCategoryCode;
use madoguchi_pdf::{MAX_SLIPS_PER_DOCUMENT, Slip, render_slips};
use madoguchi_storage::{
    Agency, AuditStore, Cycle, IssuedBatch, IssuedSlip, KonbiniSettings, NewSlipBatch,
    PaymentStore, SlipBatch, SlipReissue, SlipStore,
};
use time::Date;
use uuid::Uuid;

fn may_issue(scope: &Scope, access: Option<&StaffAccess>) -> bool {
    match scope.actor {
        Actor::System | Actor::Operator => true,
        Actor::Staff(_) => access.is_some_and(StaffAccess::may_issue_slips),
        Actor::Resident(_) | Actor::Anonymous => false,
    }
}

fn field(name: &str, code: ErrorCode) -> UseCaseError {
    UseCaseError::fields(vec![crate::FieldError::new(name, code)])
}

/// Sets the city's company code (6 digits) and agency (`dsk`).
pub async fn configure<S: SlipStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    company_code: &str,
    agency: &str,
) -> UseCaseResult<KonbiniSettings> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let mut problems = Vec::new();
    let company_code = CompanyCode::parse(company_code.trim())
        .map_err(|_| {
            problems.push(crate::FieldError::new(
                "company_code",
                ErrorCode::ValidationFailed,
            ))
        })
        .ok();
    let agency = Agency::parse(agency.trim())
        .ok_or_else(|| {
            problems.push(crate::FieldError::new(
                "agency",
                ErrorCode::ValidationFailed,
            ))
        })
        .ok();
    let (Some(company_code), Some(agency)) = (company_code, agency) else {
        return Err(UseCaseError::fields(problems));
    };
    let settings = KonbiniSettings {
        company_code,
        agency,
    };
    let entry = audit::entry(
        scope,
        "slips.configured",
        None,
        serde_json::json!({"company_code": company_code.to_string(), "agency": agency.as_str()}),
    );
    store
        .save_konbini_settings(scope.tenant, &settings, scope.now(), &entry)
        .await?;
    Ok(settings)
}

/// Issues the first slip of every outstanding receivable of `category` due in `cycle`
/// (`YYYY-MM`) that has none yet, as one batch. Receivables owing ¥300,000 or more are left
/// out and listed in the answer.
pub async fn issue_cycle<S: SlipStore + PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    category: &str,
    cycle: &str,
) -> UseCaseResult<IssuedBatch> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let mut problems = Vec::new();
    let category = match RevenueCategoryCode::parse(category.trim()) {
        Ok(code) => {
            let known = store.revenue_categories(scope.tenant).await?;
            if known.iter().any(|c| c.code == code) {
                Some(code)
            } else {
                problems.push(crate::FieldError::new(
                    "category",
                    ErrorCode::InvalidRevenueCategory,
                ));
                None
            }
        }
        Err(code) => {
            problems.push(crate::FieldError::new("category", code));
            None
        }
    };
    let cycle = Cycle::parse(cycle.trim())
        .ok_or_else(|| problems.push(crate::FieldError::new("cycle", ErrorCode::DateOutOfRange)))
        .ok();
    let (Some(category), Some(cycle)) = (category, cycle) else {
        return Err(UseCaseError::fields(problems));
    };
    let id = Uuid::now_v7();
    let entry = audit::entry(
        scope,
        "slips.issued",
        Some(id.to_string()),
        serde_json::json!({"category": category.as_str(), "cycle": cycle.to_string()}),
    );
    let batch = NewSlipBatch {
        id,
        category,
        cycle,
        at: scope.now(),
    };
    Ok(store.issue_slips(scope.tenant, &batch, &entry).await?)
}

/// A batch and its slips, for its documents.
pub async fn batch<S: SlipStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: Uuid,
) -> UseCaseResult<(SlipBatch, Vec<IssuedSlip>)> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let batch = store.slip_batch(scope.tenant, id).await?;
    let slips = store.slips_of_batch(scope.tenant, id).await?;
    Ok((batch, slips))
}

/// The city's recent batches, newest first.
pub async fn batches<S: SlipStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
) -> UseCaseResult<Vec<SlipBatch>> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    Ok(store.slip_batches(scope.tenant, 50).await?)
}

/// A receivable and every slip issued for it, first issue first.
pub async fn of_receivable<S: SlipStore + PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    receivable: ReceivableId,
) -> UseCaseResult<(madoguchi_storage::Receivable, Vec<IssuedSlip>)> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let found = store.receivable(scope.tenant, receivable).await?;
    let slips = store.slips_of_receivable(scope.tenant, receivable).await?;
    Ok((found, slips))
}

/// The slip in force of the signed-in resident's own outstanding receivable, to print again
/// (a lost or late paper slip). Anything else (another payer's receivable, a paid or
/// cancelled one, one without a slip) is not found, so nothing about it is revealed.
pub async fn payer_slip<S: SlipStore + PaymentStore + ?Sized>(
    store: &S,
    scope: &Scope,
    receivable: ReceivableId,
) -> UseCaseResult<IssuedSlip> {
    let not_found = || UseCaseError::new(ErrorCode::NotFound);
    let crate::Actor::Resident(account) = scope.actor else {
        return Err(not_found());
    };
    let found = match store.receivable(scope.tenant, receivable).await {
        Ok(found) => found,
        Err(madoguchi_storage::StorageError::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let outstanding = matches!(
        found.status,
        madoguchi_payments::ReceivableStatus::Open
            | madoguchi_payments::ReceivableStatus::PartlyPaid
    );
    if found.payer_account != Some(account) || !outstanding {
        return Err(not_found());
    }
    store
        .slips_of_receivable(scope.tenant, receivable)
        .await?
        .into_iter()
        .find(|slip| slip.superseded_at.is_none())
        .ok_or_else(not_found)
}

/// Supersedes the slip of `receivable` with a new one due `due_on`, for `amount_yen` (what is
/// outstanding when `None`). The old barcode is still recognised when it is paid anyway.
pub async fn reissue<S: SlipStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    receivable: ReceivableId,
    due_on: Date,
    amount_yen: Option<i64>,
) -> UseCaseResult<IssuedSlip> {
    if !may_issue(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden));
    }
    let today = madoguchi_domain::tokyo::to_tokyo(scope.now()).date();
    if due_on < today || due_on.year() > 2099 {
        return Err(field("due_on", ErrorCode::DateOutOfRange));
    }
    let id = Uuid::now_v7();
    let entry = audit::entry(
        scope,
        "slips.reissued",
        Some(receivable.to_string()),
        serde_json::json!({"slip": id.to_string(), "due_on": due_on.to_string(), "amount_yen": amount_yen}),
    );
    let reissue = SlipReissue {
        id,
        receivable,
        due_on,
        amount_yen,
        at: scope.now(),
    };
    Ok(store.reissue_slip(scope.tenant, &reissue, &entry).await?)
}

/// A batch's printable documents.
pub struct Documents {
    /// The slips as one PDF, a page each (in reference order).
    pub pdf: Vec<u8>,
    /// `receivable_id,slip_number,barcode,amount_yen,due_on`, a line per slip.
    pub manifest_csv: String,
}

/// The slips' labels for printing, in the city's language.
pub struct PrintContext<'a> {
    pub city_name: &'a str,
    /// Revenue category names by code.
    pub category_name: &'a dyn Fn(&RevenueCategoryCode) -> String,
    pub issued_on: Date,
    pub lang: Lang,
}

/// Renders `slips` (at most [`MAX_SLIPS_PER_DOCUMENT`]; a larger batch is printed in parts by
/// the caller) and their manifest. CPU-bound: callers on a server run it off the async
/// workers.
pub fn documents(slips: &[IssuedSlip], context: &PrintContext<'_>) -> UseCaseResult<Documents> {
    if slips.len() > MAX_SLIPS_PER_DOCUMENT {
        return Err(UseCaseError::new(ErrorCode::ValidationFailed));
    }
    let printable: Vec<Slip> = slips
        .iter()
        .map(|slip| Slip {
            barcode: slip.barcode,
            city_name: context.city_name.to_owned(),
            payer_name: slip.payer_name.clone(),
            revenue_category: (context.category_name)(&slip.category),
            description: slip.description.clone(),
            slip_number: slip.slip_number(),
            issued_on: context.issued_on,
        })
        .collect();
    let pdf = render_slips(&printable, context.lang, context.issued_on)
        .map_err(UseCaseError::internal)?;
    Ok(Documents {
        pdf,
        manifest_csv: manifest(slips)?,
    })
}

/// The manifest CSV: a header and a line per slip. No names: it goes to the printer's and the
/// agency's systems, which need only the numbers.
pub fn manifest(slips: &[IssuedSlip]) -> UseCaseResult<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "receivable_id",
            "slip_number",
            "barcode",
            "amount_yen",
            "due_on",
        ])
        .map_err(UseCaseError::internal)?;
    for slip in slips {
        writer
            .write_record([
                slip.receivable.to_string(),
                slip.slip_number(),
                slip.barcode.to_string(),
                slip.amount_yen.to_string(),
                slip.due_on.to_string(),
            ])
            .map_err(UseCaseError::internal)?;
    }
    let bytes = writer.into_inner().map_err(UseCaseError::internal)?;
    String::from_utf8(bytes).map_err(UseCaseError::internal)
}
