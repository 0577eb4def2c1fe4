//! File uploads from pages (`multipart/form-data`): the one file field of a form, and the
//! larger body limit of the few routes that take files bigger than a form.

use crate::http::error::{AppError, AppResult};
use axum::extract::Multipart;
use madoguchi_domain::ErrorCode;

/// Routes that take a file larger than the general body limit, with their limit in bytes
/// (the CSRF guard, which reads the body first, and the route's own extractor both use it).
const LARGE_UPLOADS: &[(&str, usize)] = &[(
    "/finance/slips/imports",
    madoguchi_usecases::slip_uploads::MAX_UPLOAD_BYTES + 64 * 1024,
)];

/// The body limit of `path`: its own for an upload route, else `default`.
pub fn body_limit(path: &str, default: usize) -> usize {
    LARGE_UPLOADS
        .iter()
        .find(|(route, _)| *route == path)
        .map_or(default, |(_, limit)| *limit)
}

/// An uploaded file: its name as the browser sent it (no path) and its bytes.
pub struct UploadedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The form's `field` file; an empty file when the form came without one.
pub async fn file_field(mut multipart: Multipart, field: &str) -> AppResult<UploadedFile> {
    while let Some(part) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::new(ErrorCode::ValidationFailed))?
    {
        if part.name() == Some(field) {
            // Browsers send the bare name; some older ones a whole Windows path.
            let name = part
                .file_name()
                .map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            let bytes = part
                .bytes()
                .await
                .map_err(|_| AppError::new(ErrorCode::PayloadTooLarge))?;
            return Ok(UploadedFile {
                name,
                bytes: bytes.to_vec(),
            });
        }
    }
    Ok(UploadedFile {
        name: String::new(),
        bytes: Vec::new(),
    })
}
