//! Characters no text input may carry, and bounded free text.
//!
//! PostgreSQL refuses NUL in `text`, so a NUL that reached it was a 500 while SQLite stored it.
//! Other control characters and the Unicode bidi overrides and isolates are refused as well:
//! they have no place in names, answers or reasons, and an override makes a day sheet or a
//! CSV export show text in a misleading order.

use crate::ErrorCode;

/// Whether `c` is refused in every text input: C0 controls other than TAB, LF and CR, DEL, C1
/// controls, and the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
pub fn is_forbidden_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}'
        | '\u{B}'
        | '\u{C}'
        | '\u{E}'..='\u{1F}'
        | '\u{7F}'..='\u{9F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}')
}

/// Refuses text with a character of [`is_forbidden_control`].
pub fn check_controls(text: &str) -> Result<(), ErrorCode> {
    if text.chars().any(is_forbidden_control) {
        Err(ErrorCode::ControlCharacter)
    } else {
        Ok(())
    }
}

/// Whether `c` shows nothing by itself: whitespace, zero-width and other format characters
/// (a name made only of these looks empty on every page).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c,
            '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// Free text such as a reason: trimmed, free of forbidden controls, at most `max_chars`
/// characters; `None` when nothing visible is left.
pub fn bounded_text(raw: &str, max_chars: usize) -> Result<Option<&str>, ErrorCode> {
    check_controls(raw)?;
    let text = raw.trim();
    if text.chars().count() > max_chars {
        return Err(ErrorCode::TextTooLong);
    }
    Ok(Some(text).filter(|t| !t.chars().all(is_invisible)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_a_right_to_left_override_are_refused() {
        assert_eq!(check_controls("a\u{0}b"), Err(ErrorCode::ControlCharacter));
        assert_eq!(
            check_controls("abc\u{202E}txt"),
            Err(ErrorCode::ControlCharacter)
        );
        assert_eq!(
            check_controls("\u{2066}x"),
            Err(ErrorCode::ControlCharacter)
        );
        assert_eq!(check_controls("\u{85}"), Err(ErrorCode::ControlCharacter));
        assert_eq!(check_controls("\u{7F}"), Err(ErrorCode::ControlCharacter));
    }

    #[test]
    fn tabs_newlines_and_japanese_text_pass() {
        assert_eq!(check_controls("山田\t花子\r\n相談です"), Ok(()));
    }

    #[test]
    fn bounded_text_is_trimmed_and_counted_in_characters() {
        assert_eq!(bounded_text("  理由  ", 2), Ok(Some("理由")));
        assert_eq!(bounded_text("理由です", 2), Err(ErrorCode::TextTooLong));
        assert_eq!(bounded_text(" \u{200B} ", 10), Ok(None));
    }
}
