//! Finance's convenience-store slip pages (コンビニ納付書): the city's slip settings, issuing a
//! cycle's slips, the batches issued, and each batch with its slips, its PDF and its manifest.
//! For finance and administrators (`StaffAccess::may_issue_slips`); every action goes through
//! `madoguchi_usecases::slips`, as the CLI does.

use super::staff_view::{Books, path_id, require_slips, staff_scope};
use super::{private_download as download, render_slips as render};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::i18n::text;
use crate::state::AppState;
use crate::view::page::{FormProblems, staff_base};
use crate::view::present::{date_label, instant_label};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::ErrorCode;
use madoguchi_usecases::slips;
use minijinja::context;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/slips", get(overview).post(issue))
        .route("/finance/slips/settings", post(configure))
        .route("/finance/slips/batches/{id}", get(batch_page))
        .route("/finance/slips/batches/{id}/slips.pdf", get(batch_pdf))
        .route(
            "/finance/slips/batches/{id}/manifest.csv",
            get(batch_manifest),
        )
        .route(
            "/finance/slips/receivables/{id}",
            get(receivable_page).post(reissue),
        )
        .route(
            "/finance/slips/receivables/{id}/slip.pdf",
            get(receivable_pdf),
        )
}

/// What a refused form showed: its fields as entered and their problems.
#[derive(Default)]
struct Entered {
    category: String,
    cycle: String,
    company_code: String,
    problems: Option<FormProblems>,
    /// Which form the problems belong to: `issue` or `settings`.
    form: &'static str,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn render_overview(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    entered: Entered,
    notice: Option<String>,
) -> AppResult<Response> {
    let lang = ctx.lang;
    let scope = staff_scope(state, ctx, staff);
    let books = Books::load(state, ctx).await?;
    let settings = state.storage.konbini_settings(ctx.tenant.id).await?;
    let batches = slips::batches(&*state.storage, &scope, Some(&staff.access)).await?;
    let rows: Vec<_> = batches
        .iter()
        .map(|b| {
            context! {
                id => b.id.to_string(),
                category => books.category_name(&b.category),
                cycle => b.cycle.clone(),
                slips => b.slips,
                total_yen => b.total_yen,
                created => instant_label(b.created_at, lang),
            }
        })
        .collect();
    let categories: Vec<_> = books
        .categories
        .iter()
        .filter(|c| !c.is_tax)
        .map(|c| {
            context! {
                code => c.code.as_str(),
                name => books.category_name(&c.code),
            }
        })
        .collect();
    let today = madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date();
    let default_cycle = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    let problems_of = |form: &str| {
        entered
            .problems
            .as_ref()
            .filter(|_| entered.form == form)
            .map(|p| p.errors.clone())
            .unwrap_or_default()
    };
    let status = entered
        .problems
        .as_ref()
        .map_or(axum::http::StatusCode::OK, |p| p.status);
    let base = staff_base(ctx, staff, session).await?;
    let html = state.templates.page(
        "payments/finance_slips.html",
        &base,
        context! {
            section => "slips",
            configured => settings.is_some(),
            company_code => if entered.form == "settings" { entered.company_code.clone() } else { settings.map(|s| s.company_code.to_string()).unwrap_or_default() },
            categories,
            category => if entered.category.is_empty() { "water_charge".to_owned() } else { entered.category.clone() },
            cycle => if entered.cycle.is_empty() { default_cycle } else { entered.cycle.clone() },
            issue_errors => problems_of("issue"),
            settings_errors => problems_of("settings"),
            alert => entered.problems.as_ref().map(|p| p.alert.clone()),
            notice,
            batches => rows,
        },
    )?;
    Ok((status, html).into_response())
}

async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<DoneQuery>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let notice = (query.done == "configured").then(|| text(ctx.lang, "slips_configured"));
    render_overview(&state, &ctx, &session, &staff, Entered::default(), notice).await
}

#[derive(Deserialize, Default)]
struct IssueForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    cycle: String,
}

/// The problems of a refused form, each under its field.
fn problems(error: &AppError, lang: madoguchi_domain::Lang) -> FormProblems {
    FormProblems::refused(error, lang, |f| {
        (f.field.clone(), f.code.message(lang).to_owned())
    })
}

fn refused_by_form(error: &AppError) -> bool {
    error.status.is_client_error()
        && !matches!(error.code, ErrorCode::Forbidden | ErrorCode::NotFound)
}

