//! The fake's HTTP face. Everything under `/v1/` goes through one handler that does what
//! Stripe's edge does for every request, in Stripe's order: injected failures first (a 500 or a
//! lost answer), then the Bearer key (401), the form-encoded parameters (400), the
//! `Idempotency-Key` (replay, or 400 `idempotency_error` for other parameters), and only then
//! the operation. Also a small payment page at `/pay/{session}` so the demo binary can be
//! clicked through.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::account::{ApiError, Cause, Outcome, Replay};
use crate::params::Params;
use crate::{Inner, RecordedRequest, webhook};

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/{*path}", get(api).post(api).delete(api))
        .route("/pay/{session}", get(pay_page).post(pay_submit))
        .route("/3ds/{intent}", get(three_ds_page).post(three_ds_submit))
        .route("/konbini/voucher/{intent}", get(voucher_page))
        .with_state(inner)
}

fn json_response(status: u16, body: &Value, request_id: &str) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// A 200 whose body fails at once: the client sees the connection end mid-answer.
fn dropped_response() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the fake Stripe dropped the connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}

fn masked(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let prefix = if key.starts_with("sk_live_") {
        "sk_live_"
    } else {
        "sk_test_"
    };
    format!("{prefix}****{tail}")
}

async fn api(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = format!("req_{}", &uuid::Uuid::new_v4().simple().to_string()[..14]);
    let path = uri.path().to_owned();
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let raw_params = if method == Method::GET {
        uri.query().unwrap_or_default().as_bytes().to_vec()
    } else {
        body.to_vec()
    };
    let params = Params::parse(&raw_params);
    inner.lock_requests().push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        idempotency_key: idempotency_key.clone(),
        params: params
            .as_ref()
            .map(|p| p.pairs().to_vec())
            .unwrap_or_default(),
    });

    if take_one(&inner.fail_next) {
        let error = json!({ "error": { "type": "api_error",
            "message": "An unknown error occurred while processing your request. (fake Stripe: injected failure)" } });
        return json_response(500, &error, &request_id);
    }

    let expected = format!("Bearer {}", inner.api_key);
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(given) if given == expected => {}
        Some(given) => {
            let key = given.strip_prefix("Bearer ").unwrap_or_default();
            let error = json!({ "error": { "type": "invalid_request_error",
                "message": format!("Invalid API Key provided: {}", masked(key)) } });
            return json_response(401, &error, &request_id);
        }
        None => {
            let error = json!({ "error": { "type": "invalid_request_error",
                "message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')." } });
            return json_response(401, &error, &request_id);
        }
    }

    let params = match params {
        Ok(p) => p,
        Err(message) => {
            let error = ApiError::invalid("parameter_invalid_empty", None, message);
            return json_response(400, &error.to_json(), &request_id);
        }
    };

    let cause = Cause {
        request_id: Some(request_id.clone()),
        idempotency_key: idempotency_key.clone(),
    };
    let now = OffsetDateTime::now_utc();
    let (status, answer, replayed, unsent) = {
        let mut account = inner.lock_account();
        let key = idempotency_key
            .as_deref()
            .filter(|_| method == Method::POST);
        let stored = key.and_then(|k| account.idempotency.get(k).cloned());
        match stored {
            Some(replay) => {
                if replay.method == method.as_str()
                    && replay.path == path
                    && replay.params == params.canonical()
                {
                    (replay.status, replay.body, true, Vec::new())
                } else {
                    let error = ApiError {
                        status: 400,
                        error_type: "idempotency_error",
                        code: None,
                        message: format!(
                            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                            key.unwrap_or_default()
                        ),
                        param: None,
                    };
                    (400, error.to_json(), false, Vec::new())
                }
            }
            None => {
                let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
                let expand = params.list("expand");
                let result = dispatch(
                    &mut account,
                    &method,
                    &segments,
                    &params,
                    &expand,
                    &cause,
                    now,
                );
                let (status, answer) = match result {
                    Ok(value) => (200, value),
                    Err(error) => (error.status, error.to_json()),
                };
                if let Some(k) = key {
                    account.idempotency.insert(
                        k.to_owned(),
                        Replay {
                            method: method.to_string(),
                            path: path.clone(),
                            params: params.canonical(),
                            status,
                            body: answer.clone(),
                        },
                    );
                }
                (status, answer, false, account.take_unsent())
            }
        }
    };
    webhook::send(&inner, unsent);

    if take_one(&inner.drop_next) {
        return dropped_response();
    }
    let mut response = json_response(status, &answer, &request_id);
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(key) = idempotency_key.and_then(|k| HeaderValue::from_str(&k).ok()) {
        response.headers_mut().insert("idempotency-key", key);
    }
    response
}

