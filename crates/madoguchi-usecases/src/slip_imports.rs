//! Importing the collection agency's payment data (DSK 速報/確報/速報取消): the file is read
//! twice, streamed, never held whole. The first pass checks every line (its shape, its dates,
//! its check digit, the city's company code, the stores' amount limit) and the file's SHA-256;
//! a file with any problem is refused with its line and nothing of it is applied. The second
//! pass applies the lines in chunks of [`CHUNK_LINES`], each one transaction; a file imported
//! before changes nothing, and one whose import stopped half way is finished where it stopped.
//!
//! Finance and administrators import, as do the CLI (an operator) and jobs.

use std::io::{BufRead, Read};

use crate::{Actor, Scope, UseCaseError, audit};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_konbini::dsk::{DskError, Lines, PaymentRecord};
use madoguchi_konbini::{AMOUNT_LIMIT_YEN, CompanyCode};
use madoguchi_storage::{Agency, ImportStart, KonbiniImportStore, NewKonbiniImport, SlipStore};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Lines applied per transaction: large enough that a million lines take a thousand commits,
/// small enough that one transaction never holds a city's slips for long.
pub const CHUNK_LINES: usize = 1_000;

/// Where the file's bytes come from; opened once per pass.
pub trait Source: Sync {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>>;
}

impl Source for [u8] {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        Ok(Box::new(self))
    }
}

impl Source for Vec<u8> {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        Ok(Box::new(self.as_slice()))
    }
}

/// A file on disk.
pub struct FileSource(pub std::path::PathBuf);

impl Source for FileSource {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        Ok(Box::new(std::io::BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(&self.0)?,
        )))
    }
}

/// What is wrong with a file, at which line (1 is the header) and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    /// Stable: `file_empty`, `file_header`, `file_encoding`, `file_truncated`, `line_too_long`,
    /// `line_columns`, `line_column`, `line_barcode`, `file_other_city`,
    /// `line_amount_over_limit`, `file_unreadable`, `file_changed`, `file_too_large`.
    pub code: &'static str,
    pub line: Option<u64>,
    pub column: Option<&'static str>,
}

/// Every [`FileProblem`] code.
const FILE_PROBLEM_CODES: &[&str] = &[
    "file_empty",
    "file_header",
    "file_encoding",
    "file_truncated",
    "line_too_long",
    "line_columns",
    "line_column",
    "line_barcode",
    "file_other_city",
    "line_amount_over_limit",
    "file_unreadable",
    "file_changed",
    "file_too_large",
];

impl FileProblem {
    /// The problem of a stored code (without its line), if it is one.
    pub fn named(code: &str) -> Option<FileProblem> {
        FILE_PROBLEM_CODES
            .iter()
            .find(|known| **known == code)
            .map(|known| FileProblem {
                code: known,
                line: None,
                column: None,
            })
    }

    fn of(error: &DskError) -> FileProblem {
        FileProblem {
            code: error.code(),
            line: error.line(),
            column: error.column(),
        }
    }

