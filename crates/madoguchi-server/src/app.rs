//! Assembles the router with its layers, and serves it with graceful shutdown.

use crate::http::context::request_context;
use crate::http::csrf::csrf_guard;
use crate::http::error::AppError;
use crate::http::headers::security_headers;
use crate::http::session_store::DbSessionStore;
use crate::http::text_input::refuse_control_characters_in_uri;
use crate::jobs::{MAIL_SEND, SendMail};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use madoguchi_jobs::{JobRunner, RunnerConfig};
use madoguchi_mail::Mailer;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as a router; tests serve it on port 0.
pub fn build_router(state: AppState) -> Router {
    with_layers(state, crate::routes::router())
}

/// `routes` wrapped in the application's layers (see ARCHITECTURE.md, "Request path"). Public
/// so a test can check what the layers do with a route that panics.
pub fn with_layers(state: AppState, routes: Router<AppState>) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.storage.clone()))
        .with_name("madoguchi_session")
        .with_http_only(true)
        // Lax, not Strict: a resident following a link from our mail arrives signed in.
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.config.session_idle_s,
        )))
        // Save on every request so the inactivity deadline slides with use; without it the
        // session would end a fixed time after sign-in, in the middle of a clerk's work.
        .with_always_save(true);

    // Only metrics need the matched route, so only they wrap each route; everything else wraps
    // the router once. (`Router::layer` boxes every layer around every route, and the boxed
    // stack was cloned on each request: a third of the CPU of a simple page.)
    let routes = routes
        .layer(from_fn(record_metrics))
        .with_state(state.clone());
    let app = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            // The path only: query strings can carry tokens from mail links, and a calendar
            // feed's path is its token.
            let path = madoguchi_usecases::feed::loggable_path(request.uri().path());
            tracing::info_span!("request", method = %request.method(), path = %path, request_id = %request_id)
        }))
        .layer(from_fn_with_state(state.clone(), security_headers))
        // Inside the request id and the security headers, so a panic's 500 carries both; this
        // outer one only catches a panic of `request_context` itself.
        .layer(CatchPanicLayer::new())
        .layer(from_fn_with_state(state.clone(), request_context))
        // A handler's panic becomes our own 500 (logged, rendered in the caller's language).
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(refuse_control_characters_in_uri))
        // Every body extractor (and the CSRF guard) stops at this size with our own 413.
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(sessions)
        // CSRF needs the session.
        .layer(from_fn_with_state(state, csrf_guard))
        .service(routes);
    Router::new().fallback_service(app)
}

