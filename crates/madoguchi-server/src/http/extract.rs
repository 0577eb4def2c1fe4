//! Request body extractors that answer with our error codes instead of axum's plain text. Both
//! refuse control characters anywhere in the decoded body (`text_input`) before a handler
//! sees it.

use crate::http::error::AppError;
use crate::http::text_input::{check_json, check_urlencoded};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use madoguchi_domain::ErrorCode;
use serde::de::DeserializeOwned;

/// JSON body; malformed JSON, a wrong content type or an oversize body each get their own code.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Read as a document first, so every string in it is checked whatever `T` keeps.
        match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => {
                check_json(&value)?;
                serde_json::from_value(value)
                    .map(ApiJson)
                    .map_err(|_| AppError::new(ErrorCode::ValidationFailed))
            }
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => {
                    AppError::new(ErrorCode::UnsupportedMediaType)
                }
                JsonRejection::JsonSyntaxError(_) => AppError::new(ErrorCode::MalformedJson),
                JsonRejection::JsonDataError(_) => AppError::new(ErrorCode::ValidationFailed),
                JsonRejection::BytesRejection(_) => AppError::new(ErrorCode::PayloadTooLarge),
                _ => AppError::new(ErrorCode::MalformedJson),
            }),
        }
    }
}

/// Form body for pages; anything unreadable is a validation failure.
pub struct PageForm<T>(pub T);

impl<S, T> FromRequest<S> for PageForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A GET form is its query string, which the URI middleware has checked already.
        let reads_body = !matches!(*request.method(), Method::GET | Method::HEAD);
        if reads_body {
            let is_form = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return Err(AppError::new(ErrorCode::ValidationFailed));
            }
            let body = bytes::Bytes::from_request(request, state)
                .await
                .map_err(|_| AppError::new(ErrorCode::PayloadTooLarge))?;
            check_urlencoded(&body)?;
            return serde_urlencoded::from_bytes(&body)
                .map(PageForm)
                .map_err(|_| AppError::new(ErrorCode::ValidationFailed));
        }
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(FormRejection::BytesRejection(_)) => Err(AppError::new(ErrorCode::PayloadTooLarge)),
            Err(_) => Err(AppError::new(ErrorCode::ValidationFailed)),
        }
    }
}
