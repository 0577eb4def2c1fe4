//! Request body extractors that answer with our error codes instead of axum's plain text.

use crate::http::error::AppError;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
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
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
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
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(FormRejection::BytesRejection(_)) => Err(AppError::new(ErrorCode::PayloadTooLarge)),
            Err(_) => Err(AppError::new(ErrorCode::ValidationFailed)),
        }
    }
}
