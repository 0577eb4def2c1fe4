//! Counter checkout and finance's pages over HTTP, like a browser without JavaScript, and the
//! staff payment API: each municipal rule refused with its code and nothing stored (the trial
//! balance unchanged), a double submit recording one payment, a branch clerk kept to their
//! office and off finance's pages, another city's finance seeing nothing, four eyes on refunds
//! (a second finance user pays one back through the sandbox, the ledger balanced), and a
//! counter cash refund. Also the demo city's counter day.

use madoguchi_auth::PasswordHasher;
use madoguchi_domain::{
    AccountKind, DisplayName, Email, ErrorCode, Lang, OfficeId, PaymentId, ReceivableId, Role,
    RoleAssignment, TenantId, TenantSlug,
};
use madoguchi_payments::{Method, PaymentStatus, RefundStatus};
use madoguchi_storage::{
    NewAccount, NewTenant, PasswordHash, PaymentFilter, RefundFilter, now_utc,
};
use madoguchi_tests::app::{TestApp, csrf_from};
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::{hidden, location};
use madoguchi_usecases::payments::checkout::{self, ReturnUrls};
use madoguchi_usecases::{Actor, Scope};
use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers

pub(super) async fn office_id(
    app: &TestApp,
    tenant: TenantId,
    code: &str,
) -> anyhow::Result<OfficeId> {
    app.storage
        .list_offices(tenant)
        .await?
        .into_iter()
        .find(|o| o.code.as_str() == code)
        .map(|o| o.id)
        .ok_or_else(|| anyhow::anyhow!("no office {code}"))
}

/// A staff account of `role` (at `office`) in `tenant`, signed in with [`PASSWORD`]; returns
/// its address.
pub(super) async fn staff_account(
    app: &TestApp,
    tenant: TenantId,
    role: Role,
    office: Option<OfficeId>,
    name: &str,
) -> anyhow::Result<String> {
    let email = unique_email(name);
    let hash = PasswordHasher::with_cost(1024, 1)
        .hash(PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let department = match role {
        Role::HqStaff => app
            .storage
            .list_departments(tenant)
            .await?
            .first()
            .map(|d| d.id),
        _ => None,
    };
    app.storage
        .create_account(
            tenant,
            &NewAccount {
                kind: AccountKind::Staff,
                email: Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                display_name: DisplayName::parse("会計 次郎")
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                password_hash: PasswordHash(hash),
                locale: Lang::Ja,
                email_verified_at: Some(now_utc()),
                roles: vec![
                    RoleAssignment::new(role, office, department)
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                ],
            },
        )
        .await?;
    Ok(email)
}

/// Calls the API with `token`; returns the status and the body (`null` when empty).
pub(super) async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok((status, body))
}

pub(super) async fn post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    call(&app.url, reqwest::Method::POST, path, token, Some(body)).await
}

/// Assesses a receivable through the API; returns its id.
pub(super) async fn assess(
    app: &TestApp,
    token: &str,
    category: &str,
    description: &str,
    yen: i64,
    office: Option<OfficeId>,
) -> anyhow::Result<String> {
    let (status, body) = post(
        app,
        "/api/v1/receivables",
        token,
        json!({
            "category": category, "description": description, "payer_name": "窓口 花子",
            "amount_yen": yen, "office_id": office.map(|o| o.0),
        }),
    )
    .await?;
    anyhow::ensure!(status == 201, "assess answered {status}: {body}");
    Ok(body["id"].as_str().unwrap_or_default().to_owned())
}

/// The city's trial balance through today, as finance reads it from the API.
pub(super) async fn trial_balance(app: &TestApp, finance: &str) -> anyhow::Result<Value> {
    let (status, body) = call(
        &app.url,
        reqwest::Method::GET,
        "/api/v1/ledger/trial-balance",
        finance,
        None,
    )
    .await?;
    anyhow::ensure!(status == 200, "trial balance answered {status}: {body}");
    Ok(body)
}

pub(super) async fn payments_of(
    app: &TestApp,
    receivable: &str,
) -> anyhow::Result<Vec<madoguchi_storage::Payment>> {
    Ok(app
        .storage
        .list_payments(
            app.tenant.id,
            &PaymentFilter {
                receivable: Some(ReceivableId(receivable.parse()?)),
                limit: 50,
                ..PaymentFilter::default()
            },
        )
        .await?)
}

/// The checkout form of `receivable` as `client` sees it: its CSRF token and form key.
pub(super) async fn checkout_form(
    app: &TestApp,
    client: &reqwest::Client,
    receivable: &str,
) -> anyhow::Result<(String, String, String)> {
    let page = client
        .get(app.at(&format!("/staff/payments/counter/{receivable}")))
        .send()
        .await?;
    anyhow::ensure!(
        page.status() == 200,
        "checkout page answered {}",
        page.status()
    );
    let html = page.text().await?;
    Ok((csrf_from(&html), hidden(&html, "client_key"), html))
}

/// Posts the checkout form with `fields` (besides the CSRF token and the form key).
pub(super) async fn take(
    app: &TestApp,
    client: &reqwest::Client,
    receivable: &str,
    csrf: &str,
    key: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let mut form = vec![("csrf_token", csrf), ("client_key", key)];
    form.extend_from_slice(fields);
    Ok(client
        .post(app.at(&format!("/staff/payments/counter/{receivable}")))
        .form(&form)
        .send()
        .await?)
}

mod counter_rules_and_access;
mod refunds_and_demo;
