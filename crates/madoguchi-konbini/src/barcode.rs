//! The convenience-store barcode: GS1-128 with application identifier 91, 44 digits.
//!
//! | digits | field |
//! |---|---|
//! | 2 | `91`, the application identifier |
//! | 6 | company code (the city's, or the collection agency's, per city setting) |
//! | 21 | free field: our receivable reference |
//! | 1 | 再発行区分, the reissue count (0 first issue, 1–9 reissues) |
//! | 6 | 支払期限 `YYMMDD`, `999999` for none |
//! | 1 | 印紙フラグ (stamp duty flag): `0` for public money, `1` stamp, `9` placeholder |
//! | 6 | amount in yen, `999999` placeholder |
//! | 1 | check digit: modulus 10, weights 3 and 1 alternating from the rightmost data digit |
//!
//! [`SlipBarcode::parse`] takes any valid barcode, placeholders included (agencies send them
//! back in test files); [`SlipBarcode::issue`] builds only what a city may print: a real amount
//! under ¥300,000, a due date, stamp flag 0.

use std::fmt;
use time::{Date, Month};

/// Digits of a whole barcode.
pub const DIGITS: usize = 44;
/// A slip's amount must stay under this (the stores' limit for one payment).
pub const AMOUNT_LIMIT_YEN: u32 = 300_000;
/// The amount field's placeholder: parses, never issued.
const PLACEHOLDER_AMOUNT: u32 = 999_999;
const APPLICATION_IDENTIFIER: &str = "91";

/// Why a string is not a convenience-store barcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("a barcode has 44 digits, this has {0} characters")]
    Length(usize),
    #[error("a barcode has only digits; character {0} is not one")]
    NotDigit(usize),
    #[error("a convenience-store barcode starts with 91")]
    ApplicationIdentifier,
    #[error("the check digit is {found}, it should be {expected}: a digit was misread or mistyped")]
    CheckDigit { expected: u8, found: u8 },
    #[error("the due date {0} does not exist")]
    DueDate(u32),
    #[error("the stamp flag is {0}; it is 0, 1 or 9")]
    StampFlag(u8),
}

impl BarcodeError {
    /// A stable code for the CLI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            BarcodeError::Length(_) => "barcode_length",
            BarcodeError::NotDigit(_) => "barcode_not_digit",
            BarcodeError::ApplicationIdentifier => "barcode_not_konbini",
            BarcodeError::CheckDigit { .. } => "barcode_check_digit",
            BarcodeError::DueDate(_) => "barcode_due_date",
            BarcodeError::StampFlag(_) => "barcode_stamp_flag",
        }
    }
}

/// Why a slip cannot be issued with these fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("a slip is for less than ¥300,000; ¥{0} needs instalment slips or another way to pay")]
    AmountTooLarge(u32),
    #[error("a slip is for at least ¥1")]
    AmountZero,
    #[error("the due date must be between 2000 and 2099")]
    DueDateOutOfRange,
    #[error("a company code has 6 digits")]
    CompanyCode,
    #[error("a reference has 21 digits")]
    Reference,
    #[error("the reissue count goes from 0 to 9")]
    ReissueCount,
}

/// The company code (6 digits) the store's system routes the payment by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompanyCode([u8; 6]);

/// The free field (21 digits): our reference to the receivable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference([u8; 21]);

fn digits_of<const N: usize>(raw: &str) -> Option<[u8; N]> {
    let bytes = raw.as_bytes();
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, b) in out.iter_mut().zip(bytes) {
        *slot = b - b'0';
    }
    Some(out)
}

fn digits_text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

impl CompanyCode {
    pub fn parse(raw: &str) -> Result<Self, IssueError> {
        digits_of(raw).map(Self).ok_or(IssueError::CompanyCode)
    }
}

impl fmt::Display for CompanyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits_text(&self.0))
    }
}

impl Reference {
    pub fn parse(raw: &str) -> Result<Self, IssueError> {
        digits_of(raw).map(Self).ok_or(IssueError::Reference)
    }

