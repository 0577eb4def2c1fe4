//! The collection agency's payment data as stored: each file imported (by its checksum) and
//! each line once (by its identity), with what it did.
//!
//! Architecture invariant: a file is applied in chunks, each one transaction that locks what
//! it changes (PostgreSQL `FOR UPDATE` on the receivable, SQLite `BEGIN IMMEDIATE`); a line
//! already stored is skipped, so a file sent again, or an import killed half way and run again,
//! applies every line exactly once. What a line does is decided by
//! `madoguchi_konbini::apply::decide`; its payment, its posting and its record are written in
//! the same transaction, and the ledger stays balanced whatever the line says.

use crate::{NewAuditEntry, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, PaymentId, ReceivableId, TenantId};
use madoguchi_konbini::apply::Exception;
use madoguchi_konbini::dsk::{PaymentRecord, RecordKind};
use time::OffsetDateTime;
use uuid::Uuid;

/// A file about to be applied.
#[derive(Clone, Debug)]
pub struct NewKonbiniImport {
    pub id: Uuid,
    pub agency: crate::Agency,
    /// The file's name as uploaded or given (no path).
    pub file_name: String,
    /// SHA-256 of the whole file, lowercase hex.
    pub checksum: String,
    /// Data lines (the header not counted).
    pub lines: i64,
    pub at: OffsetDateTime,
}

/// A file as imported, with its counts so far.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KonbiniImport {
    pub id: Uuid,
    pub file_name: String,
    pub checksum: String,
    pub lines: i64,
    pub done: bool,
    /// Lines stored by this import (a line already stored by an earlier file is not counted).
    pub applied: i64,
    pub sokuho: i64,
    pub kakuho: i64,
    pub cancelled: i64,
    pub exceptions: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// Where an import stands when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportStart {
    /// A new file: apply it.
    Fresh(KonbiniImport),
    /// The same file was started before and not finished (a crash): apply it again; lines
    /// already stored are skipped.
    Resume(KonbiniImport),
    /// The same file was imported completely: nothing to do.
    AlreadyDone(KonbiniImport),
}

/// What one chunk of lines did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    /// Lines stored now.
    pub applied: i64,
    /// Lines stored before (by this file or another).
    pub skipped: i64,
    pub sokuho: i64,
    pub kakuho: i64,
    pub cancelled: i64,
    pub exceptions: i64,
    /// The money the stored lines took in (to a receivable or to suspense), in yen.
    pub taken_yen: i64,
}

impl ChunkOutcome {
    /// Counts a stored line of `kind`, with or without an exception.
    pub fn count(&mut self, kind: RecordKind, exception: Option<Exception>) {
        self.applied += 1;
        match kind {
            RecordKind::Sokuho => self.sokuho += 1,
            RecordKind::Kakuho => self.kakuho += 1,
            RecordKind::SokuhoCancel => self.cancelled += 1,
        }
        if exception.is_some() {
            self.exceptions += 1;
        }
    }
}

/// A stored line of payment data, for finance's exception list and reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredPaymentLine {
    pub id: Uuid,
    pub import: Uuid,
    pub line_no: i64,
    pub kind: RecordKind,
    pub barcode: String,
    pub slip: Option<Uuid>,
    pub receivable: Option<ReceivableId>,
    pub amount_yen: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub paid_at: OffsetDateTime,
    pub chain: String,
    pub store_code: String,
    pub payment: Option<PaymentId>,
    pub exception: Option<Exception>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cancelled_at: Option<OffsetDateTime>,
}

/// A file finance uploaded on the staff page, between its preview and its import.
#[derive(Clone, Debug)]
pub struct NewKonbiniUpload {
    pub id: Uuid,
    pub file_name: String,
    pub content: Vec<u8>,
    /// SHA-256 of `content`, lowercase hex.
    pub checksum: String,
    pub lines: i64,
    pub uploaded_by: Option<AccountId>,
    pub at: OffsetDateTime,
}

/// Where an uploaded file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Checked and previewed; not applied.
    Previewed,
    /// Being applied (its import shows how far).
    Applying,
    Applied,
    /// Applying stopped with a problem; it can be applied again (lines already applied are
    /// skipped).
    Failed,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Previewed => "previewed",
            UploadState::Applying => "applying",
            UploadState::Applied => "applied",
            UploadState::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<UploadState> {
        [
            UploadState::Previewed,
            UploadState::Applying,
            UploadState::Applied,
            UploadState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == raw)
    }
}

