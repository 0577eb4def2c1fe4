//! The OpenAPI document says what the API really does: each parameter is where the handler
//! reads it, and the answers of the plumbing (400, 401, 403, 404, 413, 415, 422) are listed
//! where they can happen. And an unauthenticated or unauthorised caller is refused before its
//! body is read.

use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::{PASSWORD, api_token, unique_email, verified_resident};
use madoguchi_tests::on_both_backends;
use serde_json::Value;

async fn document(app: &TestApp) -> anyhow::Result<Value> {
    let response = reqwest::get(app.at("/api/openapi.json")).await?;
    anyhow::ensure!(response.status() == 200);
    Ok(response.json().await?)
}

/// Every operation of the document as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

async fn parameters_are_where_the_handlers_read_them(app: TestApp) -> anyhow::Result<()> {
    let doc = document(&app).await?;
    let mut wrong = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for parameter in &parameters {
            let name = parameter["name"].as_str().unwrap_or_default();
            let placeholder = format!("{{{name}}}");
            let in_path = parameter["in"] == "path";
            if in_path != path.contains(&placeholder) {
                wrong.push(format!(
                    "{method} {path}: {name} declared in {}",
                    parameter["in"]
                ));
            }
        }
        // Every placeholder of the path is declared as a path parameter.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            if !parameters
                .iter()
                .any(|p| p["in"] == "path" && p["name"] == name)
            {
                wrong.push(format!("{method} {path}: {name} undeclared"));
            }
        }
    }
    anyhow::ensure!(wrong.is_empty(), "parameters declared wrongly: {wrong:#?}");
    // One of the thirteen that were declared in the path, to be sure of the shape.
    let audit = &doc["paths"]["/api/v1/audit"]["get"]["parameters"];
    anyhow::ensure!(
        audit
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["in"] == "query")),
        "{audit}"
    );
    Ok(())
}

async fn plumbing_answers_are_documented_with_the_error_body(app: TestApp) -> anyhow::Result<()> {
    let doc = document(&app).await?;
    let mut missing = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let responses = &operation["responses"];
        let mut expected = Vec::new();
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        let has_body = operation.get("requestBody").is_some();
        if secured {
            expected.extend(["401", "403"]);
        }
        if has_body {
            expected.extend(["400", "413", "415", "422"]);
        }
        if path.contains('{') {
            expected.extend(["400", "404"]);
        }
        for status in expected {
            if responses.get(status).is_none() {
                missing.push(format!("{method} {path}: {status}"));
            }
        }
    }
    anyhow::ensure!(missing.is_empty(), "undocumented answers: {missing:#?}");
    let shared = &doc["components"]["responses"]["Unauthenticated"]["content"]["application/json"]
        ["schema"]["$ref"];
    anyhow::ensure!(shared == "#/components/schemas/ErrorBody", "{shared}");
    Ok(())
}

/// Sends `body` as JSON text to `POST /api/v1/offices` (administrators only).
async fn post_office(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut request = reqwest::Client::new()
        .post(app.at("/api/v1/offices"))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    Ok((
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

async fn callers_are_refused_before_their_body_is_read(app: TestApp) -> anyhow::Result<()> {
    let email = unique_email("openapi");
    verified_resident(&app, &email).await?;
    let resident = api_token(&app, "resident", &email, PASSWORD).await?;
    let bodies = [
        ("application/json", "{not json"),
        ("application/json", r#"{"code": 1}"#),
        ("text/plain", "hello"),
    ];
    for (content_type, body) in bodies {
        let anonymous = post_office(&app, None, content_type, body).await?;
        anyhow::ensure!(
            anonymous == (401, "unauthenticated".to_owned()),
            "no token, {content_type} {body}: {anonymous:?}"
        );
        let resident = post_office(&app, Some(&resident), content_type, body).await?;
        anyhow::ensure!(
            resident == (403, "forbidden".to_owned()),
            "resident token, {content_type} {body}: {resident:?}"
        );
    }
    Ok(())
}

on_both_backends!(
    openapi_parameters_are_where_the_handlers_read_them,
    parameters_are_where_the_handlers_read_them
);
on_both_backends!(
    openapi_plumbing_answers_are_documented_with_the_error_body,
    plumbing_answers_are_documented_with_the_error_body
);
on_both_backends!(
    openapi_callers_are_refused_before_their_body_is_read,
    callers_are_refused_before_their_body_is_read
);
