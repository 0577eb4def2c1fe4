//! The OpenAPI document says what the API really does: each parameter is where the handler
//! reads it, and the answers of the plumbing (400, 401, 403, 404, 413, 415, 422) are listed
//! where they can happen.

use madoguchi_tests::app::TestApp;
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

on_both_backends!(
    openapi_parameters_are_where_the_handlers_read_them,
    parameters_are_where_the_handlers_read_them
);
on_both_backends!(
    openapi_plumbing_answers_are_documented_with_the_error_body,
    plumbing_answers_are_documented_with_the_error_body
);
