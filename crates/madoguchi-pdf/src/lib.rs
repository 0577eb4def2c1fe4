//! Printable documents of Madoguchi as PDF, in Japanese or English: the receipt (領収書) of a
//! payment and the convenience-store payment slip (納付書) with its GS1-128 barcode; facility
//! use permits are to follow on the same layout layer.
//!
//! - `layout`: A4 pages in millimetres; text, right-aligned amounts, rules and boxes, grouped as
//!   headings, paragraphs, tables and figures. The only module that names the PDF writer.
//! - `receipt`: [`Receipt`] and [`render_receipt`], checked input to PDF bytes.
//! - `slip`: [`Slip`] and [`render_slips`], a batch of slips as one PDF, a page per slip. The
//!   barcode's symbol comes from `madoguchi-konbini`, which owns the barcode; the slip is drawn
//!   here so that it shares the receipt's layout, font and text checks.
//! - `text`: the checks and date formats the documents share.
//! - `error`: [`PdfError`], what was refused and in which [`Field`].
//!
//! Architecture invariant: this crate is pure. It performs no I/O and has no async code: it
//! never reads the clock (dates and instants are arguments), never reads files at run time (the
//! Japanese font is compiled in), and answers bytes that the caller sends or stores. The same
//! input gives the same bytes.
//!
//! Why krilla (0.8) writes the PDF, rather than printpdf (0.12): krilla subsets TrueType fonts
//! itself (a receipt embeds the few dozen glyphs it uses, not the 6 MB IPAex font), maps every
//! glyph back to its text so Japanese can be searched, copied and read aloud, and writes tagged
//! PDF checked against PDF/UA-1 (accessibility) and PDF/A-2a (archiving) as it writes, which
//! public bodies are asked for. It is pure Rust (no C library), small (no HTML engine, unlike
//! printpdf's default features), and maintained: it is the PDF writer of Typst. Text is shaped
//! with rustybuzz, the shaper krilla itself uses, so that widths are known before drawing
//! (right-aligned amounts, text that must fit a column).
//!
//! The Japanese font is IPAexGothic under the IPA Font License v1.0: see `fonts/README.md`.

pub mod error;
pub mod layout;
pub mod receipt;
pub mod slip;
pub mod text;

pub use error::{Field, PdfError};
pub use receipt::{Receipt, ReceiptLine, render_receipt};
pub use slip::{MAX_SLIPS_PER_DOCUMENT, Slip, render_slips};
pub use text::MAX_TEXT_CHARS;
