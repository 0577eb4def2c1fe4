//! Pages for signing up, verifying the address, signing in and out, resetting a password, and
//! the resident's account page. They work without JavaScript: plain forms and redirects.

use crate::http::auth::{MaybeSignedIn, ResidentSession};
use crate::http::error::AppResult;
use crate::http::extract::PageForm;
use crate::http::{Ctx, SessionAuth};
use crate::state::AppState;
use crate::view::page::{form_errors, page_base};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::{AccountKind, ReturnPath};
use madoguchi_usecases::Actor;
use madoguchi_usecases::accounts::{self, SignIn, SignUpInput};
use minijinja::context;
use serde::Deserialize;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(sign_up_form).post(sign_up))
        .route("/signup/sent", get(sign_up_sent))
        .route("/verify-email", get(verify_email_form).post(verify_email))
        .route("/signin", get(resident_sign_in_form).post(resident_sign_in))
        .route("/staff/signin", get(staff_sign_in_form).post(staff_sign_in))
        .route("/signout", post(sign_out))
        .route("/account", get(account))
        .route(
            "/password-reset",
            get(reset_request_form).post(reset_request),
        )
        .route("/password-reset/sent", get(reset_sent))
        .route(
            "/password-reset/confirm",
            get(reset_form).post(reset_confirm),
        )
}

#[derive(Deserialize)]
struct SignUpForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `?next=`: the page to return to after signing in, carried through sign-up and the mail.
#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// What the sign-in pages show and carry of a return path: the path itself (for the hidden
/// field), the same as a query value (for links to the other pages of the flow), and why
/// sign-in is asked for. An unsafe path is dropped here, so no page ever carries it on.
#[derive(serde::Serialize)]
struct ReturnTo {
    path: String,
    query: String,
    /// `booking` when the path is a slot's booking form, `page` otherwise.
    reason: &'static str,
}

fn return_to(raw: Option<&str>) -> Option<ReturnTo> {
    let next = ReturnPath::parse(raw?)?;
    let reason = if next.as_str().starts_with("/reservations/book/") {
        "booking"
    } else {
        "page"
    };
    Some(ReturnTo {
        query: next.query_value(),
        path: next.into_string(),
        reason,
    })
}

async fn sign_up_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, Some(&session), false).await?;
    let next = return_to(query.next.as_deref());
    state.templates.page(
        "signup.html",
        &base,
        context! { values => context!{}, errors => context!{}, next },
    )
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageForm(form): PageForm<SignUpForm>,
) -> AppResult<Response> {
    let input = SignUpInput {
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        password: form.password,
        locale: ctx.lang,
        client: ctx.client_ip,
        next: form.next.as_deref().and_then(ReturnPath::parse),
    };
    let next = return_to(form.next.as_deref());
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    match accounts::sign_up(&state.accounts(&ctx.tenant), &scope, input).await {
        Ok(_) => {
            let to = match &next {
                Some(next) => format!("/signup/sent?next={}", next.query),
                None => "/signup/sent".to_owned(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let base = page_base(&ctx, None, Some(&session), false).await?;
            let values = context! { display_name => form.display_name, email => form.email };
            let page = state.templates.page(
                "signup.html",
                &base,
                context! { values, errors, alert, next },
            )?;
            Ok((status, page).into_response())
        }
    }
}

async fn sign_up_sent(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, None, false).await?;
    let next = return_to(query.next.as_deref());
    state
        .templates
        .page("signup_sent.html", &base, context! { next })
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Shows a button that confirms the address. Opening the link spends nothing: mail security
/// scanners open links before the resident does.
async fn verify_email_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<TokenQuery>,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, Some(&session), false).await?;
    let next = return_to(query.next.as_deref());
    state.templates.page(
        "verify_result.html",
        &base,
        context! { confirm => true, token => query.token, next },
    )
}

