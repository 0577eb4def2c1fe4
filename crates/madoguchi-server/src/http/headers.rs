//! Security headers on every response, and the one place that decides what caches may keep.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// No inline script or style anywhere; forms post only to us; nobody may frame us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'; object-src 'none'";

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let forwarded_https = state.config.trust_proxy_headers
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https");
    let over_tls = forwarded_https || state.config.secure_cookies();
    let personal = carries_identity(request.headers());
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    set_cache_control(response.headers_mut(), personal, is_static);
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // Mail links carry tokens in the query string; never send our URLs to other sites.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if over_tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Whether the request may be answered with someone's own data: it carries a bearer token or
/// a cookie (the session). Anonymous visitors get a session only once a form needs its CSRF
/// token, so this errs on the side of not caching.
fn carries_identity(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE)
}

/// `no-store` unless a handler chose a policy for a public answer (stylesheets, the calendar
/// feed). An answer to a signed-in session or a bearer token is `no-store` whatever the handler
/// said, so a shared cache or the browser's back button never shows one person's page to the
/// next user of a library PC; a handler's own policy stays only when it says `no-store` itself
/// (a receipt's `private, no-store`). Stylesheets are the same for everyone and stay cacheable.
fn set_cache_control(headers: &mut axum::http::HeaderMap, personal: bool, is_static: bool) {
    const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
    if is_static {
        return;
    }
    let stores_nothing = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim() == "no-store"));
    if personal && !stores_nothing {
        headers.insert(header::CACHE_CONTROL, NO_STORE);
    } else {
        headers.entry(header::CACHE_CONTROL).or_insert(NO_STORE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn answers_are_not_stored_unless_a_handler_says_so() {
        let mut headers = HeaderMap::new();
        set_cache_control(&mut headers, false, false);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");

        let mut public = HeaderMap::new();
        public.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=300"),
        );
        set_cache_control(&mut public, false, false);
        assert_eq!(public[header::CACHE_CONTROL], "private, max-age=300");
    }

    #[test]
    fn a_signed_in_answer_is_never_stored_but_stylesheets_are() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=300"),
        );
        set_cache_control(&mut headers, true, false);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");

        let mut receipt = HeaderMap::new();
        receipt.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        set_cache_control(&mut receipt, true, false);
        assert_eq!(receipt[header::CACHE_CONTROL], "private, no-store");

        let mut css = HeaderMap::new();
        css.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        set_cache_control(&mut css, true, true);
        assert_eq!(css[header::CACHE_CONTROL], "public, max-age=3600");
    }
}
