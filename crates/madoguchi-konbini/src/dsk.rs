//! The collection agency DSK's payment data (収納データ): a CSV file in Shift_JIS (CP932) with a
//! header row and a line per payment taken at a store or in a wallet's 請求書払い.
//!
//! | column | 列 | |
//! |---|---|---|
//! | 1 | 種別 | `01` 速報 (the store took the money), `02` 確報 (the agency confirms it), `03` 速報取消 (the store cancelled its 速報) |
//! | 2 | 収納日 | `YYYYMMDD` |
//! | 3 | 収納時刻 | `HHMM` or `HHMMSS` |
//! | 4 | バーコード情報 | `EAN` and the 44 digits |
//! | 5, 6 | ユーザー使用欄１, ２ | free for the city |
//! | 7 | 印紙フラグ | `0` or `1` |
//! | 8 | 金額 | yen |
//! | 9 | コンビニ本部コード | 3 digits (`010` セブン－イレブン, `820` PayPay, …) |
//! | 10 | コンビニ名 | |
//! | 11 | コンビニ店舗コード | |
//! | 12 | 振込日 | `YYYYMMDD`, empty in a 速報 |
//! | 13 | データ作成日 | `YYYYMMDD` |
//!
//! [`Lines`] reads a file line by line from any `BufRead` (a file, or bytes in memory), never
//! holding more than one line: each line is decoded from CP932 on its own (a byte that is not
//! CP932 is an error of that line, not a replacement character) and split as CSV with
//! `csv-core`. Every line ends with a line break; a last line without one is a truncated file.
//! Errors name the line (1 is the header) and, where it helps, the column.
//!
//! This module is the seam for other agencies: another agency's fixed-width format is another
//! module yielding the same [`PaymentRecord`].

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use time::{Date, Month, Time};

use crate::{BarcodeError, SlipBarcode, StampFlag};

/// The header row, as the agency writes it.
pub const HEADER: [&str; 13] = [
    "種別",
    "収納日",
    "収納時刻",
    "バーコード情報",
    "ユーザー使用欄１",
    "ユーザー使用欄２",
    "印紙フラグ",
    "金額",
    "コンビニ本部コード",
    "コンビニ名",
    "コンビニ店舗コード",
    "振込日",
    "データ作成日",
];

/// A line longer than this is not a DSK line (a real one is under 200 bytes); refusing it keeps
/// a file without line breaks from being read into memory whole.
pub const MAX_LINE_BYTES: usize = 1_024;

/// What a line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// 速報: the store took the money.
    Sokuho,
    /// 確報: the agency confirms the payment and the transfer date.
    Kakuho,
    /// 速報取消: the store cancelled a 速報 (a mistaken scan, a refund at the till).
    SokuhoCancel,
}

impl RecordKind {
    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Sokuho => "01",
            RecordKind::Kakuho => "02",
            RecordKind::SokuhoCancel => "03",
        }
    }

    pub fn parse(code: &str) -> Option<RecordKind> {
        match code {
            "01" => Some(RecordKind::Sokuho),
            "02" => Some(RecordKind::Kakuho),
            "03" => Some(RecordKind::SokuhoCancel),
            _ => None,
        }
    }
}

/// A store chain or wallet by its 本部コード.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chain([u8; 3]);

impl Chain {
    pub fn parse(raw: &str) -> Option<Chain> {
        let bytes = raw.as_bytes();
        (bytes.len() == 3 && bytes.iter().all(u8::is_ascii_digit))
            .then(|| Chain([bytes[0], bytes[1], bytes[2]]))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("000")
    }

    /// The chains and wallets we know by name; others keep the name the file gives.
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self.code() {
            "010" => "セブン－イレブン",
            "020" => "ローソン",
            "030" => "ファミリーマート",
            "080" => "ミニストップ",
            "760" => "セイコーマート",
            "780" => "au PAY（請求書支払い）",
            "800" => "d払い（請求書払い）",
            "820" => "PayPay（請求書払い）",
            _ => return None,
        })
    }

    /// Whether the payment was made in a smartphone wallet rather than at a till.
    pub fn is_wallet(&self) -> bool {
        matches!(self.code(), "780" | "800" | "820")
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One payment line of an agency's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    pub kind: RecordKind,
    pub paid_on: Date,
    pub paid_at: Time,
    pub barcode: SlipBarcode,
    pub user_field_1: String,
    pub user_field_2: String,
    pub stamp: StampFlag,
    pub amount_yen: u32,
    pub chain: Chain,
    pub chain_name: String,
    pub store_code: String,
    pub transfer_on: Option<Date>,
    pub created_on: Date,
}

