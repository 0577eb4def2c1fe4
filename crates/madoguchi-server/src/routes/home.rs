//! Public pages: the city's home, static assets and the not-found page.

use crate::http::Ctx;
use crate::http::auth::MaybeSignedIn;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::page::page_base;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use minijinja::context;
use serde::Serialize;
use std::sync::LazyLock;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        // Stylesheets are compressed for browsers that accept it; pages are not, because they
        // carry a CSRF token next to what the visitor typed (BREACH).
        .route(
            "/static/{file}",
            get(static_file).layer(tower_http::compression::CompressionLayer::new()),
        )
}

#[derive(Serialize)]
struct OfficeCard {
    name: String,
    kind: &'static str,
}

/// The city's home: what residents can do here, and where the offices are.
async fn home(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
) -> AppResult<Html<String>> {
    // Signed-out visitors all see the same page: serve it from the page cache when allowed.
    let cache_key = (auth.is_none() && state.config.anonymous_page_cache)
        .then(|| crate::state::home_page_key(ctx.tenant.id, ctx.lang));
    if let Some(page) = cache_key.as_deref().and_then(|key| state.pages.get(key)) {
        return Ok(Html(page.as_ref().clone()));
    }
    let session_ref = auth.is_some().then_some(&session);
    let base = page_base(&ctx, auth.map(|a| a.kind), session_ref, false).await?;
    let offices: Vec<OfficeCard> = state
        .offices(ctx.tenant.id)
        .await?
        .iter()
        .map(|o| OfficeCard {
            kind: o.kind.label(ctx.lang),
            name: o.name(ctx.lang).to_owned(),
        })
        .collect();
    // What this build has and the city has on; nothing else is offered, not even as a card.
    let offers: Vec<&str> =
        madoguchi_usecases::capabilities::of_city(&*state.storage, ctx.tenant.id)
            .await?
            .offered()
            .into_iter()
            .map(|c| c.as_str())
            .collect();
    let Html(page) =
        state
            .templates
            .page("home.html", &base, context! { offices => offices, offers })?;
    if let Some(key) = cache_key {
        state.pages.put(&key, std::sync::Arc::new(page.clone()));
    }
    Ok(Html(page))
}

/// The 404 page in the caller's language (rendered by the context middleware).
pub async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound)
}

/// The stylesheets as sent: embedded, so the binary needs no files beside it, and without the
/// comments written for their maintainers (a phone on a slow line pays for every byte).
static APP_CSS: LazyLock<String> =
    LazyLock::new(|| without_comments(include_str!("../../../../web/static/app.css")));
static TOKENS_CSS: LazyLock<String> =
    LazyLock::new(|| without_comments(include_str!("../../../../web/static/tokens.css")));

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (APP_CSS.as_str(), "text/css; charset=utf-8"),
        "tokens.css" => (TOKENS_CSS.as_str(), "text/css; charset=utf-8"),
        _ => return AppError::new(ErrorCode::NotFound).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// CSS without its comments and blank lines. Comments that start `/*!` (licences) stay, and
/// nothing inside a quoted string is touched.
fn without_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("/*") && !rest.starts_with("/*!") {
            rest = rest[2..].find("*/").map_or("", |end| &rest[2 + end + 2..]);
        } else if rest.starts_with("/*!") {
            let end = rest.find("*/").map_or(rest.len(), |end| end + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c == '"' || c == '\'' {
            // A string runs to the same quote that is not escaped.
            let mut end = c.len_utf8();
            let mut escaped = false;
            for (i, d) in rest[end..].char_indices() {
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == c {
                    end += i + d.len_utf8();
                    break;
                }
            }
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::without_comments;

    #[test]
    fn comments_go_and_licences_strings_and_rules_stay() {
        let css = "/*! licence */\n/* why */\na { color: red; } /* inline */\n\n\nb::before { content: \"/* not a comment */\"; }\n";
        assert_eq!(
            without_comments(css),
            "/*! licence */\na { color: red; }\nb::before { content: \"/* not a comment */\"; }"
        );
    }

    #[test]
    fn an_unclosed_comment_or_string_ends_the_sheet_without_panicking() {
        assert_eq!(without_comments("a { } /* open"), "a { }");
        assert_eq!(without_comments("a { content: 'open"), "a { content: 'open");
    }

    #[test]
    fn the_embedded_stylesheets_lose_weight_but_no_rule() {
        let app = include_str!("../../../../web/static/app.css");
        let slim = without_comments(app);
        assert!(slim.len() < app.len());
        assert_eq!(
            slim.matches('{').count(),
            app.matches('{').count() - comment_braces(app)
        );
    }

    /// Braces written inside comments of a sheet (they go with the comments).
    fn comment_braces(css: &str) -> usize {
        css.split("/*")
            .skip(1)
            .map(|c| c.split("*/").next().unwrap_or("").matches('{').count())
            .sum()
    }
}