/// An uploaded file as stored (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KonbiniUpload {
    pub id: Uuid,
    pub file_name: String,
    pub checksum: String,
    pub lines: i64,
    pub uploaded_by: Option<AccountId>,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    pub state: UploadState,
    /// When it was last claimed for applying.
    #[serde(with = "time::serde::rfc3339::option")]
    pub claimed_at: Option<OffsetDateTime>,
    pub import: Option<Uuid>,
    /// The stable code of what stopped it (`FileProblem` or `ErrorCode`), when it failed.
    pub problem: Option<String>,
}

/// The instant a line says the store took the money (its date and time are Tokyo's).
pub fn paid_at(record: &PaymentRecord) -> OffsetDateTime {
    record
        .paid_on
        .with_time(record.paid_at)
        .assume_offset(madoguchi_domain::tokyo::JST)
        .to_offset(time::UtcOffset::UTC)
}

#[async_trait]
pub trait KonbiniImportStore: Send + Sync {
    /// Registers the file, or finds it by its checksum (see [`ImportStart`]); `audit` is written
    /// only for a fresh file.
    async fn start_konbini_import(
        &self,
        tenant: TenantId,
        new: &NewKonbiniImport,
        audit: &NewAuditEntry,
    ) -> StorageResult<ImportStart>;

    /// Applies `records` (with their line numbers) of `import` in one transaction, adding what
    /// they did to the import's counts.
    async fn apply_konbini_records(
        &self,
        tenant: TenantId,
        import: Uuid,
        records: &[(u64, PaymentRecord)],
        at: OffsetDateTime,
    ) -> StorageResult<ChunkOutcome>;

    /// Marks the import done, with `audit`.
    async fn finish_konbini_import(
        &self,
        tenant: TenantId,
        import: Uuid,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<KonbiniImport>;

    async fn konbini_import(&self, tenant: TenantId, import: Uuid) -> StorageResult<KonbiniImport>;
    /// The import of the file with `checksum`, if it was ever started.
    async fn konbini_import_by_checksum(
        &self,
        tenant: TenantId,
        checksum: &str,
    ) -> StorageResult<Option<KonbiniImport>>;
    /// The city's imports, newest first.
    async fn konbini_imports(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<KonbiniImport>>;
    /// Lines with a reconciliation exception, oldest first.
    async fn konbini_exceptions(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<StoredPaymentLine>>;
    /// What applying `records` (a whole file, in order) would do now, without writing
    /// anything: the upload page's preview.
    async fn preview_konbini_records(
        &self,
        tenant: TenantId,
        records: &[(u64, PaymentRecord)],
    ) -> StorageResult<ChunkOutcome>;

    async fn save_konbini_upload(
        &self,
        tenant: TenantId,
        new: &NewKonbiniUpload,
    ) -> StorageResult<KonbiniUpload>;
    async fn konbini_upload(&self, tenant: TenantId, id: Uuid) -> StorageResult<KonbiniUpload>;
    async fn konbini_upload_content(&self, tenant: TenantId, id: Uuid) -> StorageResult<Vec<u8>>;
    /// The city's uploads, newest first.
    async fn konbini_uploads(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> StorageResult<Vec<KonbiniUpload>>;
    /// Moves a previewed or failed upload, or one claimed before `stale_before` and still
    /// applying (its task stopped with its node), to applying as of `at`; `false` when it is
    /// applying or applied (a second click), so it is applied by one task at a time.
    async fn claim_konbini_upload(
        &self,
        tenant: TenantId,
        id: Uuid,
        at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StorageResult<bool>;
    /// Ends an applying upload: applied by `import`, or failed with `problem`.
    async fn settle_konbini_upload(
        &self,
        tenant: TenantId,
        id: Uuid,
        import: Option<Uuid>,
        problem: Option<&str>,
    ) -> StorageResult<()>;

    /// Every stored line of a payment of `barcode`, oldest first.
    async fn konbini_lines_of_barcode(
        &self,
        tenant: TenantId,
        barcode: &str,
    ) -> StorageResult<Vec<StoredPaymentLine>>;
}
