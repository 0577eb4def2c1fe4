//! Convenience-store payment slips (コンビニ収納, issue 11): the GS1-128 barcode residents pay
//! with at any convenience store or with a wallet's 請求書払い.
//!
//! Architecture invariant: no I/O and no async here. The barcode is a domain type that only
//! parses valid barcodes and only builds issuable ones; slips, the agencies' files and their
//! storage come in the issue's later stages.

pub mod barcode;
pub mod symbol;

pub use barcode::{
    AMOUNT_LIMIT_YEN, BarcodeError, CompanyCode, IssueError, Reference, SlipBarcode, SlipFields,
    StampFlag,
};