    /// A reference from a number (zero-padded on the left).
    pub fn from_number(n: u64) -> Self {
        let text = format!("{n:021}");
        let mut out = [0u8; 21];
        for (slot, b) in out.iter_mut().zip(text.as_bytes()) {
            *slot = b - b'0';
        }
        Self(out)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits_text(&self.0))
    }
}

/// 印紙フラグ: whether the store must affix a revenue stamp to the receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampFlag {
    /// No stamp: public money (a city's fees and taxes are exempt from stamp duty).
    None,
    /// A stamp is needed (private receipts of ¥50,000 or more).
    Required,
    /// The placeholder agencies use in test data: parses, never issued.
    Placeholder,
}

impl StampFlag {
    fn digit(self) -> u8 {
        match self {
            StampFlag::None => 0,
            StampFlag::Required => 1,
            StampFlag::Placeholder => 9,
        }
    }

    fn from_digit(d: u8) -> Result<Self, BarcodeError> {
        match d {
            0 => Ok(StampFlag::None),
            1 => Ok(StampFlag::Required),
            9 => Ok(StampFlag::Placeholder),
            other => Err(BarcodeError::StampFlag(other)),
        }
    }
}

/// What a slip's barcode says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlipFields {
    pub company: CompanyCode,
    pub reference: Reference,
    /// 0 for the first issue, one more at each reissue.
    pub reissue: u8,
    /// `None`: no due date (`999999`).
    pub due: Option<Date>,
    pub stamp: StampFlag,
    /// Yen; `None` is the placeholder `999999`.
    pub amount: Option<u32>,
}

/// A valid convenience-store barcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlipBarcode {
    fields: SlipFields,
    digits: [u8; DIGITS],
}

/// The check digit of the 43 digits before it: weights 3, 1, 3, … from the rightmost.
fn check_digit(data: &[u8]) -> u8 {
    let sum: u32 = data
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(*d))
}

fn put_number(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
    }
}

fn due_from(yymmdd: u32) -> Result<Option<Date>, BarcodeError> {
    if yymmdd == 999_999 {
        return Ok(None);
    }
    let year = 2000 + i32::try_from(yymmdd / 10_000).unwrap_or(0);
    let month = u8::try_from(yymmdd / 100 % 100).unwrap_or(0);
    let day = u8::try_from(yymmdd % 100).unwrap_or(0);
    Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .map(Some)
        .ok_or(BarcodeError::DueDate(yymmdd))
}

impl SlipBarcode {
    /// Reads a barcode's 44 digits (as the reader gives them; an `EAN` prefix or spaces are
    /// the caller's to remove).
    pub fn parse(raw: &str) -> Result<Self, BarcodeError> {
        if raw.chars().count() != DIGITS {
            return Err(BarcodeError::Length(raw.chars().count()));
        }
        if let Some(i) = raw.chars().position(|c| !c.is_ascii_digit()) {
            return Err(BarcodeError::NotDigit(i + 1));
        }
        let mut digits = [0u8; DIGITS];
        for (slot, b) in digits.iter_mut().zip(raw.as_bytes()) {
            *slot = b - b'0';
        }
        if !raw.starts_with(APPLICATION_IDENTIFIER) {
            return Err(BarcodeError::ApplicationIdentifier);
        }
        let expected = check_digit(&digits[..DIGITS - 1]);
        let found = digits[DIGITS - 1];
        if expected != found {
            return Err(BarcodeError::CheckDigit { expected, found });
        }
        let mut company = [0u8; 6];
        company.copy_from_slice(&digits[2..8]);
        let mut reference = [0u8; 21];
        reference.copy_from_slice(&digits[8..29]);
        let amount = number(&digits[37..43]);
        let fields = SlipFields {
            company: CompanyCode(company),
            reference: Reference(reference),
            reissue: digits[29],
            due: due_from(number(&digits[30..36]))?,
            stamp: StampFlag::from_digit(digits[36])?,
            amount: (amount != PLACEHOLDER_AMOUNT).then_some(amount),
        };
        Ok(Self { fields, digits })
    }

