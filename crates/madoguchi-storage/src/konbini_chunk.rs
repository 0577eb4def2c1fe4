//! One chunk of the agency's lines decided at once, the same way on both backends.
//!
//! A backend reads what the chunk's lines name in a handful of set-based queries into a
//! [`ChunkSnapshot`] (under its lock: PostgreSQL's `FOR UPDATE`, SQLite's `BEGIN IMMEDIATE`),
//! [`plan_chunk`] decides every line in file order against that snapshot — updating it as it
//! goes, so a 速報 and its 確報 or 取消 in the same chunk see each other exactly as they would
//! in two chunks — and the backend writes the resulting [`ChunkWrites`] in bulk, in the same
//! transaction. Why: a line's reads and writes one statement at a time cost about fifteen round
//! trips a line; a chunk's cost a dozen statements for a thousand lines.

use crate::{StorageError, StorageResult, paid_at};
use madoguchi_domain::{AccountId, ErrorCode, LedgerEntryId, PaymentId, ReceivableId};
use madoguchi_konbini::apply::{Action, Exception, SlipSeen, SokuhoSeen, decide};
use madoguchi_konbini::dsk::{PaymentRecord, RecordKind};
use madoguchi_payments::{
    Channel, LedgerAccount, PaymentStatus, Posting, PostingKind, ReceivableState,
};
use std::collections::{HashMap, HashSet};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The slip a barcode names, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlipRef {
    pub id: Uuid,
    pub receivable: ReceivableId,
    pub amount_yen: i64,
}

/// The stored line that took a payment's money in (its 速報, or a 確報 standing in for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostedRef {
    pub id: Uuid,
    pub slip: Option<Uuid>,
    pub receivable: Option<ReceivableId>,
    pub payment: Option<PaymentId>,
    pub amount_yen: i64,
    pub cancelled: bool,
}

/// A receivable a line may change: the amounts the rules decide on, and its payer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwedRef {
    pub state: ReceivableState,
    pub payer_account: Option<AccountId>,
}

/// What the chunk's lines name, read in one go.
#[derive(Clone, Debug, Default)]
pub struct ChunkSnapshot {
    /// Identities of lines already stored.
    pub stored: HashSet<String>,
    /// Slips by barcode.
    pub slips: HashMap<String, SlipRef>,
    /// The line that took each payment's money in, by payment key.
    pub posted: HashMap<String, PostedRef>,
    /// The receivables of those slips and posted lines.
    pub receivables: HashMap<ReceivableId, OwedRef>,
    /// For each slip, how many live (not cancelled) payments it has taken.
    pub live_payments_of_slip: HashMap<Uuid, i64>,
}

/// The keys a chunk's reads need, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkKeys {
    pub identities: Vec<String>,
    pub barcodes: Vec<String>,
    pub payment_keys: Vec<String>,
}

impl ChunkKeys {
    pub fn of(records: &[(u64, PaymentRecord)]) -> ChunkKeys {
        let mut keys = ChunkKeys::default();
        let mut barcodes = HashSet::new();
        let mut payment_keys = HashSet::new();
        for (_, record) in records {
            keys.identities.push(record.identity());
            let barcode = record.barcode.to_string();
            if barcodes.insert(barcode.clone()) {
                keys.barcodes.push(barcode);
            }
            let key = record.payment_key();
            if payment_keys.insert(key.clone()) {
                keys.payment_keys.push(key);
            }
        }
        keys
    }
}

impl ChunkSnapshot {
    /// The receivables the snapshot's slips and posted lines name (read after them).
    pub fn receivables_named(&self) -> Vec<ReceivableId> {
        let mut named: Vec<ReceivableId> = self
            .slips
            .values()
            .map(|slip| slip.receivable)
            .chain(self.posted.values().filter_map(|posted| posted.receivable))
            .collect();
        named.sort_by_key(|id| id.0);
        named.dedup();
        named
    }

