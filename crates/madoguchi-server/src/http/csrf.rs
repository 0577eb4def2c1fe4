//! CSRF protection for every form post (synchroniser token pattern).
//!
//! The middleware guards every unsafe request outside `/api/` (the API takes bearer tokens, not
//! cookies, so it cannot be forged from another site). Handlers do not have to remember it: a
//! form without the session's token never reaches them.

use crate::http::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use madoguchi_auth::csrf::{new_csrf_token, tokens_match};
use madoguchi_domain::ErrorCode;
use tower_sessions::Session;

use crate::state::AppState;

const SESSION_KEY: &str = "csrf";
pub const FORM_FIELD: &str = "csrf_token";

/// The session's CSRF token, created on first use; every rendered form embeds it.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session
        .get::<String>(SESSION_KEY)
        .await
        .map_err(AppError::internal)?
    {
        return Ok(token);
    }
    let token = new_csrf_token();
    session
        .insert(SESSION_KEY, &token)
        .await
        .map_err(AppError::internal)?;
    Ok(token)
}

/// Starts a fresh token (at sign-in and sign-out, together with a new session id).
pub async fn rotate_csrf_token(session: &Session) -> Result<String, AppError> {
    let token = new_csrf_token();
    session
        .insert(SESSION_KEY, &token)
        .await
        .map_err(AppError::internal)?;
    Ok(token)
}

/// Webhooks (LINE today, payment providers next) have no session: each proves itself by a
/// signature of its body, checked by its own handler. Every route under this prefix must.
pub const WEBHOOK_PREFIX: &str = "/hooks/";

pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let path = request.uri().path();
    if !unsafe_method || path.starts_with("/api/") || path.starts_with(WEBHOOK_PREFIX) {
        return next.run(request).await;
    }
    match check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn check(state: &AppState, request: Request) -> Result<Request, AppError> {
    let session = request
        .extensions()
        .get::<Session>()
        .cloned()
        .ok_or_else(|| AppError::internal("csrf guard runs outside the session layer"))?;
    let expected = session
        .get::<String>(SESSION_KEY)
        .await
        .map_err(AppError::internal)?;
    let header_token = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Without a token in the session nothing can match: refuse before reading the body.
    if expected.is_none() {
        return Err(AppError::new(ErrorCode::CsrfFailed));
    }
    // An upload route's larger limit is for a signed-in staff member only: anyone else is
    // read no further than a form.
    let staff = crate::http::auth::SessionAuth::load(&session)
        .await?
        .is_some_and(|auth| auth.kind == madoguchi_domain::AccountKind::Staff);
    let (parts, body) = request.into_parts();
    let limit = if staff {
        crate::http::upload::body_limit(parts.uri.path(), state.config.body_limit_bytes)
    } else {
        state.config.body_limit_bytes
    };
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| AppError::new(ErrorCode::PayloadTooLarge))?;
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let submitted = header_token.or_else(|| {
        is_form
            .then(|| {
                form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == FORM_FIELD)
                    .map(|(_, v)| v.into_owned())
            })
            .flatten()
    });
    let submitted = match submitted {
        None => multipart_token(&parts.headers, bytes.clone()).await,
        some => some,
    };
    match (expected, submitted) {
        (Some(expected), Some(submitted)) if tokens_match(&expected, &submitted) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::new(ErrorCode::CsrfFailed)),
    }
}

/// The token field of a `multipart/form-data` body (a file upload form); forms put it first,
/// so the file itself is skipped rather than read. Parsed with `multer` directly: the body was
/// already read within the route's limit, and axum's extractor would apply its own 2 MiB
/// default to a request built here.
async fn multipart_token(headers: &axum::http::HeaderMap, body: bytes::Bytes) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FORM_FIELD) {
            return field.text().await.ok();
        }
    }
    None
}