    /// Builds the barcode of a slip a city may print: an amount of ¥1 to ¥299,999, a due date
    /// in 2000–2099, no stamp (public money), a reissue count of 0–9.
    pub fn issue(
        company: CompanyCode,
        reference: Reference,
        reissue: u8,
        due: Date,
        amount_yen: u32,
    ) -> Result<Self, IssueError> {
        if amount_yen == 0 {
            return Err(IssueError::AmountZero);
        }
        if amount_yen >= AMOUNT_LIMIT_YEN {
            return Err(IssueError::AmountTooLarge(amount_yen));
        }
        if !(2000..=2099).contains(&due.year()) {
            return Err(IssueError::DueDateOutOfRange);
        }
        if reissue > 9 {
            return Err(IssueError::ReissueCount);
        }
        let mut digits = [0u8; DIGITS];
        digits[0] = 9;
        digits[1] = 1;
        digits[2..8].copy_from_slice(&company.0);
        digits[8..29].copy_from_slice(&reference.0);
        digits[29] = reissue;
        let yymmdd = u32::try_from(due.year() - 2000).unwrap_or(0) * 10_000
            + u32::from(u8::from(due.month())) * 100
            + u32::from(due.day());
        put_number(&mut digits[30..36], yymmdd);
        digits[36] = StampFlag::None.digit();
        put_number(&mut digits[37..43], amount_yen);
        digits[43] = check_digit(&digits[..DIGITS - 1]);
        Ok(Self {
            fields: SlipFields {
                company,
                reference,
                reissue,
                due: Some(due),
                stamp: StampFlag::None,
                amount: Some(amount_yen),
            },
            digits,
        })
    }

    pub fn fields(&self) -> &SlipFields {
        &self.fields
    }

    /// Whether a city could have printed it (no placeholder, a due date, no stamp, under the
    /// limit).
    pub fn is_issuable(&self) -> bool {
        let f = &self.fields;
        f.stamp == StampFlag::None
            && f.due.is_some()
            && f.amount.is_some_and(|a| (1..AMOUNT_LIMIT_YEN).contains(&a))
    }
}

