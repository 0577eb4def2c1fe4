//! The agency's payment data uploaded on finance's page: the file is checked as the CLI checks
//! it, kept in the database with a preview of exactly what applying it would do now (the same
//! decisions, taken without writing), and applied on request by the same import as
//! `madoguchi slips import`, in the background, its progress in the import's counts.
//!
//! Files for the page are bounded ([`MAX_UPLOAD_BYTES`]: tens of thousands of lines, far more
//! than a day's data); a larger file goes through the CLI, which streams it.

use crate::slip_imports::{self, FileProblem, ImportError, ImportReport, check_file, may_import};
use crate::{Actor, Scope, UseCaseError};
use madoguchi_domain::ErrorCode;
use madoguchi_domain::account::StaffAccess;
use madoguchi_konbini::dsk::Lines;
use madoguchi_storage::{
    ChunkOutcome, KonbiniImport, KonbiniImportStore, KonbiniUpload, NewKonbiniUpload, SlipStore,
    UploadState,
};
use uuid::Uuid;

/// The largest file the page takes (8 MiB: about 55,000 lines).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// An upload still applying this long after its claim was left by a node that stopped (a
/// file the page takes applies in seconds): it may be claimed again, and its lines already
/// applied are skipped.
pub const STALE_CLAIM: time::Duration = time::Duration::minutes(15);

/// An uploaded file with what applying it does (before), or did (after).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UploadView {
    pub upload: KonbiniUpload,
    /// What applying it would do now; `None` once it is applying or applied.
    pub preview: Option<Preview>,
    /// Its import, once it started.
    pub import: Option<KonbiniImport>,
}

/// What applying a file would do: lines stored now (and skipped, stored before), by kind, and
/// the reconciliation exceptions they raise; the money its lines take in, in yen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    pub applied: i64,
    pub skipped: i64,
    pub sokuho: i64,
    pub kakuho: i64,
    pub cancelled: i64,
    pub exceptions: i64,
    pub taken_yen: i64,
}

fn problem(code: &'static str) -> ImportError {
    ImportError::File(FileProblem {
        code,
        line: None,
        column: None,
    })
}

/// Checks `content` (named `file_name`), keeps it, and answers it with its preview.
pub async fn upload<S: SlipStore + KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    file_name: &str,
    content: Vec<u8>,
) -> Result<UploadView, ImportError> {
    if !may_import(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden).into());
    }
    if content.len() > MAX_UPLOAD_BYTES {
        return Err(problem("file_too_large"));
    }
    let settings = store
        .konbini_settings(scope.tenant)
        .await?
        .ok_or_else(|| UseCaseError::new(ErrorCode::SlipsNotConfigured))?;
    let checked = check_file(&content, settings.company_code).map_err(ImportError::File)?;
    let file_name = madoguchi_domain::text::bounded_text(file_name, 255)
        .ok()
        .flatten()
        .unwrap_or("payment-data.csv")
        .to_owned();
    let new = NewKonbiniUpload {
        id: Uuid::now_v7(),
        file_name,
        content,
        checksum: checked.checksum,
        lines: i64::try_from(checked.lines).unwrap_or(i64::MAX),
        uploaded_by: match scope.actor {
            Actor::Staff(account) => Some(account),
            _ => None,
        },
        at: scope.now(),
    };
    let preview = preview_of(store, scope, &new.content).await?;
    let upload = store.save_konbini_upload(scope.tenant, &new).await?;
    Ok(UploadView {
        upload,
        preview: Some(preview),
        import: None,
    })
}

async fn preview_of<S: KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    content: &[u8],
) -> Result<Preview, ImportError> {
    let mut lines = Lines::new(content);
    lines.header().map_err(|_| problem("file_changed"))?;
    let records = lines
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| problem("file_changed"))?;
    let outcome: ChunkOutcome = store
        .preview_konbini_records(scope.tenant, &records)
        .await?;
    Ok(Preview {
        applied: outcome.applied,
        skipped: outcome.skipped,
        sokuho: outcome.sokuho,
        kakuho: outcome.kakuho,
        cancelled: outcome.cancelled,
        exceptions: outcome.exceptions,
        taken_yen: outcome.taken_yen,
    })
}

async fn apply<S: SlipStore + KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: Uuid,
) -> Result<ImportReport, ImportError> {
    let upload = store.konbini_upload(scope.tenant, id).await?;
    let content = store.konbini_upload_content(scope.tenant, id).await?;
    let mut progress = |_: u64, _: u64| {};
    slip_imports::import(
        store,
        scope,
        access,
        &upload.file_name,
        &content,
        &mut progress,
    )
    .await
}

/// An upload as it stands: its preview while it waits, its import once it started.
pub async fn view<S: SlipStore + KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: Uuid,
) -> Result<UploadView, ImportError> {
    if !may_import(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden).into());
    }
    let upload = store.konbini_upload(scope.tenant, id).await?;
    // Its import is named once it ended; while it runs, it is the import of the same file.
    let import = match upload.import {
        Some(import) => Some(store.konbini_import(scope.tenant, import).await?),
        None => {
            store
                .konbini_import_by_checksum(scope.tenant, &upload.checksum)
                .await?
        }
    };
    let preview = match upload.state {
        UploadState::Previewed | UploadState::Failed => {
            let content = store.konbini_upload_content(scope.tenant, id).await?;
            Some(preview_of(store, scope, &content).await?)
        }
        UploadState::Applying | UploadState::Applied => None,
    };
    Ok(UploadView {
        upload,
        preview,
        import,
    })
}

/// The city's uploads, newest first.
pub async fn uploads<S: KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
) -> Result<Vec<KonbiniUpload>, ImportError> {
    if !may_import(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden).into());
    }
    Ok(store.konbini_uploads(scope.tenant, 50).await?)
}

/// Marks the upload applying; `Ok(false)` when it already is, or was applied (a second click).
pub async fn claim<S: KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: Uuid,
) -> Result<bool, ImportError> {
    if !may_import(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden).into());
    }
    store.konbini_upload(scope.tenant, id).await?;
    let now = scope.now();
    Ok(store
        .claim_konbini_upload(scope.tenant, id, now, now - STALE_CLAIM)
        .await?)
}

/// Applies a claimed upload through the import, then records how it ended. Meant to run in
/// the background: the import's counts show its progress.
pub async fn apply_claimed<S: SlipStore + KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    id: Uuid,
) -> Result<ImportReport, ImportError> {
    let outcome = apply(store, scope, access, id).await;
    // However it ended, the upload says so: a claimed upload never stays applying.
    let (import, problem) = match &outcome {
        Ok(report) => (Some(report.import), None),
        Err(ImportError::File(problem)) => (None, Some(problem.code)),
        Err(ImportError::Refused(refused)) => (None, Some(refused.code.as_str())),
    };
    store
        .settle_konbini_upload(scope.tenant, id, import, problem)
        .await?;
    outcome
}

/// A failed upload's stored problem in words: a file's problem or an error's message.
pub fn problem_message(code: &str, lang: madoguchi_domain::Lang) -> String {
    if let Some(problem) = FileProblem::named(code) {
        return problem.message(lang);
    }
    serde_json::from_value::<ErrorCode>(serde_json::Value::String(code.to_owned())).map_or_else(
        |_| ErrorCode::Internal.message(lang).to_owned(),
        |error| error.message(lang).to_owned(),
    )
}