async fn issue(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<IssueForm>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let scope = staff_scope(&state, &ctx, &staff);
    match slips::issue_cycle(
        &*state.storage,
        &scope,
        Some(&staff.access),
        &form.category,
        &form.cycle,
    )
    .await
    .map_err(AppError::from)
    {
        Ok(issued) => Ok(Redirect::to(&format!(
            "/finance/slips/batches/{}?done=issued&skipped={}",
            issued.batch.id,
            issued.skipped.len()
        ))
        .into_response()),
        Err(error) if refused_by_form(&error) => {
            let entered = Entered {
                category: form.category,
                cycle: form.cycle,
                problems: Some(problems(&error, ctx.lang)),
                form: "issue",
                ..Entered::default()
            };
            render_overview(&state, &ctx, &session, &staff, entered, None).await
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    company_code: String,
}

async fn configure(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<SettingsForm>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let scope = staff_scope(&state, &ctx, &staff);
    match slips::configure(
        &*state.storage,
        &scope,
        Some(&staff.access),
        &form.company_code,
        "dsk",
    )
    .await
    .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to("/finance/slips?done=configured").into_response()),
        Err(error) if refused_by_form(&error) => {
            let entered = Entered {
                company_code: form.company_code,
                problems: Some(problems(&error, ctx.lang)),
                form: "settings",
                ..Entered::default()
            };
            render_overview(&state, &ctx, &session, &staff, entered, None).await
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
struct BatchQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    skipped: String,
}

async fn batch_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(query): Query<BatchQuery>,
) -> AppResult<Html<String>> {
    require_slips(&staff)?;
    let lang = ctx.lang;
    let scope = staff_scope(&state, &ctx, &staff);
    let (batch, issued) =
        slips::batch(&*state.storage, &scope, Some(&staff.access), path_id(&id)?).await?;
    let books = Books::load(&state, &ctx).await?;
    let notice = (query.done == "issued")
        .then(|| text(lang, "slips_issued_notice").replace("{n}", &batch.slips.to_string()));
    let skipped: u32 = query.skipped.parse().unwrap_or(0);
    let rows: Vec<_> = issued
        .iter()
        .map(|slip| {
            context! {
                number => slip.slip_number(),
                payer => slip.payer_name.clone(),
                description => slip.description.clone(),
                amount_yen => slip.amount_yen,
                due => date_label(slip.due_on, lang),
                superseded => slip.superseded_at.is_some(),
                receivable => slip.receivable.to_string(),
            }
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "payments/finance_slip_batch.html",
        &base,
        context! {
            section => "slips",
            id => batch.id.to_string(),
            category => books.category_name(&batch.category),
            cycle => batch.cycle.clone(),
            count => batch.slips,
            total_yen => batch.total_yen,
            created => instant_label(batch.created_at, lang),
            notice,
            skipped => (skipped > 0).then(|| text(lang, "slips_skipped_notice").replace("{n}", &skipped.to_string())),
            slips => rows,
        },
    )
}

async fn batch_files(
    state: &AppState,
    ctx: &Ctx,
    staff: &StaffSession,
    id: Uuid,
) -> AppResult<(madoguchi_storage::SlipBatch, slips::Documents)> {
    let scope = staff_scope(state, ctx, staff);
    let (batch, issued) = slips::batch(&*state.storage, &scope, Some(&staff.access), id).await?;
    let issued_on = madoguchi_domain::tokyo::to_tokyo(batch.created_at).date();
    let documents = render(state, ctx, issued, issued_on).await?;
    Ok((batch, documents))
}

async fn batch_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let (batch, documents) = batch_files(&state, &ctx, &staff, path_id(&id)?).await?;
    Ok(download(
        "application/pdf",
        format!("slips-{}-{}.pdf", batch.category, batch.cycle),
        documents.pdf,
    ))
}

async fn batch_manifest(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let scope = staff_scope(&state, &ctx, &staff);
    let (batch, issued) =
        slips::batch(&*state.storage, &scope, Some(&staff.access), path_id(&id)?).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        format!("slips-{}-{}.csv", batch.category, batch.cycle),
        slips::manifest(&issued)?.into_bytes(),
    ))
}

/// The reissue form as entered, with its problems.
#[derive(Default)]
struct ReissueEntered {
    due_on: String,
    amount_yen: String,
    problems: Option<FormProblems>,
}