/// A panic is a bug: logged, and answered as an internal error like any other.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    AppError::internal(format!("handler panicked: {detail}")).into_response()
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("madoguchi_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("madoguchi_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Starts the job runner with the server's handlers; it stops when `shutdown` turns true.
pub fn spawn_job_runner(
    state: &AppState,
    mailer: Arc<dyn Mailer>,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut runner = JobRunner::new(&state.jobs, RunnerConfig::default());
    runner.register(
        MAIL_SEND,
        Arc::new(SendMail {
            mailer: mailer.clone(),
        }),
    );
    let notifiers = madoguchi_notify::FanOut::new()
        .with_email(Arc::new(madoguchi_notify::EmailNotifier::new(mailer)));
    runner.register(
        madoguchi_storage::RESERVATION_EVENT,
        Arc::new(madoguchi_usecases::notices::FanOutReservationEvent {
            storage: state.storage.clone(),
            clock: state.clock.clone(),
        }),
    );
    runner.register(
        madoguchi_notify::NOTIFY_RESERVATION,
        Arc::new(madoguchi_usecases::notices::DeliverReservationNotice {
            notifiers,
            storage: state.storage.clone(),
            clock: state.clock.clone(),
            public_url: state.config.public_url.clone(),
        }),
    );
    runner.register(
        madoguchi_usecases::payments::sandbox::SANDBOX_WEBHOOK,
        Arc::new(crate::jobs::DeliverSandboxWebhook {
            storage: state.storage.clone(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base_url: state
                .config
                .payments
                .sandbox_webhook_base
                .clone()
                .unwrap_or_else(|| state.config.public_url.clone()),
            secret: state.config.payments.sandbox_webhook_secret.clone(),
        }),
    );
    runner.register(
        madoguchi_usecases::payments::sandbox::SANDBOX_SETTLE,
        Arc::new(crate::jobs::SettleSandboxPayment {
            storage: state.storage.clone(),
        }),
    );
    tokio::spawn(runner.run(shutdown))
}

/// Housekeeping every `maintenance_interval_s` (30 s by default): payments whose outcome is
/// unknown are resolved (and what they paid for settled), expired holds give their seats back to
/// the waiting lists, the fees of seats given up unpaid are cancelled, and expired sessions are
/// deleted. Every step is idempotent (PostgreSQL skips rows another
/// node holds; a promotion books with its entry's key), so every node may run it without
/// coordination.
pub fn spawn_maintenance(
    state: &AppState,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    let interval = std::time::Duration::from_secs(state.config.maintenance_interval_s.max(1));
    tokio::spawn(async move {
        loop {
            maintenance_pass(&state).await;
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    })
}

/// Refreshes the remote counter's media metrics every few seconds, so a scrape sees current
/// rooms, streams and loss.
pub fn spawn_media_metrics(
    state: &AppState,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            state.media.record_metrics().await;
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    })
}

/// One round of housekeeping; every step is idempotent and logs instead of failing.
pub async fn maintenance_pass(state: &AppState) {
    let now = madoguchi_storage::now_utc();
    // Payments whose outcome is unknown (a timeout, a crash, a webhook that never came). A
    // success found this way confirms the booking hold it paid for, as a webhook's would.
    match madoguchi_usecases::payments::recovery::resolve_unknown_reporting(
        &*state.storage,
        &*state.gateways,
        state.clock.clone(),
        time::Duration::seconds(state.config.payments.recovery_quiet_s.max(0)),
        100,
    )
    .await
    {
        Ok((report, succeeded)) => {
            if report.asked > 0 {
                tracing::info!(
                    asked = report.asked,
                    changed = report.changed,
                    unreachable = report.unreachable,
                    "payments resolved with their providers"
                );
            }
            for payment in succeeded {
                let scope = state.scope(payment.tenant_id, madoguchi_usecases::Actor::System);
                let settled = madoguchi_usecases::reservations::fees::payment_succeeded(
                    &state.reservations(),
                    &scope,
                    payment.id,
                    true,
                )
                .await;
                if let Err(error) = settled {
                    tracing::warn!(payment = %payment.id, code = %error.code, "could not settle a paid booking");
                }
            }
        }
        Err(error) => tracing::warn!(code = %error.code, "could not resolve payments"),
    }
    match state.storage.expire_holds(now).await {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "expired holds released their seats"),
        Err(error) => tracing::warn!(%error, "could not expire holds"),
    }
    // Fees of seats given up unpaid (a hold that ran out, a cancellation) are cancelled; one
    // with a payment still in flight waits for the recovery above to end that payment.
    match madoguchi_usecases::reservations::fees::release_unpaid(
        &state.reservations(),
        state.clock.clone(),
        200,
    )
    .await
    {
        Ok(0) => {}
        Ok(cancelled) => tracing::info!(cancelled, "fees of released seats cancelled"),
        Err(error) => tracing::warn!(code = %error.code, "could not cancel released fees"),
    }
    // Seats freed by expired holds and offers (or by a cancellation whose promotion a crash
    // cut short) go to the waiting lists.
    let promoted = madoguchi_usecases::reservations::waitlist::promote_due(
        &state.reservations(),
        state.clock.clone(),
    )
    .await;
    match promoted {
        Ok(0) => {}
        Ok(promoted) => tracing::info!(promoted, "waiting lists promoted"),
        Err(error) => tracing::warn!(error = %error.code, "could not promote waiting lists"),
    }
    match state.storage.session_delete_expired(now).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "expired sessions removed"),
        Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
    }
}

/// The router of a media node (`madoguchi media`): the remote counter's signalling, beside
/// liveness, readiness and metrics. No pages, sessions or CSRF: a grant is the only credential.
pub fn build_media_router(state: AppState) -> Router {
    let routes = crate::routes::ops::router()
        .nest("/api/v1", crate::routes::counter::signalling::router())
        .layer(from_fn(record_metrics))
        .with_state(state.clone());
    let app = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .layer(from_fn_with_state(state, security_headers))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(refuse_control_characters_in_uri))
        .service(routes);
    Router::new().fallback_service(app)
}

/// Serves a media node's router until `shutdown` turns true.
pub async fn serve_media(
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_router(listener, build_media_router(state), shutdown).await
}

/// Serves until `shutdown` turns true, then finishes requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_router(listener, build_router(state), shutdown).await
}

async fn serve_router(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
}