    /// The snapshot's slips (whose live payments are counted after them).
    pub fn slip_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.slips.values().map(|slip| slip.id).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// A payment the agency took for a slip: succeeded, through the convenience-store channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KonbiniPaymentRow {
    pub id: PaymentId,
    pub receivable: ReceivableId,
    pub amount_yen: i64,
    pub payer_account: Option<AccountId>,
}

/// One step of a payment's state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionRow {
    pub id: Uuid,
    pub payment: PaymentId,
    pub from: Option<PaymentStatus>,
    pub to: PaymentStatus,
    pub source: &'static str,
}

/// A receivable's event: money in (positive) or a cancelled 速報's money out (negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivableEventRow {
    pub id: Uuid,
    pub receivable: ReceivableId,
    pub amount_yen: i64,
    pub payment: PaymentId,
    pub reason: Option<&'static str>,
}

/// A ledger entry with what it refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostingRow {
    pub id: LedgerEntryId,
    pub posting: Posting,
    pub receivable: Option<ReceivableId>,
    pub payment: Option<PaymentId>,
}

/// A line as it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub id: Uuid,
    pub line_no: i64,
    pub identity: String,
    pub payment_key: String,
    pub kind: RecordKind,
    pub barcode: String,
    pub slip: Option<Uuid>,
    pub receivable: Option<ReceivableId>,
    pub amount_yen: i64,
    pub paid_at: OffsetDateTime,
    pub chain: String,
    pub store_code: String,
    pub transfer_on: Option<Date>,
    pub payment: Option<PaymentId>,
    pub entry: Option<LedgerEntryId>,
    pub exception: Option<Exception>,
    pub confirmed: bool,
    pub cancelled: bool,
}

/// Everything a chunk writes, in the order the foreign keys and the ledger's triggers want:
/// payments, then their transitions, events and postings, then the lines, then the updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkWrites {
    pub payments: Vec<KonbiniPaymentRow>,
    pub transitions: Vec<TransitionRow>,
    pub events: Vec<ReceivableEventRow>,
    pub postings: Vec<PostingRow>,
    pub records: Vec<RecordRow>,
    /// The receivables changed, with their state after the whole chunk.
    pub receivables: Vec<(ReceivableId, ReceivableState)>,
    /// Lines stored before whose 速報 a line of this chunk confirms.
    pub confirm_stored: Vec<Uuid>,
    /// Lines stored before whose 速報 a line of this chunk cancels.
    pub cancel_stored: Vec<Uuid>,
    /// Payments (of this chunk or earlier) whose 速報 was cancelled.
    pub cancel_payments: Vec<PaymentId>,
}

/// Where the line that took a payment in lives: stored before, or written by this chunk.
fn pending_index(pending: &HashMap<Uuid, usize>, id: Uuid) -> Option<usize> {
    pending.get(&id).copied()
}

/// How a receivable's closure is stored (`None`: open).
pub fn closure_text(state: &ReceivableState) -> Option<&'static str> {
    state.closure.map(|closure| match closure {
        madoguchi_payments::Closure::Cancelled => "cancelled",
        madoguchi_payments::Closure::WrittenOff => "written_off",
    })
}

/// How a line's kind is stored.
pub fn record_kind_text(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Sokuho => "sokuho",
        RecordKind::Kakuho => "kakuho",
        RecordKind::SokuhoCancel => "sokuho_cancel",
    }
}

/// A stored line kind read back.
pub fn record_kind_of(raw: &str) -> Option<RecordKind> {
    match raw {
        "sokuho" => Some(RecordKind::Sokuho),
        "kakuho" => Some(RecordKind::Kakuho),
        "sokuho_cancel" => Some(RecordKind::SokuhoCancel),
        _ => None,
    }
}

fn rule(code: ErrorCode) -> StorageError {
    StorageError::PaymentRule(code)
}