impl PaymentRecord {
    /// Which payment at a till this line is about: the barcode, when, and where. A 確報 and a
    /// 速報取消 name the 速報 they confirm or cancel by it.
    pub fn payment_key(&self) -> String {
        format!(
            "{}:{}{:02}{:02}:{:02}{:02}{:02}:{}:{}",
            self.barcode,
            self.paid_on.year(),
            u8::from(self.paid_on.month()),
            self.paid_on.day(),
            self.paid_at.hour(),
            self.paid_at.minute(),
            self.paid_at.second(),
            self.chain,
            self.store_code
        )
    }

    /// The line's identity: its kind and payment. A file sent again, or a line repeated in
    /// the next file, has the same identity and is applied once.
    pub fn identity(&self) -> String {
        format!("{}:{}", self.kind.code(), self.payment_key())
    }
}

/// What is wrong with a file, at which line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DskError {
    #[error("the file is empty")]
    Empty,
    #[error("line {line}: the header does not match the DSK format")]
    Header { line: u64 },
    #[error("line {line}: not Shift_JIS (CP932) text")]
    Encoding { line: u64 },
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong { line: u64 },
    #[error("line {line}: the file ends without a line break (truncated)")]
    Truncated { line: u64 },
    #[error("line {line}: {found} columns instead of 13")]
    Columns { line: u64, found: usize },
    #[error("line {line}: {column} is not valid")]
    Column { line: u64, column: &'static str },
    #[error("line {line}: the barcode is not valid ({0})", .error.code())]
    Barcode { line: u64, error: BarcodeError },
}

impl DskError {
    /// The stable code of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            DskError::Empty => "file_empty",
            DskError::Header { .. } => "file_header",
            DskError::Encoding { .. } => "file_encoding",
            DskError::LineTooLong { .. } => "line_too_long",
            DskError::Truncated { .. } => "file_truncated",
            DskError::Columns { .. } => "line_columns",
            DskError::Column { .. } => "line_column",
            DskError::Barcode { .. } => "line_barcode",
        }
    }

    /// The line at fault (1 is the header), if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            DskError::Empty => None,
            DskError::Header { line }
            | DskError::Encoding { line }
            | DskError::LineTooLong { line }
            | DskError::Truncated { line }
            | DskError::Columns { line, .. }
            | DskError::Column { line, .. }
            | DskError::Barcode { line, .. } => Some(*line),
        }
    }

    /// The column at fault, by its header name.
    pub fn column(&self) -> Option<&'static str> {
        match self {
            DskError::Column { column, .. } => Some(column),
            DskError::Barcode { .. } => Some(HEADER[3]),
            _ => None,
        }
    }
}

/// Reads an agency file line by line: the header first, then a [`PaymentRecord`] per line.
pub struct Lines<R> {
    reader: R,
    buffer: Vec<u8>,
    line: u64,
    failed: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buffer: Vec::with_capacity(256),
            line: 0,
            failed: false,
        }
    }

    /// The number of the last line read (1 is the header).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next line's bytes without its line break; `Ok(None)` at the end.
    fn next_line(&mut self) -> Result<Option<&[u8]>, DskError> {
        self.buffer.clear();
        self.line += 1;
        let line = self.line;
        // Read at most one byte past the limit, so a file without line breaks stays bounded.
        let limit = u64::try_from(MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
        let read = std::io::Read::take(&mut self.reader, limit)
            .read_until(b'\n', &mut self.buffer)
            // An I/O error mid-file reads as a truncated file: nothing after it is applied.
            .map_err(|_| DskError::Truncated { line })?;
        if read == 0 {
            return Ok(None);
        }
        if self.buffer.last() != Some(&b'\n') {
            return Err(if self.buffer.len() > MAX_LINE_BYTES {
                DskError::LineTooLong { line }
            } else {
                DskError::Truncated { line }
            });
        }
        self.buffer.pop();
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some(&self.buffer))
    }

    /// Reads and checks the header row.
    pub fn header(&mut self) -> Result<(), DskError> {
        let line = self.line + 1;
        let Some(bytes) = self.next_line()? else {
            return Err(DskError::Empty);
        };
        let text = decode(bytes, line)?;
        let fields = split(&text);
        if fields.len() != HEADER.len()
            || fields
                .iter()
                .zip(HEADER)
                .any(|(found, expected)| found.trim() != expected)
        {
            return Err(DskError::Header { line });
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<(u64, PaymentRecord), DskError>;

    /// The next record with its line number; after an error, nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let line = self.line + 1;
        let result = match self.next_line() {
            Ok(None) => return None,
            Ok(Some(bytes)) => decode(bytes, line).and_then(|text| parse_line(&text, line)),
            Err(error) => Err(error),
        };
        self.failed = result.is_err();
        Some(result.map(|record| (line, record)))
    }
}