    /// The problem in words, naming the line: for the CLI and the upload page.
    pub fn message(&self, lang: Lang) -> String {
        let what = match (self.code, lang) {
            ("file_empty", Lang::Ja) => "ファイルが空です。",
            ("file_empty", Lang::En) => "The file is empty.",
            ("file_header", Lang::Ja) => "見出し行がDSKの収納データの形式と一致しません。",
            ("file_header", Lang::En) => "The header row does not match DSK's payment data format.",
            ("file_encoding", Lang::Ja) => {
                "Shift_JIS（CP932）の文字として読めないバイトがあります。"
            }
            ("file_encoding", Lang::En) => "There are bytes that are not Shift_JIS (CP932) text.",
            ("file_truncated", Lang::Ja) => {
                "ファイルが途中で切れています（最後の行に改行がありません）。"
            }
            ("file_truncated", Lang::En) => {
                "The file is cut off (its last line has no line break)."
            }
            ("line_too_long", Lang::Ja) => "行が長すぎます（1行1,024バイトまで）。",
            ("line_too_long", Lang::En) => "The line is too long (at most 1,024 bytes).",
            ("line_columns", Lang::Ja) => "項目の数が13ではありません。",
            ("line_columns", Lang::En) => "The line does not have 13 columns.",
            ("line_column", Lang::Ja) => "項目の値が正しくありません。",
            ("line_column", Lang::En) => "A column's value is not valid.",
            ("line_barcode", Lang::Ja) => {
                "バーコード情報が正しくありません（桁数・チェックデジット・日付）。"
            }
            ("line_barcode", Lang::En) => "The barcode is not valid (length, check digit or date).",
            ("file_other_city", Lang::Ja) => {
                "この市の収納企業コードではないバーコードがあります。別の市のファイルではありませんか。"
            }
            ("file_other_city", Lang::En) => {
                "A barcode carries another company code: is this another city's file?"
            }
            ("line_amount_over_limit", Lang::Ja) => {
                "金額がコンビニ収納の上限（30万円未満）を超えています。"
            }
            ("line_amount_over_limit", Lang::En) => {
                "The amount is over the stores' limit (under ¥300,000)."
            }
            ("file_too_large", Lang::Ja) => {
                "ファイルが大きすぎます（画面からは8MBまで）。大きなファイルはコマンド（madoguchi slips import）で取り込んでください。"
            }
            ("file_too_large", Lang::En) => {
                "The file is too large (up to 8 MB on this page). Import larger files with the command `madoguchi slips import`."
            }
            ("file_changed", Lang::Ja) => {
                "読み込み中にファイルが変わりました。もう一度取り込んでください。"
            }
            ("file_changed", Lang::En) => {
                "The file changed while it was read. Please import it again."
            }
            (_, Lang::Ja) => "ファイルを読み込めませんでした。",
            (_, Lang::En) => "The file could not be read.",
        };
        let column = self.column.map(|c| match lang {
            Lang::Ja => format!("（{c}）"),
            Lang::En => format!(" ({c})"),
        });
        match (self.line, lang) {
            (Some(line), Lang::Ja) => format!("{line}行目{}：{what}", column.unwrap_or_default()),
            (Some(line), Lang::En) => format!("Line {line}{}: {what}", column.unwrap_or_default()),
            (None, _) => what.to_owned(),
        }
    }
}

/// Why an import did not happen.
#[derive(Debug)]
pub enum ImportError {
    /// Not allowed, not set up, or the database failed.
    Refused(UseCaseError),
    /// The file itself: nothing of it was applied.
    File(FileProblem),
}

impl From<UseCaseError> for ImportError {
    fn from(error: UseCaseError) -> Self {
        ImportError::Refused(error)
    }
}

impl From<madoguchi_storage::StorageError> for ImportError {
    fn from(error: madoguchi_storage::StorageError) -> Self {
        ImportError::Refused(error.into())
    }
}

/// What an import did; `already_imported` when the same file was imported before.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub lines: i64,
    pub applied: i64,
    pub sokuho: i64,
    pub kakuho: i64,
    pub cancelled: i64,
    pub exceptions: i64,
    pub already_imported: bool,
    pub import: Uuid,
}