/// Decides `records` (with their line numbers) in order against `snapshot`, which it updates.
pub fn plan_chunk(
    snapshot: &mut ChunkSnapshot,
    records: &[(u64, PaymentRecord)],
) -> StorageResult<(ChunkWrites, crate::ChunkOutcome)> {
    let mut writes = ChunkWrites::default();
    let mut outcome = crate::ChunkOutcome::default();
    // Lines of this chunk that took money in, by id: a later line of the chunk marks them
    // confirmed or cancelled before they are written.
    let mut pending: HashMap<Uuid, usize> = HashMap::new();
    let mut changed: Vec<ReceivableId> = Vec::new();
    for (line_no, record) in records {
        let identity = record.identity();
        if !snapshot.stored.insert(identity.clone()) {
            outcome.skipped += 1;
            continue;
        }
        let payment_key = record.payment_key();
        let barcode = record.barcode.to_string();
        let amount_yen = i64::from(record.amount_yen);
        let slip = snapshot.slips.get(&barcode).copied();
        let posted = snapshot.posted.get(&payment_key).copied();
        let seen = match slip {
            Some(slip) => {
                let owed = snapshot
                    .receivables
                    .get(&slip.receivable)
                    .ok_or_else(|| StorageError::Other("a slip without its receivable".into()))?;
                Some(SlipSeen {
                    amount_yen: slip.amount_yen,
                    outstanding_yen: owed.state.outstanding_yen(),
                    already_paid_with_slip: snapshot
                        .live_payments_of_slip
                        .get(&slip.id)
                        .is_some_and(|count| *count > 0),
                })
            }
            None => None,
        };
        let sokuho = posted.map(|p| SokuhoSeen {
            cancelled: p.cancelled,
        });
        let mut row = RecordRow {
            id: Uuid::now_v7(),
            line_no: i64::try_from(*line_no)
                .map_err(|_| StorageError::Other("line number".into()))?,
            identity,
            payment_key: payment_key.clone(),
            kind: record.kind,
            barcode,
            slip: slip.map(|s| s.id),
            receivable: slip.map(|s| s.receivable),
            amount_yen,
            paid_at: paid_at(record),
            chain: record.chain.code().to_owned(),
            store_code: record.store_code.clone(),
            transfer_on: record.transfer_on,
            payment: None,
            entry: None,
            exception: None,
            confirmed: false,
            cancelled: false,
        };
        let mut took_money_in = false;
        match decide(record.kind, amount_yen, seen, sokuho) {
            Action::Receive {
                exception,
                confirmed,
            } => {
                let slip =
                    slip.ok_or_else(|| StorageError::Other("a receipt without its slip".into()))?;
                let owed = snapshot
                    .receivables
                    .get_mut(&slip.receivable)
                    .ok_or_else(|| StorageError::Other("a slip without its receivable".into()))?;
                let change = owed
                    .state
                    .receive(Channel::Konbini, amount_yen)
                    .map_err(rule)?;
                let payment = PaymentId::new();
                writes.payments.push(KonbiniPaymentRow {
                    id: payment,
                    receivable: slip.receivable,
                    amount_yen,
                    payer_account: owed.payer_account,
                });
                writes.transitions.push(TransitionRow {
                    id: Uuid::now_v7(),
                    payment,
                    from: None,
                    to: PaymentStatus::Succeeded,
                    source: "konbini_agency",
                });
                writes.events.push(ReceivableEventRow {
                    id: Uuid::now_v7(),
                    receivable: slip.receivable,
                    amount_yen,
                    payment,
                    reason: None,
                });
                writes.postings.push(PostingRow {
                    id: LedgerEntryId::new(),
                    posting: change.posting,
                    receivable: Some(slip.receivable),
                    payment: Some(payment),
                });
                owed.state = change.next;
                changed.push(slip.receivable);
                *snapshot.live_payments_of_slip.entry(slip.id).or_default() += 1;
                row.payment = Some(payment);
                row.exception = exception;
                row.confirmed = confirmed;
                took_money_in = true;
            }
            Action::Suspense {
                exception,
                confirmed,
            } => {
                let posting = Posting::transfer(
                    PostingKind::PaymentReceived,
                    LedgerAccount::Clearing(Channel::Konbini),
                    LedgerAccount::Suspense,
                    amount_yen,
                )
                .map_err(|_| rule(ErrorCode::AmountOverLimit))?;
                let entry = LedgerEntryId::new();
                writes.postings.push(PostingRow {
                    id: entry,
                    posting,
                    receivable: None,
                    payment: None,
                });
                row.entry = Some(entry);
                row.exception = Some(exception);
                row.confirmed = confirmed;
                took_money_in = true;
            }
            Action::Confirm => {
                if let Some(posted) = posted {
                    match pending_index(&pending, posted.id) {
                        Some(index) => writes.records[index].confirmed = true,
                        None => writes.confirm_stored.push(posted.id),
                    }
                }
            }
            Action::Reverse => {
                if let Some(posted) = posted {
                    reverse(snapshot, &mut writes, &mut changed, &posted)?;
                    match pending_index(&pending, posted.id) {
                        Some(index) => writes.records[index].cancelled = true,
                        None => writes.cancel_stored.push(posted.id),
                    }
                    if let Some(entry) = snapshot.posted.get_mut(&payment_key) {
                        entry.cancelled = true;
                    }
                }
            }
            Action::Flag { exception } => row.exception = Some(exception),
            Action::Record => {}
        }
        if took_money_in {
            outcome.taken_yen += amount_yen;
        }
        if took_money_in && posted.is_none() {
            snapshot.posted.insert(
                payment_key,
                PostedRef {
                    id: row.id,
                    slip: row.slip,
                    receivable: row.receivable,
                    payment: row.payment,
                    amount_yen,
                    cancelled: false,
                },
            );
            pending.insert(row.id, writes.records.len());
        }
        outcome.count(record.kind, row.exception);
        writes.records.push(row);
    }
    changed.sort_by_key(|id| id.0);
    changed.dedup();
    for id in changed {
        if let Some(owed) = snapshot.receivables.get(&id) {
            writes.receivables.push((id, owed.state.clone()));
        }
    }
    Ok((writes, outcome))
}

