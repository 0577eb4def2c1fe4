//! Per-request context: which tenant, which language, which client, over HTTPS or not. The
//! middleware here also renders every error response in one place.

use crate::http::error::{AppError, ErrorReport};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use madoguchi_domain::{ErrorCode, Lang};
use madoguchi_storage::{StorageError, Tenant};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// What every handler knows about the request it serves.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub tenant: Arc<Tenant>,
    pub lang: Lang,
    /// The client's address (from the proxy header when configured to trust it).
    pub client_ip: Option<IpAddr>,
    /// The request path, for the language switch and redirects back.
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| {
            AppError::internal("request context missing: route outside the context layer")
        })
    }
}

const LANG_COOKIE: &str = "lang";

/// The language asked for: `?lang=` first (an explicit switch), then the cookie the switch
/// set, then `Accept-Language`; Japanese when none decides.
pub fn request_lang(query: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
    if let Some(lang) = query_param(query, "lang").and_then(|v| Lang::from_tag(&v)) {
        return (lang, true);
    }
    if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::from_tag(&v)) {
        return (lang, false);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (Lang::from_accept_language(accept), false)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query?;
    url_decode_pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Reads one cookie value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn client_ip(
    parts_headers: &HeaderMap,
    connect: Option<SocketAddr>,
    trust_proxy: bool,
) -> Option<IpAddr> {
    if trust_proxy {
        // The proxy appends the address it saw last; earlier entries are client-supplied.
        let forwarded = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    connect.map(|addr| addr.ip())
}

async fn resolve_tenant(state: &AppState, host: Option<&str>) -> Result<Arc<Tenant>, AppError> {
    let host = host.map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    if let Some(host) = &host {
        let key = format!("host:{host}");
        if let Some(tenant) = state.tenants.get(&key) {
            return Ok(tenant);
        }
        match state.storage.tenant_by_host(host).await {
            Ok(tenant) => {
                let tenant = Arc::new(tenant);
                state.tenants.put(&key, tenant.clone());
                return Ok(tenant);
            }
            Err(StorageError::NotFound) => {
                // Remember that this host means the default tenant, so a miss costs one query
                // per cache period rather than one per request.
                let tenant = default_tenant(state).await?;
                state.tenants.put(&key, tenant.clone());
                return Ok(tenant);
            }
            Err(other) => return Err(other.into()),
        }
    }
    default_tenant(state).await
}

async fn default_tenant(state: &AppState) -> Result<Arc<Tenant>, AppError> {
    let key = format!("slug:{}", state.config.default_tenant);
    if let Some(tenant) = state.tenants.get(&key) {
        return Ok(tenant);
    }
    match state
        .storage
        .tenant_by_slug(&state.config.default_tenant)
        .await
    {
        Ok(tenant) => {
            let tenant = Arc::new(tenant);
            state.tenants.put(&key, tenant.clone());
            Ok(tenant)
        }
        Err(StorageError::NotFound) => Err(AppError::new(ErrorCode::TenantUnknown)),
        Err(other) => Err(other.into()),
    }
}

/// Builds [`Ctx`], runs the request, then renders any error response in the caller's language.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (lang, switched) = request_lang(request.uri().query(), request.headers());
    let path = request.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    let connect = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = client_ip(request.headers(), connect, state.config.trust_proxy_headers);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let needs_tenant = !matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics")
        && !path.starts_with("/static/");
    let mut response = if needs_tenant {
        match resolve_tenant(&state, host.as_deref()).await {
            Ok(tenant) => {
                request.extensions_mut().insert(Ctx {
                    tenant,
                    lang,
                    client_ip: ip,
                    path: path.clone(),
                });
                next.run(request).await
            }
            Err(error) => error.into_response(),
        }
    } else {
        next.run(request).await
    };

    // Errors produced by the framework itself (wrong method, body over the limit) get the same
    // treatment as our own.
    if response.extensions().get::<ErrorReport>().is_none() {
        // Framework rejections (a path id that is not a UUID, a bad query string) are plain
        // text; our own responses are HTML or JSON.
        let plain = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("text/plain"));
        let code = match response.status() {
            StatusCode::METHOD_NOT_ALLOWED => Some(ErrorCode::MethodNotAllowed),
            StatusCode::PAYLOAD_TOO_LARGE => Some(ErrorCode::PayloadTooLarge),
            StatusCode::UNSUPPORTED_MEDIA_TYPE if plain => Some(ErrorCode::UnsupportedMediaType),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY if plain && needs_tenant => {
                Some(ErrorCode::ValidationFailed)
            }
            _ => None,
        };
        if let Some(code) = code {
            let status = response.status();
            response = AppError::new(code).into_response();
            *response.status_mut() = status;
        }
    }
    if let Some(report) = response.extensions().get::<ErrorReport>().cloned() {
        response = render_error(&state, &report, response.status(), lang, is_api, &path);
    }
    if switched {
        // Secure under HTTPS like the session cookie: a plain-HTTP hop must not set or read it.
        let secure = if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            lang.tag()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(lang.tag()) {
        response
            .headers_mut()
            .insert(header::CONTENT_LANGUAGE, value);
    }
    response
}

fn render_error(
    state: &AppState,
    report: &ErrorReport,
    status: StatusCode,
    lang: Lang,
    is_api: bool,
    path: &str,
) -> Response {
    let mut response = if is_api {
        (status, axum::Json(report.body(lang))).into_response()
    } else {
        let page = state
            .templates
            .render_error(lang, status, report.code, path);
        (status, Html(page)).into_response()
    };
    if let Some(seconds) = report.retry_after_s {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_switch_beats_cookie_and_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("lang=ja"));
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("ja"));
        assert_eq!(request_lang(Some("lang=en"), &headers), (Lang::En, true));
        assert_eq!(request_lang(None, &headers), (Lang::Ja, false));
    }

    #[test]
    fn the_cookie_beats_accept_language() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; lang=en"));
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("ja"));
        assert_eq!(request_lang(None, &headers).0, Lang::En);
    }
}