fn decode(bytes: &[u8], line: u64) -> Result<Cow<'_, str>, DskError> {
    // Windows-31J (CP932) is what encoding_rs calls Shift_JIS, as the WHATWG standard does.
    // An all-ASCII line is borrowed, not copied.
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(DskError::Encoding { line })
}

/// The fields of one CSV line (RFC 4180 quoting, no line breaks inside fields). A line
/// without quotes, as agencies write them, is split in place.
fn split(text: &str) -> Vec<Cow<'_, str>> {
    if !text.contains('"') {
        return text.split(',').map(Cow::Borrowed).collect();
    }
    let mut reader = csv_core::Reader::new();
    let mut output = vec![0u8; text.len() + 1];
    let mut ends = [0usize; 32];
    let mut input = text.as_bytes();
    let (mut written, mut fields) = (0, 0);
    loop {
        let (result, read, out, found) =
            reader.read_record(input, &mut output[written..], &mut ends[fields..]);
        input = &input[read..];
        written += out;
        fields += found;
        match result {
            csv_core::ReadRecordResult::InputEmpty if input.is_empty() => {
                // Finish the record: an empty input ends the last field.
                let (_, _, out, found) =
                    reader.read_record(&[], &mut output[written..], &mut ends[fields..]);
                written += out;
                fields += found;
                break;
            }
            csv_core::ReadRecordResult::InputEmpty => {}
            // More than 32 fields (never a DSK line) or a record's end: stop here.
            csv_core::ReadRecordResult::OutputFull
            | csv_core::ReadRecordResult::OutputEndsFull
            | csv_core::ReadRecordResult::Record
            | csv_core::ReadRecordResult::End => break,
        }
    }
    let mut start = 0;
    ends[..fields]
        .iter()
        .map(|&end| {
            let field = String::from_utf8_lossy(&output[start..end.min(written)]).into_owned();
            start = end;
            Cow::Owned(field)
        })
        .collect()
}

fn date(raw: &str, line: u64, column: &'static str) -> Result<Date, DskError> {
    let bad = DskError::Column { line, column };
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let year: i32 = raw[..4].parse().map_err(|_| bad)?;
    let month: u8 = raw[4..6].parse().map_err(|_| bad)?;
    let day: u8 = raw[6..].parse().map_err(|_| bad)?;
    let month = Month::try_from(month).map_err(|_| bad)?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad)
}

fn time_of_day(raw: &str, line: u64) -> Result<Time, DskError> {
    let bad = DskError::Column {
        line,
        column: HEADER[2],
    };
    if !(raw.len() == 4 || raw.len() == 6) || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let hour: u8 = raw[..2].parse().map_err(|_| bad)?;
    let minute: u8 = raw[2..4].parse().map_err(|_| bad)?;
    let second: u8 = if raw.len() == 6 {
        raw[4..].parse().map_err(|_| bad)?
    } else {
        0
    };
    Time::from_hms(hour, minute, second).map_err(|_| bad)
}

/// Parses one decoded data line.
pub fn parse_line(text: &str, line: u64) -> Result<PaymentRecord, DskError> {
    let fields = split(text);
    if fields.len() != HEADER.len() {
        return Err(DskError::Columns {
            line,
            found: fields.len(),
        });
    }
    let field = |index: usize| fields[index].trim();
    let column = |index: usize| DskError::Column {
        line,
        column: HEADER[index],
    };
    let kind = RecordKind::parse(field(0)).ok_or_else(|| column(0))?;
    let barcode_text = field(3);
    let digits = barcode_text.strip_prefix("EAN").unwrap_or(barcode_text);
    let barcode = SlipBarcode::parse(digits).map_err(|error| DskError::Barcode { line, error })?;
    let stamp = match field(6) {
        "0" => StampFlag::None,
        "1" => StampFlag::Required,
        _ => return Err(column(6)),
    };
    let amount_yen: u32 = field(7)
        .parse()
        .ok()
        .filter(|yen| *yen > 0)
        .ok_or_else(|| column(7))?;
    let chain = Chain::parse(field(8)).ok_or_else(|| column(8))?;
    let store_code = field(10);
    if store_code.is_empty() || store_code.len() > 20 {
        return Err(column(10));
    }
    let transfer_on = match field(11) {
        "" => None,
        raw => Some(date(raw, line, HEADER[11])?),
    };
    Ok(PaymentRecord {
        kind,
        paid_on: date(field(1), line, HEADER[1])?,
        paid_at: time_of_day(field(2), line)?,
        barcode,
        user_field_1: field(4).to_owned(),
        user_field_2: field(5).to_owned(),
        stamp,
        amount_yen,
        chain,
        chain_name: field(9).to_owned(),
        store_code: store_code.to_owned(),
        transfer_on,
        created_on: date(field(12), line, HEADER[12])?,
    })
}