impl fmt::Display for SlipBarcode {
    /// The 44 digits, as printed under the symbol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits_text(&self.digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn company() -> CompanyCode {
        CompanyCode::parse("912345").unwrap()
    }

    #[test]
    fn an_issued_slip_reads_back_field_by_field() {
        let reference = Reference::from_number(202_612_000_123);
        let slip =
            SlipBarcode::issue(company(), reference, 0, date!(2027 - 01 - 31), 3_980).unwrap();
        let text = slip.to_string();
        assert_eq!(text.len(), 44);
        assert!(text.starts_with("91912345000000000202612000123"));
        assert_eq!(&text[29..43], "02701310003980");
        let read = SlipBarcode::parse(&text).unwrap();
        assert_eq!(read, slip);
        assert!(read.is_issuable());
    }

    #[test]
    fn the_check_digit_weighs_three_then_one_from_the_right() {
        // 43 digits of 1: 22 weighs of 3 and 21 of 1 → 87 → check digit 3.
        assert_eq!(check_digit(&[1; 43]), 3);
        assert_eq!(check_digit(&[0; 43]), 0);
        // The rightmost data digit weighs 3.
        let mut data = [0u8; 43];
        data[42] = 1;
        assert_eq!(check_digit(&data), 7);
        data[42] = 0;
        data[41] = 1;
        assert_eq!(check_digit(&data), 9);
    }

    #[test]
    fn placeholders_parse_but_are_not_issuable() {
        let mut digits = [0u8; DIGITS];
        digits[0] = 9;
        digits[1] = 1;
        put_number(&mut digits[30..36], 999_999);
        digits[36] = 9;
        put_number(&mut digits[37..43], 999_999);
        digits[43] = check_digit(&digits[..43]);
        let placeholder = SlipBarcode::parse(&digits_text(&digits)).unwrap();
        assert_eq!(placeholder.fields().due, None);
        assert_eq!(placeholder.fields().amount, None);
        assert_eq!(placeholder.fields().stamp, StampFlag::Placeholder);
        assert!(!placeholder.is_issuable());
    }

    #[test]
    fn what_cannot_be_printed_is_refused_with_its_reason() {
        let r = Reference::from_number(1);
        let due = date!(2027 - 01 - 31);
        assert_eq!(
            SlipBarcode::issue(company(), r, 0, due, 300_000),
            Err(IssueError::AmountTooLarge(300_000))
        );
        assert_eq!(
            SlipBarcode::issue(company(), r, 0, due, 0),
            Err(IssueError::AmountZero)
        );
        assert_eq!(
            SlipBarcode::issue(company(), r, 10, due, 1),
            Err(IssueError::ReissueCount)
        );
        assert_eq!(
            SlipBarcode::issue(company(), r, 0, date!(2100 - 01 - 01), 1),
            Err(IssueError::DueDateOutOfRange)
        );
        assert!(SlipBarcode::issue(company(), r, 0, due, 299_999).is_ok());
        assert_eq!(CompanyCode::parse("12345"), Err(IssueError::CompanyCode));
        assert_eq!(Reference::parse("12a"), Err(IssueError::Reference));
    }

    #[test]
    fn what_is_not_a_barcode_says_why() {
        let good = SlipBarcode::issue(
            company(),
            Reference::from_number(7),
            1,
            date!(2027 - 02 - 28),
            1_500,
        )
        .unwrap()
        .to_string();
        assert_eq!(
            SlipBarcode::parse(&good[1..]),
            Err(BarcodeError::Length(43))
        );
        assert_eq!(
            SlipBarcode::parse(&format!("{}X", &good[..43])),
            Err(BarcodeError::NotDigit(44))
        );
        let other_ai = format!("90{}", &good[2..]);
        assert_eq!(
            SlipBarcode::parse(&other_ai),
            Err(BarcodeError::ApplicationIdentifier)
        );
        // 2027-02-30 does not exist (the check digit made right, so only the date is wrong).
        let mut digits: Vec<u8> = good.bytes().map(|b| b - b'0').collect();
        put_number(&mut digits[30..36], 270_230);
        digits[43] = check_digit(&digits[..43]);
        assert_eq!(
            SlipBarcode::parse(&digits_text(&digits)),
            Err(BarcodeError::DueDate(270_230))
        );
    }

    fn issuable() -> impl Strategy<Value = SlipBarcode> {
        (
            0u32..1_000_000,
            0u64..u64::MAX,
            0u8..10,
            0i64..36_000,
            1u32..AMOUNT_LIMIT_YEN,
        )
            .prop_map(|(company, reference, reissue, day, amount)| {
                let company = CompanyCode::parse(&format!("{company:06}")).unwrap();
                let due = date!(2000 - 01 - 01) + time::Duration::days(day);
                SlipBarcode::issue(
                    company,
                    Reference::from_number(reference),
                    reissue,
                    due,
                    amount,
                )
                .unwrap()
            })
    }

    proptest! {
        #[test]
        fn every_issued_barcode_parses_back_to_itself(slip in issuable()) {
            let read = SlipBarcode::parse(&slip.to_string());
            prop_assert_eq!(read, Ok(slip));
        }

        #[test]
        fn every_single_digit_change_is_caught(slip in issuable(), at in 0usize..44, by in 1u8..10) {
            let mut digits: Vec<u8> = slip.to_string().bytes().map(|b| b - b'0').collect();
            digits[at] = (digits[at] + by) % 10;
            let changed = digits_text(&digits);
            prop_assert!(SlipBarcode::parse(&changed).is_err(), "{} read as valid", changed);
        }
    }
}