async fn verify_email(
    State(state): State<AppState>,
    ctx: Ctx,
    PageForm(form): PageForm<TokenQuery>,
) -> AppResult<Response> {
    let base = page_base(&ctx, None, None, false).await?;
    let next = return_to(form.next.as_deref());
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    match accounts::verify_email(&*state.storage, &scope, &form.token).await {
        Ok(_) => Ok(state
            .templates
            .page("verify_result.html", &base, context! { ok => true, next })?
            .into_response()),
        Err(error) => {
            let (status, _, alert) = form_errors(error.into(), ctx.lang)?;
            let page = state.templates.page(
                "verify_result.html",
                &base,
                context! { ok => false, alert, next },
            )?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn sign_in_paths(kind: AccountKind) -> (&'static str, &'static str) {
    match kind {
        AccountKind::Resident => ("/signin", "/account"),
        AccountKind::Staff => ("/staff/signin", "/staff"),
    }
}

async fn sign_in_form(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    kind: AccountKind,
    next: Option<&str>,
) -> AppResult<Html<String>> {
    let base = page_base(ctx, None, Some(session), false).await?;
    let (action, _) = sign_in_paths(kind);
    let next = return_to(next);
    state.templates.page(
        "signin.html",
        &base,
        context! { kind => kind.as_str(), action, values => context!{}, next },
    )
}

async fn sign_in(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    kind: AccountKind,
    form: SignInForm,
) -> AppResult<Response> {
    let input = SignIn {
        kind,
        email: form.email.clone(),
        password: form.password,
        client: ctx.client_ip,
        next: form.next.as_deref().and_then(ReturnPath::parse),
    };
    let next = return_to(form.next.as_deref());
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    match accounts::sign_in(&state.accounts(&ctx.tenant), &scope, input).await {
        Ok(account) => {
            SessionAuth::sign_in(
                session,
                SessionAuth {
                    account_id: account.id,
                    tenant_id: ctx.tenant.id,
                    kind,
                    signed_in_at_us: madoguchi_storage::to_unix_micros(madoguchi_storage::now_utc()),
                },
            )
            .await?;
            // Back to the page that asked for sign-in; the account's own page otherwise.
            let to = next.map_or_else(|| sign_in_paths(kind).1.to_owned(), |n| n.path);
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let base = page_base(ctx, None, Some(session), false).await?;
            let (action, _) = sign_in_paths(kind);
            let values = context! { email => form.email };
            let page = state.templates.page(
                "signin.html",
                &base,
                context! { kind => kind.as_str(), action, values, errors, alert, next },
            )?;
            Ok((status, page).into_response())
        }
    }
}

async fn resident_sign_in_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let next = query.next.as_deref();
    sign_in_form(&state, &ctx, &session, AccountKind::Resident, next).await
}

async fn resident_sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageForm(form): PageForm<SignInForm>,
) -> AppResult<Response> {
    sign_in(&state, &ctx, &session, AccountKind::Resident, form).await
}

async fn staff_sign_in_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let next = query.next.as_deref();
    sign_in_form(&state, &ctx, &session, AccountKind::Staff, next).await
}

async fn staff_sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageForm(form): PageForm<SignInForm>,
) -> AppResult<Response> {
    sign_in(&state, &ctx, &session, AccountKind::Staff, form).await
}

async fn sign_out(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    MaybeSignedIn(auth): MaybeSignedIn,
) -> AppResult<Redirect> {
    if let Some(auth) = auth {
        let actor = accounts::actor_for(auth.kind, auth.account_id);
        let scope = state.scope(ctx.tenant.id, actor);
        accounts::sign_out(&*state.storage, &scope).await?;
    }
    SessionAuth::sign_out(&session).await?;
    Ok(Redirect::to("/"))
}

async fn account(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, Some(AccountKind::Resident), Some(&session), false).await?;
    let a = &resident.account;
    let member_since = madoguchi_domain::tokyo::format_tokyo_minutes(a.created_at);
    let line = crate::view::line::account_view(&state, &ctx, a.id, &session).await?;
    state.templates.page(
        "account.html",
        &base,
        context! { email => a.email.as_str(), display_name => a.display_name.as_str(), member_since, line },
    )
}

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: Option<String>,
}

fn kind_of(raw: Option<&str>) -> AccountKind {
    raw.and_then(AccountKind::parse)
        .unwrap_or(AccountKind::Resident)
}

async fn reset_request_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<KindQuery>,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, Some(&session), false).await?;
    let kind = kind_of(query.kind.as_deref());
    state.templates.page(
        "reset_request.html",
        &base,
        context! { kind => kind.as_str(), values => context!{} },
    )
}

#[derive(Deserialize)]
struct ResetRequestForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    kind: Option<String>,
}

async fn reset_request(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageForm(form): PageForm<ResetRequestForm>,
) -> AppResult<Response> {
    let kind = kind_of(form.kind.as_deref());
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    let deps = state.accounts(&ctx.tenant);
    match accounts::request_password_reset(&deps, &scope, kind, &form.email, ctx.client_ip).await {
        Ok(()) => Ok(Redirect::to("/password-reset/sent").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let base = page_base(&ctx, None, Some(&session), false).await?;
            let values = context! { email => form.email };
            let page = state.templates.page(
                "reset_request.html",
                &base,
                context! { kind => kind.as_str(), values, errors, alert },
            )?;
            Ok((status, page).into_response())
        }
    }
}

async fn reset_sent(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, None, false).await?;
    state.templates.page("reset_sent.html", &base, context! {})
}

async fn reset_form(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    Query(query): Query<TokenQuery>,
) -> AppResult<Html<String>> {
    let base = page_base(&ctx, None, Some(&session), false).await?;
    state
        .templates
        .page("reset_form.html", &base, context! { token => query.token })
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn reset_confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    PageForm(form): PageForm<ResetForm>,
) -> AppResult<Response> {
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    let deps = state.accounts(&ctx.tenant);
    match accounts::reset_password(&deps, &scope, &form.token, form.password).await {
        Ok(account) => {
            let base = page_base(&ctx, None, None, false).await?;
            let (signin, _) = sign_in_paths(account.kind);
            Ok(state
                .templates
                .page("reset_done.html", &base, context! { signin })?
                .into_response())
        }
        Err(error) => {
            let (status, errors, alert) = form_errors(error.into(), ctx.lang)?;
            let base = page_base(&ctx, None, Some(&session), false).await?;
            let page = state.templates.page(
                "reset_form.html",
                &base,
                context! { token => form.token, errors, alert },
            )?;
            Ok((status, page).into_response())
        }
    }
}
