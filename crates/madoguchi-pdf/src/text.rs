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

/// Refuses control characters. Every text is drawn on one line, so line breaks and tabs are
/// refused with the rest.
pub(crate) fn refuse_controls(raw: &str, field: Field) -> Result<(), PdfError> {
    if raw
        .chars()
        .any(|c| c.is_control() || is_forbidden_control(c))
    {
        return Err(PdfError::ControlCharacter { field });
    }
    Ok(())
}

/// Like [`required_text`], but nothing visible (or `None`) is `None`: the text is left out.
pub(crate) fn optional_text(raw: Option<&str>, field: Field) -> Result<Option<&str>, PdfError> {
    let Some(raw) = raw else { return Ok(None) };
    refuse_controls(raw, field)?;
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

/// The geta mark 〓, printed in place of a character the font lacks (a rare kanji of a name, a
/// 外字), as Japanese municipal printing has always done: a batch of slips is not refused for
/// one payer's name, and the clerk who sees 〓 knows to write the character by hand.
pub(crate) const GETA: char = '〓';

/// `raw` with every character the bundled font cannot draw replaced by [`GETA`].
pub(crate) fn with_geta(raw: &str) -> std::borrow::Cow<'_, str> {
    if can_draw(raw) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut buffer = [0u8; 4];
    std::borrow::Cow::Owned(
        raw.chars()
            .map(|c| {
                if can_draw(c.encode_utf8(&mut buffer)) {
                    c
                } else {
                    GETA
                }
            })
            .collect(),
    )
}

/// `text` in `style`, made smaller to fit `max_width_mm`; when even the smallest size is too
/// wide, shortened with an ellipsis at the smallest size. For batch documents, where one long
/// text must not stop the others.
pub(crate) fn fitted_or_shortened(
    text: &str,
    style: TextStyle,
    max_width_mm: f32,
) -> (std::borrow::Cow<'_, str>, TextStyle) {
    if let Some(fitting) = fit(text, style, max_width_mm, MIN_TEXT_PT) {
        return (std::borrow::Cow::Borrowed(text), fitting);
    }
    let smallest = style.with_size(MIN_TEXT_PT);
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let shortened: String = chars.iter().chain(['…'].iter()).collect();
        if crate::layout::text_width_mm(&shortened, MIN_TEXT_PT) <= max_width_mm {
            return (std::borrow::Cow::Owned(shortened), smallest);
        }
    }
    (std::borrow::Cow::Borrowed("…"), smallest)
}