/// What the first pass found: the line count and the checksum.
pub struct Checked {
    pub lines: u64,
    pub checksum: String,
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// The first pass: every line checked against the format and the city's company code, and
/// the file's SHA-256. Also the preview of the upload page.
pub fn check_file(source: &dyn Source, company: CompanyCode) -> Result<Checked, FileProblem> {
    let unreadable = |_| FileProblem {
        code: "file_unreadable",
        line: None,
        column: None,
    };
    let reader = source.open().map_err(unreadable)?;
    let mut hashing = std::io::BufReader::with_capacity(
        64 * 1024,
        Hashing {
            inner: reader,
            hasher: Sha256::new(),
        },
    );
    let mut lines = Lines::new(&mut hashing);
    lines.header().map_err(|e| FileProblem::of(&e))?;
    let mut count = 0u64;
    for next in &mut lines {
        let (line, record) = next.map_err(|e| FileProblem::of(&e))?;
        check_record(&record, line, company)?;
        count += 1;
    }
    // Whatever the line reader left unread (nothing, for a good file) still counts.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(unreadable)?;
    let digest = hashing.into_inner().hasher.finalize();
    Ok(Checked {
        lines: count,
        checksum: hex(&digest),
    })
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_record(
    record: &PaymentRecord,
    line: u64,
    company: CompanyCode,
) -> Result<(), FileProblem> {
    if record.barcode.fields().company != company {
        return Err(FileProblem {
            code: "file_other_city",
            line: Some(line),
            column: Some(madoguchi_konbini::dsk::HEADER[3]),
        });
    }
    if record.amount_yen >= AMOUNT_LIMIT_YEN {
        return Err(FileProblem {
            code: "line_amount_over_limit",
            line: Some(line),
            column: Some(madoguchi_konbini::dsk::HEADER[7]),
        });
    }
    Ok(())
}

pub(crate) fn may_import(scope: &Scope, access: Option<&StaffAccess>) -> bool {
    match scope.actor {
        Actor::System | Actor::Operator => true,
        Actor::Staff(_) => access.is_some_and(StaffAccess::may_issue_slips),
        Actor::Resident(_) | Actor::Anonymous => false,
    }
}

/// Imports `source` (named `file_name`) for the scope's city: checks it whole, then applies it
/// in chunks, telling `progress` how many of its lines are done.
pub async fn import<S: SlipStore + KonbiniImportStore + ?Sized>(
    store: &S,
    scope: &Scope,
    access: Option<&StaffAccess>,
    file_name: &str,
    source: &dyn Source,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<ImportReport, ImportError> {
    if !may_import(scope, access) {
        return Err(UseCaseError::new(ErrorCode::Forbidden).into());
    }
    let file_name = madoguchi_domain::text::bounded_text(file_name, 255)
        .ok()
        .flatten()
        .unwrap_or("payment-data.csv")
        .to_owned();
    let settings = store
        .konbini_settings(scope.tenant)
        .await?
        .ok_or_else(|| UseCaseError::new(ErrorCode::SlipsNotConfigured))?;
    let checked = check_file(source, settings.company_code).map_err(ImportError::File)?;
    let id = Uuid::now_v7();
    let new = NewKonbiniImport {
        id,
        agency: Agency::Dsk,
        file_name: file_name.clone(),
        checksum: checked.checksum.clone(),
        lines: i64::try_from(checked.lines).unwrap_or(i64::MAX),
        at: scope.now(),
    };
    let entry = audit::entry(
        scope,
        "slips.imported",
        Some(id.to_string()),
        serde_json::json!({"lines": checked.lines, "checksum": checked.checksum}),
    );
    let import = match store
        .start_konbini_import(scope.tenant, &new, &entry)
        .await?
    {
        ImportStart::AlreadyDone(done) => {
            progress(checked.lines, checked.lines);
            return Ok(report(&done, true));
        }
        ImportStart::Fresh(started) | ImportStart::Resume(started) => started,
    };
    // The second pass: the same lines, applied a chunk at a time.
    let reader = source.open().map_err(|_| {
        ImportError::File(FileProblem {
            code: "file_unreadable",
            line: None,
            column: None,
        })
    })?;
    // This pass hashes what it reads too: a file that changed since it was checked is not
    // finished (what was applied of it stays, each line once; the import can be resumed from
    // the checked file).
    let mut hashing = std::io::BufReader::with_capacity(
        64 * 1024,
        Hashing {
            inner: reader,
            hasher: Sha256::new(),
        },
    );
    let mut lines = Lines::new(&mut hashing);
    lines
        .header()
        .map_err(|e| ImportError::File(FileProblem::of(&e)))?;
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut done = 0u64;
    loop {
        let next = lines.next();
        let end = next.is_none();
        if let Some(next) = next {
            // The file was checked whole; a line failing now means it changed in between.
            let (line, record) = next.map_err(|_| {
                ImportError::File(FileProblem {
                    code: "file_changed",
                    line: Some(lines.line()),
                    column: None,
                })
            })?;
            check_record(&record, line, settings.company_code).map_err(ImportError::File)?;
            chunk.push((line, record));
        }
        if chunk.len() == CHUNK_LINES || (end && !chunk.is_empty()) {
            store
                .apply_konbini_records(scope.tenant, import.id, &chunk, scope.now())
                .await?;
            done += chunk.len() as u64;
            chunk.clear();
            progress(done, checked.lines);
        }
        if end {
            break;
        }
    }
    let changed = || {
        ImportError::File(FileProblem {
            code: "file_changed",
            line: None,
            column: None,
        })
    };
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|_| changed())?;
    if hex(&hashing.into_inner().hasher.finalize()) != checked.checksum {
        return Err(changed());
    }
    let finished_entry = audit::entry(
        scope,
        "slips.import_finished",
        Some(import.id.to_string()),
        serde_json::json!({"file_lines": checked.lines}),
    );
    let finished = store
        .finish_konbini_import(scope.tenant, import.id, scope.now(), &finished_entry)
        .await?;
    Ok(report(&finished, false))
}

fn report(import: &madoguchi_storage::KonbiniImport, already_imported: bool) -> ImportReport {
    ImportReport {
        file: import.file_name.clone(),
        lines: import.lines,
        applied: import.applied,
        sokuho: import.sokuho,
        kakuho: import.kakuho,
        cancelled: import.cancelled,
        exceptions: import.exceptions,
        already_imported,
        import: import.id,
    }
}