async fn render_receivable(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    id: Uuid,
    entered: ReissueEntered,
    notice: Option<String>,
) -> AppResult<Response> {
    let lang = ctx.lang;
    let scope = staff_scope(state, ctx, staff);
    let (receivable, issued) = slips::of_receivable(
        &*state.storage,
        &scope,
        Some(&staff.access),
        madoguchi_domain::ReceivableId(id),
    )
    .await?;
    let rows: Vec<_> = issued
        .iter()
        .map(|slip| {
            context! {
                number => slip.slip_number(),
                amount_yen => slip.amount_yen,
                due => date_label(slip.due_on, lang),
                issued => instant_label(slip.issued_at, lang),
                superseded => slip.superseded_at.is_some(),
            }
        })
        .collect();
    let in_force = issued.iter().any(|slip| slip.superseded_at.is_none());
    let outstanding = receivable.outstanding_yen();
    let today = madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date();
    let default_due = today
        .checked_add(time::Duration::days(14))
        .unwrap_or(today)
        .to_string();
    let status = entered
        .problems
        .as_ref()
        .map_or(axum::http::StatusCode::OK, |p| p.status);
    let base = staff_base(ctx, staff, session).await?;
    let html = state.templates.page(
        "payments/finance_slip_reissue.html",
        &base,
        context! {
            section => "slips",
            receivable => receivable.id.to_string(),
            description => receivable.description.clone(),
            payer => receivable.payer_name.clone(),
            outstanding_yen => outstanding,
            slips => rows,
            in_force,
            reissuable => in_force && outstanding > 0,
            due_on => if entered.due_on.is_empty() { default_due } else { entered.due_on.clone() },
            amount_yen => entered.amount_yen.clone(),
            errors => entered.problems.as_ref().map(|p| p.errors.clone()).unwrap_or_default(),
            alert => entered.problems.as_ref().map(|p| p.alert.clone()),
            notice,
        },
    )?;
    Ok((status, html).into_response())
}

#[derive(Deserialize, Default)]
struct ReissuedQuery {
    #[serde(default)]
    reissued: String,
}

async fn receivable_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(query): Query<ReissuedQuery>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let notice = query
        .reissued
        .parse::<u8>()
        .ok()
        .map(|n| text(ctx.lang, "slips_reissued").replace("{n}", &n.to_string()));
    render_receivable(
        &state,
        &ctx,
        &session,
        &staff,
        path_id(&id)?,
        ReissueEntered::default(),
        notice,
    )
    .await
}

#[derive(Deserialize, Default)]
struct ReissueForm {
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    amount_yen: String,
}

async fn reissue(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<ReissueForm>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let id = path_id(&id)?;
    let due_on = time::Date::parse(
        form.due_on.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::field("due_on", ErrorCode::DateOutOfRange));
    let amount = match form.amount_yen.trim() {
        "" => Ok(None),
        raw => raw
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::field("amount_yen", ErrorCode::ValidationFailed)),
    };
    let outcome = match (due_on, amount) {
        (Ok(due_on), Ok(amount)) => {
            let scope = staff_scope(&state, &ctx, &staff);
            slips::reissue(
                &*state.storage,
                &scope,
                Some(&staff.access),
                madoguchi_domain::ReceivableId(id),
                due_on,
                amount,
            )
            .await
            .map_err(AppError::from)
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match outcome {
        Ok(slip) => Ok(Redirect::to(&format!(
            "/finance/slips/receivables/{id}?reissued={}",
            slip.reissue
        ))
        .into_response()),
        Err(error) if refused_by_form(&error) => {
            // A rule about the amount is shown under the amount.
            let mut error = error;
            if error.fields.is_empty()
                && matches!(
                    error.code,
                    ErrorCode::PaymentExceedsOutstanding
                        | ErrorCode::SlipAmountTooLarge
                        | ErrorCode::ValidationFailed
                )
            {
                error = AppError::field("amount_yen", error.code);
            }
            let entered = ReissueEntered {
                due_on: form.due_on,
                amount_yen: form.amount_yen,
                problems: Some(problems(&error, ctx.lang)),
            };
            render_receivable(&state, &ctx, &session, &staff, id, entered, None).await
        }
        Err(error) => Err(error),
    }
}

async fn receivable_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let scope = staff_scope(&state, &ctx, &staff);
    let (_, issued) = slips::of_receivable(
        &*state.storage,
        &scope,
        Some(&staff.access),
        madoguchi_domain::ReceivableId(path_id(&id)?),
    )
    .await?;
    let in_force: Vec<_> = issued
        .into_iter()
        .filter(|slip| slip.superseded_at.is_none())
        .collect();
    let Some(slip) = in_force.first() else {
        return Err(AppError::new(ErrorCode::NotFound));
    };
    let filename = format!("slip-{}.pdf", slip.slip_number());
    let today = madoguchi_domain::tokyo::to_tokyo(state.clock.now()).date();
    let documents = render(&state, &ctx, in_force, today).await?;
    Ok(download("application/pdf", filename, documents.pdf))
}