fn take_one(counter: &std::sync::atomic::AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn dispatch(
    account: &mut crate::account::Account,
    method: &Method,
    segments: &[&str],
    params: &Params,
    expand: &[String],
    cause: &Cause,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let found = |object: &str, id: &str, account: &crate::account::Account| {
        account
            .render(id, expand)
            .ok_or_else(|| ApiError::no_such(object, id))
    };
    match (method.as_str(), segments) {
        ("POST", ["checkout", "sessions"]) => {
            let created = account.create_session(params, now)?;
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            found("checkout.session", &id, account)
        }
        ("GET", ["checkout", "sessions", id]) if id.starts_with("cs_") => {
            found("checkout.session", id, account)
        }
        ("GET", ["checkout", "sessions", id]) => Err(ApiError::no_such("checkout.session", id)),
        ("POST", ["checkout", "sessions", id, "expire"]) => {
            account.expire_session(id, cause, now)?;
            found("checkout.session", id, account)
        }
        ("GET", ["payment_intents", id]) if id.starts_with("pi_") => {
            found("payment_intent", id, account)
        }
        ("GET", ["payment_intents", id]) => Err(ApiError::no_such("payment_intent", id)),
        ("POST", ["payment_intents", id, "cancel"]) => {
            account.cancel_intent(id, cause, now)?;
            found("payment_intent", id, account)
        }
        ("POST", ["refunds"]) => {
            let created = account.create_refund(params, cause, now)?;
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            found("refund", &id, account)
        }
        ("GET", ["refunds", id]) if id.starts_with("re_") => found("refund", id, account),
        ("GET", ["refunds", id]) => Err(ApiError::no_such("refund", id)),
        ("GET", ["events"]) => {
            let mut data: Vec<Value> = account.events().to_vec();
            data.reverse();
            Ok(json!({ "object": "list", "url": "/v1/events", "has_more": false, "data": data }))
        }
        ("GET", ["events", id]) if id.starts_with("evt_") => found("event", id, account),
        ("GET", ["events", id]) => Err(ApiError::no_such("event", id)),
        _ => Err(ApiError {
            status: 404,
            error_type: "invalid_request_error",
            code: None,
            message: format!(
                "Unrecognized request URL ({method}: /v1/{}).",
                segments.join("/")
            ),
            param: None,
        }),
    }
}

// -------------------------------------------------------------------- the demo pages

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>{t}</title>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:2rem auto\">\
         <p><strong>Fake Stripe</strong> (test mode, no real money)</p><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
}

fn with_session_id(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id)
}

async fn pay_page(State(inner): State<Arc<Inner>>, Path(session_id): Path<String>) -> Response {
    let Some(session) = inner.lock_account().render(&session_id, &[]) else {
        return (StatusCode::NOT_FOUND, "no such session").into_response();
    };
    let methods = session["payment_method_types"].to_string();
    let mut buttons = String::new();
    for (outcome, label) in [
        ("succeed", "Pay (card / PayPay)"),
        ("3ds", "Pay with 3-D Secure"),
        ("decline", "Pay with a declined card"),
        ("konbini", "Konbini voucher"),
        ("cancel", "Go back"),
    ] {
        buttons.push_str(&format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"outcome\" value=\"{outcome}\">\
             <button>{label}</button></form>"
        ));
    }
    page(
        &format!("¥{}", session["amount_total"]),
        &format!(
            "<p>Session {} ({}), methods {}</p>{buttons}",
            escape(&session_id),
            escape(session["status"].as_str().unwrap_or_default()),
            escape(&methods)
        ),
    )
    .into_response()
}