/// Takes the money a cancelled 速報 posted back out: off its receivable (and its payment
/// cancelled), or out of suspense where no receivable took it.
fn reverse(
    snapshot: &mut ChunkSnapshot,
    writes: &mut ChunkWrites,
    changed: &mut Vec<ReceivableId>,
    posted: &PostedRef,
) -> StorageResult<()> {
    match (posted.receivable, posted.payment) {
        (Some(receivable), Some(payment)) => {
            let owed = snapshot
                .receivables
                .get_mut(&receivable)
                .ok_or_else(|| StorageError::Other("a payment without its receivable".into()))?;
            let change = owed
                .state
                .reverse_payment(Channel::Konbini, posted.amount_yen)
                .map_err(rule)?;
            // A 'payment' event of a negative amount: the receivable's events record money in
            // and out; this one never arrived after all.
            writes.events.push(ReceivableEventRow {
                id: Uuid::now_v7(),
                receivable,
                amount_yen: -posted.amount_yen,
                payment,
                reason: Some("速報取消"),
            });
            writes.postings.push(PostingRow {
                id: LedgerEntryId::new(),
                posting: change.posting,
                receivable: Some(receivable),
                payment: Some(payment),
            });
            owed.state = change.next;
            changed.push(receivable);
            writes.cancel_payments.push(payment);
            writes.transitions.push(TransitionRow {
                id: Uuid::now_v7(),
                payment,
                from: Some(PaymentStatus::Succeeded),
                to: PaymentStatus::Canceled,
                source: "konbini_cancel",
            });
            if let Some(slip) = posted.slip
                && let Some(count) = snapshot.live_payments_of_slip.get_mut(&slip)
            {
                *count -= 1;
            }
        }
        _ => {
            let posting = Posting::transfer(
                PostingKind::PaymentReversed,
                LedgerAccount::Suspense,
                LedgerAccount::Clearing(Channel::Konbini),
                posted.amount_yen,
            )
            .map_err(|_| rule(ErrorCode::AmountOverLimit))?;
            writes.postings.push(PostingRow {
                id: LedgerEntryId::new(),
                posting,
                receivable: None,
                payment: None,
            });
        }
    }
    Ok(())
}
