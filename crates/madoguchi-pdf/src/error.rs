//! Why a document could not be rendered: refused input, named by field, or a PDF that could not
//! be written. Messages name fields and line numbers only, never the text itself, since that is
//! personal data (a payer's name) and errors reach logs.

use std::fmt;

/// A field of a document's input, so a caller can point at what to correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    CityName,
    OfficeName,
    ReceiptNumber,
    PayerName,
    MethodLabel,
    Note,
    /// The revenue category (歳入科目) of the line at this index (0-based).
    LineCategory(usize),
    /// The description of the line at this index (0-based).
    LineDescription(usize),
    /// A slip's revenue category (歳入科目).
    RevenueCategory,
    /// A slip's description of what is billed.
    Description,
    /// A slip's number (納付番号).
    SlipNumber,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::CityName => f.write_str("city_name"),
            Field::OfficeName => f.write_str("office_name"),
            Field::ReceiptNumber => f.write_str("receipt_number"),
            Field::PayerName => f.write_str("payer_name"),
            Field::MethodLabel => f.write_str("method_label"),
            Field::Note => f.write_str("note"),
            Field::LineCategory(index) => write!(f, "lines[{index}].revenue_category"),
            Field::LineDescription(index) => write!(f, "lines[{index}].description"),
            Field::RevenueCategory => f.write_str("revenue_category"),
            Field::Description => f.write_str("description"),
            Field::SlipNumber => f.write_str("slip_number"),
        }
    }
}

/// Everything that stops a PDF from being rendered. Input problems come first; a caller can show
/// them. [`PdfError::Write`] is a fault of this crate or its font, not of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    #[error("a receipt needs at least one line")]
    NoLines,
    #[error("a receipt holds at most {max_lines} lines on its one page")]
    TooManyLines { max_lines: usize },
    #[error("the amount of line {index} is zero or negative")]
    AmountNotPositive { index: usize },
    #[error("the total of the lines does not fit in an i64 of yen")]
    TotalOverflow,
    #[error("{field} is empty")]
    EmptyText { field: Field },
    #[error("{field} contains a control character")]
    ControlCharacter { field: Field },
    #[error("{field} contains a character the bundled Japanese font cannot draw")]
    UnsupportedCharacter { field: Field },
    #[error("{field} is too long for its place on the page")]
    TextTooLong { field: Field },
    #[error("a batch of slips needs at least one slip")]
    NoSlips,
    #[error("one PDF holds at most {max_slips} slips")]
    TooManySlips { max_slips: usize },
    #[error("the barcode is not one a city may print (a placeholder, no due date, or a stamp)")]
    BarcodeNotIssuable,
    #[error("slip {index}: {error}")]
    InSlip { index: usize, error: Box<PdfError> },
    #[error("the PDF could not be written: {0}")]
    Write(&'static str),
}