async fn pay_submit(
    State(inner): State<Arc<Inner>>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let (result, session, unsent) = {
        let mut account = inner.lock_account();
        let result = match params.get("outcome") {
            Some("succeed") => account.pay(&session_id, Outcome::Succeed, now),
            Some("3ds") => account.pay(&session_id, Outcome::ThreeDSecureThenSucceed, now),
            Some("decline") => account.pay(&session_id, Outcome::Decline, now),
            Some("konbini") => account.pay(&session_id, Outcome::KonbiniPending, now),
            _ => Ok(()),
        };
        let session = account.render(&session_id, &["payment_intent".to_owned()]);
        (result, session, account.take_unsent())
    };
    webhook::send(&inner, unsent);
    let Some(session) = session else {
        return (StatusCode::NOT_FOUND, "no such session").into_response();
    };
    if let Err(problem) = result {
        return page("Not possible", &format!("<p>{}</p>", escape(&problem))).into_response();
    }
    let url_of = |key: &str| with_session_id(session[key].as_str().unwrap_or("/"), &session_id);
    match params.get("outcome") {
        Some("3ds") => {
            let intent = session["payment_intent"]["id"].as_str().unwrap_or_default();
            Redirect::to(&format!("/3ds/{intent}?session={session_id}")).into_response()
        }
        Some("decline") => page(
            "Your card was declined",
            &format!(
                "<p><a href=\"/pay/{}\">Try again</a></p>",
                escape(&session_id)
            ),
        )
        .into_response(),
        Some("cancel") | None => Redirect::to(&url_of("cancel_url")).into_response(),
        Some(_) => Redirect::to(&url_of("success_url")).into_response(),
    }
}

async fn three_ds_page(Path(intent): Path<String>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    page(
        "3-D Secure",
        &format!(
            "<form method=\"post\" action=\"/3ds/{}?{}\"><button>Authenticate</button></form>",
            escape(&intent),
            escape(query)
        ),
    )
    .into_response()
}

async fn three_ds_submit(State(inner): State<Arc<Inner>>, uri: Uri) -> Response {
    let query = Params::parse(uri.query().unwrap_or_default().as_bytes()).unwrap_or_default();
    let session_id = query.get("session").unwrap_or_default().to_owned();
    let now = OffsetDateTime::now_utc();
    let (result, session, unsent) = {
        let mut account = inner.lock_account();
        let result = account.complete_3ds(&session_id, now);
        let session = account.render(&session_id, &[]);
        (result, session, account.take_unsent())
    };
    webhook::send(&inner, unsent);
    match (result, session) {
        (Ok(()), Some(session)) => Redirect::to(&with_session_id(
            session["success_url"].as_str().unwrap_or("/"),
            &session_id,
        ))
        .into_response(),
        (Err(problem), _) => {
            page("Not possible", &format!("<p>{}</p>", escape(&problem))).into_response()
        }
        (Ok(()), None) => (StatusCode::NOT_FOUND, "no such session").into_response(),
    }
}

async fn voucher_page(State(inner): State<Arc<Inner>>, Path(intent): Path<String>) -> Response {
    let Some(pi) = inner.lock_account().render(&intent, &[]) else {
        return (StatusCode::NOT_FOUND, "no such payment").into_response();
    };
    let details = &pi["next_action"]["konbini_display_details"];
    let lawson = &details["stores"]["lawson"];
    page(
        "コンビニ払い",
        &format!(
            "<p>お支払い番号 {} / 確認番号 {}</p><p>¥{}</p>",
            escape(lawson["payment_code"].as_str().unwrap_or("-")),
            escape(lawson["confirmation_number"].as_str().unwrap_or("-")),
            pi["amount"]
        ),
    )
    .into_response()
}
