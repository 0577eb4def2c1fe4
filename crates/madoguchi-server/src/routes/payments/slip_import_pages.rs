//! Finance's page for the agency's payment data (収納データ): upload a file, see exactly what
//! applying it would do (the import's own decisions, taken without writing), apply it, and
//! watch it go; the past uploads and the reconciliation exceptions the data raised. Every step
//! is `madoguchi_usecases::slip_uploads`, which applies through the import the CLI uses.

use super::staff_view::{path_id, require_slips, staff_scope};
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::upload::{body_limit, file_field};
use crate::i18n::text;
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::instant_label;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_storage::{KonbiniUpload, UploadState};
use madoguchi_usecases::slip_imports::ImportError;
use madoguchi_usecases::slip_uploads::{self, UploadView};
use minijinja::{Value, context};
use tower_sessions::Session;

const IMPORTS: &str = "/finance/slips/imports";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            IMPORTS,
            get(imports_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(body_limit(IMPORTS, 0))),
        )
        .route("/finance/slips/imports/{id}", get(upload_page))
        .route("/finance/slips/imports/{id}/apply", post(apply))
}

/// A refused file is shown on the form; anything else is an error page.
fn into_app_error(error: ImportError) -> AppError {
    match error {
        ImportError::Refused(refused) => refused.into(),
        ImportError::File(_) => AppError::new(ErrorCode::ValidationFailed),
    }
}

fn state_label(state: UploadState, lang: Lang) -> String {
    text(
        lang,
        match state {
            UploadState::Previewed => "konbini_upload_state_previewed",
            UploadState::Applying => "konbini_upload_state_applying",
            UploadState::Applied => "konbini_upload_state_applied",
            UploadState::Failed => "konbini_upload_state_failed",
        },
    )
}

fn upload_row(upload: &KonbiniUpload, lang: Lang) -> Value {
    context! {
        id => upload.id.to_string(),
        file_name => upload.file_name.clone(),
        lines => upload.lines,
        uploaded => instant_label(upload.uploaded_at, lang),
        state => state_label(upload.state, lang),
    }
}

async fn render_imports(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    file_error: Option<String>,
) -> AppResult<Response> {
    let lang = ctx.lang;
    let scope = staff_scope(state, ctx, staff);
    let uploads = slip_uploads::uploads(&*state.storage, &scope, Some(&staff.access))
        .await
        .map_err(into_app_error)?;
    let exceptions = state
        .storage
        .konbini_exceptions(ctx.tenant.id, 100)
        .await?
        .iter()
        .map(|line| {
            context! {
                paid => instant_label(line.paid_at, lang),
                barcode => line.barcode.clone(),
                amount_yen => line.amount_yen,
                chain => madoguchi_konbini::dsk::Chain::parse(&line.chain)
                    .and_then(|c| c.known_name())
                    .unwrap_or(line.chain.as_str())
                    .to_owned(),
                exception => line.exception.map(|e| text(lang, &format!("konbini_exception_{}", e.code()))),
                receivable => line.receivable.map(|r| r.to_string()),
            }
        })
        .collect::<Vec<_>>();
    let status = if file_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let base = staff_base(ctx, staff, session).await?;
    let html = state.templates.page(
        "payments/finance_slip_imports.html",
        &base,
        context! {
            section => "slip_imports",
            file_error,
            max_mb => slip_uploads::MAX_UPLOAD_BYTES / (1024 * 1024),
            uploads => uploads.iter().map(|u| upload_row(u, lang)).collect::<Vec<_>>(),
            exceptions,
        },
    )?;
    Ok((status, html).into_response())
}

async fn imports_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Response> {
    require_slips(&staff)?;
    render_imports(&state, &ctx, &session, &staff, None).await
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    multipart: Multipart,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let file = file_field(multipart, "file").await?;
    if file.bytes.is_empty() {
        let message = text(ctx.lang, "konbini_upload_no_file");
        return render_imports(&state, &ctx, &session, &staff, Some(message)).await;
    }
    let scope = staff_scope(&state, &ctx, &staff);
    match slip_uploads::upload(
        &*state.storage,
        &scope,
        Some(&staff.access),
        &file.name,
        file.bytes,
    )
    .await
    {
        Ok(view) => Ok(Redirect::to(&format!("{IMPORTS}/{}", view.upload.id)).into_response()),
        Err(ImportError::File(problem)) => {
            let message = problem.message(ctx.lang);
            render_imports(&state, &ctx, &session, &staff, Some(message)).await
        }
        Err(error) => Err(into_app_error(error)),
    }
}

fn view_context(view: &UploadView, lang: Lang, now: time::OffsetDateTime) -> Value {
    let upload = &view.upload;
    let import = view.import.as_ref().map(|i| {
        context! {
            lines => i.lines,
            applied => i.applied,
            sokuho => i.sokuho,
            kakuho => i.kakuho,
            cancelled => i.cancelled,
            exceptions => i.exceptions,
            done => i.done,
            percent => if i.lines > 0 { (i.applied * 100 / i.lines).clamp(0, 100) } else { 100 },
        }
    });
    context! {
        upload => upload_row(upload, lang),
        checksum => upload.checksum.clone(),
        preview => view.preview,
        import,
        applying => upload.state == UploadState::Applying,
        applied => upload.state == UploadState::Applied,
        may_apply => matches!(upload.state, UploadState::Previewed | UploadState::Failed),
        // A claim left behind by a node that stopped: offered again.
        stalled => upload.state == UploadState::Applying
            && upload.claimed_at.is_some_and(|at| at < now - slip_uploads::STALE_CLAIM),
        problem => upload.problem.as_deref().map(|code| slip_uploads::problem_message(code, lang)),
    }
}

async fn upload_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let scope = staff_scope(&state, &ctx, &staff);
    let view = slip_uploads::view(&*state.storage, &scope, Some(&staff.access), path_id(&id)?)
        .await
        .map_err(into_app_error)?;
    let base = staff_base(&ctx, &staff, &session).await?;
    let html = state.templates.page(
        "payments/finance_slip_upload.html",
        &base,
        context! {
            section => "slip_imports",
            ..view_context(&view, ctx.lang, state.clock.now())
        },
    )?;
    Ok(html.into_response())
}

/// Claims the upload and applies it in the background; the upload's page follows it.
async fn apply(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<String>,
) -> AppResult<Response> {
    require_slips(&staff)?;
    let id = path_id(&id)?;
    let scope = staff_scope(&state, &ctx, &staff);
    let claimed = slip_uploads::claim(&*state.storage, &scope, Some(&staff.access), id)
        .await
        .map_err(into_app_error)?;
    if claimed {
        let storage = state.storage.clone();
        let access = staff.access.clone();
        tokio::spawn(async move {
            // How it ended is stored on the upload; the page shows it.
            if let Err(ImportError::Refused(error)) =
                slip_uploads::apply_claimed(&*storage, &scope, Some(&access), id).await
            {
                tracing::warn!(code = error.code.as_str(), upload = %id, "an uploaded payment-data file was not applied");
            }
        });
    }
    Ok(Redirect::to(&format!("{IMPORTS}/{id}")).into_response())
}
