//! The checks and formats every document shares: a text that must fit on one line of the page,
//! and a date as a reader of each language writes it.

use madoguchi_domain::Lang;
use madoguchi_domain::text::{is_forbidden_control, is_invisible};
use time::Date;

use crate::layout::{TextStyle, can_draw, fit};
use crate::{Field, PdfError};

/// Longer texts are refused before they are measured, so the work per receipt stays bounded.
/// Most texts must fit a narrower place anyway; this only bounds the measuring.
pub const MAX_TEXT_CHARS: usize = 200;

/// A text that must show something: trimmed, on one line, drawable with the bundled font.
pub(crate) fn required_text(raw: &str, field: Field) -> Result<&str, PdfError> {
    optional_text(Some(raw), field)?.ok_or(PdfError::EmptyText { field })
}

/// Like [`required_text`], but nothing visible (or `None`) is `None`: the text is left out.
pub(crate) fn optional_text(raw: Option<&str>, field: Field) -> Result<Option<&str>, PdfError> {
    let Some(raw) = raw else { return Ok(None) };
    // Every text is drawn on one line, so line breaks and tabs are refused with the rest.
    if raw
        .chars()
        .any(|c| c.is_control() || is_forbidden_control(c))
    {
        return Err(PdfError::ControlCharacter { field });
    }
    let text = raw.trim();
    if text.chars().all(is_invisible) {
        return Ok(None);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(PdfError::TextTooLong { field });
    }
    if !can_draw(text) {
        return Err(PdfError::UnsupportedCharacter { field });
    }
    Ok(Some(text))
}

/// `2026年12月7日` or `December 7, 2026`.
pub(crate) fn format_date(date: Date, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        Lang::En => format!("{} {}, {}", date.month(), date.day(), date.year()),
    }
}

/// Texts are made smaller to fit their place, but no smaller than this.
pub(crate) const MIN_TEXT_PT: f32 = 6.5;

/// Where a text goes: `fit` to its width, or the field is refused as too long.
pub(crate) fn fitted(
    text: &str,
    style: TextStyle,
    max_width_mm: f32,
    field: Field,
) -> Result<TextStyle, PdfError> {
    fit(text, style, max_width_mm, MIN_TEXT_PT).ok_or(PdfError::TextTooLong { field })
}
