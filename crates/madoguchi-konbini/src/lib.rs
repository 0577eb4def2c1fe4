//! Convenience-store payment slips (コンビニ収納, issue 11): the GS1-128 barcode residents pay
//! with at any convenience store or with a wallet's 請求書払い.
//!
//! - `barcode`: the 44-digit barcode, a domain type that only parses valid barcodes and only
//!   builds issuable ones.
//! - `symbol`: its printed GS1-128 symbol as bars (the slip itself is drawn by `madoguchi-pdf`).
//! - `dsk`: the agency DSK's payment data (速報/確報/速報取消), read line by line from CP932.
//! - `apply`: what one line of payment data does (receive, confirm, reverse, or flag a
//!   reconciliation exception), decided from its stored slip and 速報.
//!
//! Architecture invariant: no I/O of its own and no async here. `dsk::Lines` reads from any
//! `BufRead` its caller opens (a file, or bytes in memory).

pub mod apply;
pub mod barcode;
pub mod dsk;
pub mod symbol;

pub use barcode::{
    AMOUNT_LIMIT_YEN, BarcodeError, CompanyCode, IssueError, Reference, SlipBarcode, SlipFields,
    StampFlag,
};