/// Writes `record` as a DSK line in CP932 (with CRLF): for tests, the demo and the benchmark,
/// which need files shaped like the agency's.
pub fn encode_line(record: &PaymentRecord) -> Vec<u8> {
    let ymd = |d: Date| format!("{}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
    let text = format!(
        "{},{},{:02}{:02}{:02},EAN{},{},{},{},{},{},{},{},{},{}\r\n",
        record.kind.code(),
        ymd(record.paid_on),
        record.paid_at.hour(),
        record.paid_at.minute(),
        record.paid_at.second(),
        record.barcode,
        record.user_field_1,
        record.user_field_2,
        match record.stamp {
            StampFlag::Required => "1",
            StampFlag::None | StampFlag::Placeholder => "0",
        },
        record.amount_yen,
        record.chain,
        record.chain_name,
        record.store_code,
        record.transfer_on.map(ymd).unwrap_or_default(),
        ymd(record.created_on),
    );
    encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
}

/// The header row in CP932 (with CRLF).
pub fn encode_header() -> Vec<u8> {
    encoding_rs::SHIFT_JIS
        .encode(&format!("{}\r\n", HEADER.join(",")))
        .0
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompanyCode, Reference};
    use time::macros::{date, time};

    fn record(kind: RecordKind) -> PaymentRecord {
        PaymentRecord {
            kind,
            paid_on: date!(2026 - 12 - 07),
            paid_at: time!(14:05:09),
            barcode: SlipBarcode::issue(
                CompanyCode::parse("912345").unwrap(),
                Reference::from_number(17),
                0,
                date!(2027 - 01 - 31),
                3_980,
            )
            .unwrap(),
            user_field_1: String::new(),
            user_field_2: "水道".to_owned(),
            stamp: StampFlag::None,
            amount_yen: 3_980,
            chain: Chain::parse("010").unwrap(),
            chain_name: "セブン－イレブン".to_owned(),
            store_code: "123456".to_owned(),
            transfer_on: None,
            created_on: date!(2026 - 12 - 07),
        }
    }

    fn file(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = encode_header();
        for line in lines {
            bytes.extend_from_slice(line);
        }
        bytes
    }

    fn read(bytes: &[u8]) -> Result<Vec<(u64, PaymentRecord)>, DskError> {
        let mut lines = Lines::new(bytes);
        lines.header()?;
        lines.collect()
    }

    #[test]
    fn a_file_written_in_cp932_reads_back_line_by_line() {
        let mut kakuho = record(RecordKind::Kakuho);
        kakuho.transfer_on = Some(date!(2026 - 12 - 14));
        let bytes = file(&[
            encode_line(&record(RecordKind::Sokuho)),
            encode_line(&kakuho),
            encode_line(&record(RecordKind::SokuhoCancel)),
        ]);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "the file is CP932, not UTF-8"
        );
        let records = read(&bytes).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], (2, record(RecordKind::Sokuho)));
        assert_eq!(records[1], (3, kakuho));
        assert_eq!(records[2].1.kind, RecordKind::SokuhoCancel);
        // A 確報 names its 速報 by the same payment.
        assert_eq!(records[0].1.payment_key(), records[1].1.payment_key());
        assert_ne!(records[0].1.identity(), records[1].1.identity());
        assert_eq!(records[0].1.chain.known_name(), Some("セブン－イレブン"));
    }

    #[test]
    fn quoted_fields_and_a_four_digit_time_are_read() {
        let line = "\"01\",\"20261207\",\"1405\",\"EAN".to_owned()
            + &record(RecordKind::Sokuho).barcode.to_string()
            + "\",\"\",\"a, b\",\"0\",\"3980\",\"820\",\"PayPay\",\"000001\",\"\",\"20261207\"";
        let parsed = parse_line(&line, 2).unwrap();
        assert_eq!(parsed.paid_at, time!(14:05));
        assert_eq!(parsed.user_field_2, "a, b");
        assert!(parsed.chain.is_wallet());
    }

    #[test]
    fn every_kind_of_bad_line_names_its_line_and_column() {
        let good = String::from_utf8(
            encoding_rs::SHIFT_JIS
                .decode(&encode_line(&record(RecordKind::Sokuho)))
                .0
                .as_bytes()
                .to_vec(),
        )
        .unwrap();
        let good = good.trim_end();
        let replace = |index: usize, value: &str| {
            let mut fields: Vec<&str> = good.split(',').collect();
            fields[index] = value;
            fields.join(",")
        };
        let cases = [
            (replace(0, "04"), "種別"),
            (replace(1, "20261131"), "収納日"),
            (replace(2, "2460"), "収納時刻"),
            (replace(6, "9"), "印紙フラグ"),
            (replace(7, "-5"), "金額"),
            (replace(7, "1e3"), "金額"),
            (replace(8, "7"), "コンビニ本部コード"),
            (replace(10, ""), "コンビニ店舗コード"),
            (replace(11, "2026-12-14"), "振込日"),
            (replace(12, ""), "データ作成日"),
        ];
        for (line, column) in cases {
            let error = parse_line(&line, 7).unwrap_err();
            assert_eq!(error.line(), Some(7), "{line}");
            assert_eq!(error.column(), Some(column), "{line}");
        }
        // One digit of the barcode misread: the check digit catches it.
        let barcode = record(RecordKind::Sokuho).barcode.to_string();
        let mut digits = barcode.clone().into_bytes();
        digits[20] = if digits[20] == b'9' {
            b'0'
        } else {
            digits[20] + 1
        };
        let line = good.replace(&barcode, std::str::from_utf8(&digits).unwrap());
        assert!(matches!(
            parse_line(&line, 3),
            Err(DskError::Barcode {
                line: 3,
                error: BarcodeError::CheckDigit { .. }
            })
        ));
        assert!(matches!(
            parse_line("01,20261207", 4),
            Err(DskError::Columns { line: 4, found: 2 })
        ));
    }

    #[test]
    fn a_file_with_a_bad_header_bad_bytes_or_no_last_line_break_is_refused() {
        assert_eq!(read(b""), Err(DskError::Empty));
        let mut other = encoding_rs::SHIFT_JIS
            .encode("種別,日付\r\n")
            .0
            .into_owned();
        other.extend(encode_line(&record(RecordKind::Sokuho)));
        assert_eq!(read(&other), Err(DskError::Header { line: 1 }));
        // UTF-8 where CP932 is expected: the header itself fails to match.
        let utf8 = format!("{}\r\n", HEADER.join(","));
        assert!(read(utf8.as_bytes()).is_err());
        // A byte that is not CP932 on line 3.
        let mut bad = file(&[encode_line(&record(RecordKind::Sokuho))]);
        bad.extend_from_slice(b"01,\x80\xff\r\n");
        assert_eq!(read(&bad), Err(DskError::Encoding { line: 3 }));
        // Cut off in the middle of the last line.
        let mut cut = file(&[encode_line(&record(RecordKind::Sokuho))]);
        cut.extend_from_slice(&encode_line(&record(RecordKind::Kakuho))[..40]);
        assert_eq!(read(&cut), Err(DskError::Truncated { line: 3 }));
        // A "line" of 2 kB: refused without reading the rest.
        let mut long = file(&[]);
        long.extend(std::iter::repeat_n(b'1', 2_048));
        assert_eq!(read(&long), Err(DskError::LineTooLong { line: 2 }));
    }

    #[test]
    fn reading_stops_at_the_first_bad_line() {
        let mut bytes = file(&[encode_line(&record(RecordKind::Sokuho))]);
        bytes.extend_from_slice(b"99\r\n");
        bytes.extend_from_slice(&encode_line(&record(RecordKind::Kakuho)));
        let mut lines = Lines::new(bytes.as_slice());
        lines.header().unwrap();
        assert!(lines.next().unwrap().is_ok());
        assert!(matches!(
            lines.next(),
            Some(Err(DskError::Columns { line: 3, .. }))
        ));
        assert!(lines.next().is_none());
    }
}
