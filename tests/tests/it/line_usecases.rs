//! The LINE use cases called without HTTP, as a job or the CLI would: a link code issued and
//! spent through `madoguchi_usecases::line` on a manual clock, on both databases. The codes
//! expire by the scope's clock, not the machine's (the HTTP side is in `line.rs`).

use madoguchi_domain::{Clock, ErrorCode, ManualClock};
use madoguchi_notify::line_webhook::signature;
use madoguchi_storage::NewLineChannel;
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use madoguchi_tests::on_both_databases;
use madoguchi_usecases::line::{self, WebhookOutcome};
use madoguchi_usecases::{Actor, Scope};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;

on_both_databases!(
    a_code_issued_by_the_use_case_links_through_the_webhook_until_the_scopes_clock_passes_its_expiry,
);

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const USER: &str = "U0123456789abcdef0123456789abcdef";

/// A text message from `USER`, without a reply token, so nothing calls LINE back.
fn text_event(text: &str) -> Vec<u8> {
    json!({"destination": "Ubot0000000000000000000000000000", "events": [{
        "type": "message", "mode": "active", "timestamp": 1_700_000_000_000_i64,
        "webhookEventId": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": USER},
        "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": text}
    }]})
    .to_string()
    .into_bytes()
}

async fn a_code_issued_by_the_use_case_links_through_the_webhook_until_the_scopes_clock_passes_its_expiry<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    let city = tenant(s, "kita").await?;
    let hanako = resident(s, city.id, "hanako@example.jp").await?;
    let taro = resident(s, city.id, "taro@example.jp").await?;
    let channel = NewLineChannel {
        channel_id: "1657000000".into(),
        channel_secret: SecretString::from(SECRET.to_owned()),
        channel_access_token: SecretString::from("t".repeat(64)),
        basic_id: None,
        api_base_url: "http://127.0.0.1:9".into(),
        enabled: true,
    };
    s.put_line_channel(city.id, &channel, T0).await?;
    let clock = Arc::new(ManualClock::new(T0));
    let scope = |actor| Scope::new(city.id, actor, clock.clone() as Arc<dyn Clock>);
    let hook = scope(Actor::Anonymous);

    // The code's expiry is the scope's "now" plus 30 minutes, not the machine's.
    let issued = line::issue_link_code(s, &scope(Actor::Resident(hanako.id)), hanako.id).await?;
    assert_eq!(
        issued.expires_at,
        T0 + time::Duration::minutes(line::LINK_CODE_TTL_MIN)
    );

    // A wrong signature stores nothing.
    let body = text_event(&issued.code);
    let refused = line::handle_webhook(s, &hook, &city, Some("bm90IGl0"), &body).await;
    assert_eq!(
        refused.err().map(|e| e.code),
        Some(ErrorCode::Unauthenticated)
    );
    assert!(s.line_link(city.id, hanako.id).await?.is_none());

    // Signed, the code links Hanako once, and her notices now go by LINE too.
    let signed = signature(SECRET, &body);
    let outcome = line::handle_webhook(s, &hook, &city, Some(&signed), &body).await?;
    assert_eq!(
        outcome,
        WebhookOutcome {
            linked: 1,
            unlinked: 0
        }
    );
    assert!(line::notices_go_by_line(s, &hook, hanako.id).await?);
    let again = line::handle_webhook(s, &hook, &city, Some(&signed), &body).await?;
    assert_eq!(again.linked, 0, "a code is spent once");

    // Taro's code, sent 31 minutes later by the scope's clock, has expired.
    let late = line::issue_link_code(s, &scope(Actor::Resident(taro.id)), taro.id).await?;
    clock.advance(time::Duration::minutes(line::LINK_CODE_TTL_MIN + 1));
    let body = text_event(&late.code);
    let signed = signature(SECRET, &body);
    let outcome = line::handle_webhook(s, &hook, &city, Some(&signed), &body).await?;
    assert_eq!(outcome.linked, 0);
    assert!(!line::notices_go_by_line(s, &hook, taro.id).await?);
    Ok(())
}
