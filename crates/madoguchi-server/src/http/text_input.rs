//! Control characters are refused at the edge, for every text input at once: JSON bodies (keys
//! and values), form bodies, query strings and paths. A field-by-field check would miss the
//! next field; a NUL that reached PostgreSQL was a 500. See `madoguchi_domain::text` for the
//! characters. The multipart CSV upload keeps its own line-by-line validation.

use crate::http::error::{AppError, AppResult};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use madoguchi_domain::ErrorCode;
use madoguchi_domain::text::is_forbidden_control;

fn refused(field: &str) -> AppError {
    AppError::field(field, ErrorCode::ControlCharacter)
}

fn has_control(text: &str) -> bool {
    text.chars().any(is_forbidden_control)
}

/// Refuses a JSON document with a forbidden character in any key or string, naming the field
/// by its path (`answers.topic`, `caller.name_kanji`, `rules.questions.0.label_ja`).
pub fn check_json(value: &serde_json::Value) -> AppResult<()> {
    fn walk(value: &serde_json::Value, path: &mut Vec<String>) -> Result<(), String> {
        match value {
            serde_json::Value::String(s) if has_control(s) => Err(path.join(".")),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    // A key with a control character is not echoed back as a field name.
                    if has_control(key) {
                        return Err(path.join("."));
                    }
                    path.push(key.clone());
                    walk(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(value, &mut Vec::new())
        .map_err(|field| refused(if field.is_empty() { "body" } else { &field }))
}

/// Refuses `application/x-www-form-urlencoded` data (a body or a query string) with a forbidden
/// character in a decoded name or value.
pub fn check_urlencoded(raw: &[u8]) -> AppResult<()> {
    for (name, value) in form_urlencoded::parse(raw) {
        if has_control(&name) {
            return Err(refused("form"));
        }
        if has_control(&value) {
            return Err(refused(&name));
        }
    }
    Ok(())
}

/// Middleware: refuses a request whose decoded path or query string carries a forbidden
/// character, before any handler reads them. Sits inside `request_context`, which renders the
/// error.
pub async fn refuse_control_characters_in_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    // The path decoded as form data: its pieces between `&` and `=` are percent-decoded, which
    // is all that matters here (the separators themselves are not controls).
    let path_ok = check_urlencoded(uri.path().as_bytes()).is_ok();
    let query = uri.query().map(|q| check_urlencoded(q.as_bytes()));
    match (path_ok, query) {
        (false, _) => refused("path").into_response(),
        (true, Some(Err(error))) => error.into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nul_deep_in_a_document_names_its_field() {
        let error = check_json(&json!({"answers": {"topic": "a\u{0}"}})).err();
        let field = error.map(|e| (e.code, e.fields[0].field.clone()));
        assert_eq!(
            field,
            Some((ErrorCode::ControlCharacter, "answers.topic".to_owned()))
        );
        let error = check_json(&json!({"q": [{"label": "\u{202E}x"}]})).err();
        assert_eq!(
            error.map(|e| e.fields[0].field.clone()),
            Some("q.0.label".to_owned())
        );
    }

    #[test]
    fn keys_are_checked_too_and_clean_documents_pass() {
        assert!(check_json(&json!({"a\u{0}": 1})).is_err());
        assert!(check_json(&json!({"name": "山田\n花子", "n": 1, "b": [true, null]})).is_ok());
    }

    #[test]
    fn percent_encoded_controls_in_forms_and_queries_are_refused() {
        assert!(check_urlencoded(b"reason=a%00b").is_err());
        assert!(check_urlencoded(b"reason=%E2%80%AE").is_err());
        assert!(check_urlencoded(b"a%01=b").is_err());
        assert!(check_urlencoded(b"reason=%E7%90%86%E7%94%B1+ok&x=1").is_ok());
    }
}
