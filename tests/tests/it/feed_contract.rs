//! The calendar-feed contract: residents' feed nonces and token hashes, one set of stories run
//! against SQLite and PostgreSQL on a fresh database each, like `contract.rs` (the HTTP side is
//! in `ical_feed.rs`).

use futures::future::join_all;
use madoguchi_storage::{Account, NewReservationFeed};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use std::sync::Arc;
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_feed_is_issued_once_and_found_by_its_token_hash_in_its_tenant_only,
    replacing_a_feed_retires_the_old_token_at_once,
    a_feed_for_another_tenants_account_is_refused,
    simultaneous_first_issues_agree_on_one_feed,
);

fn feed(account: &Account, label: &str) -> NewReservationFeed {
    let mut token_hash = format!("hash-{label}").into_bytes();
    token_hash.resize(32, b'.');
    NewReservationFeed {
        account_id: account.id,
        nonce: format!("nonce-{label}").into_bytes(),
        token_hash,
    }
}

async fn a_feed_is_issued_once_and_found_by_its_token_hash_in_its_tenant_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    assert!(s.reservation_feed(t.id, hanako.id).await?.is_none());

    let first = s
        .ensure_reservation_feed(t.id, &feed(&hanako, "1"), T0)
        .await?;
    assert_eq!(first.nonce, b"nonce-1");
    assert_eq!(first.created_at, T0);
    // A second "first visit" keeps the feed that exists.
    let again = s
        .ensure_reservation_feed(t.id, &feed(&hanako, "2"), T0 + time::Duration::hours(1))
        .await?;
    assert_eq!(again, first);
    assert_eq!(
        s.reservation_feed(t.id, hanako.id).await?,
        Some(first.clone())
    );
    assert!(
        !format!("{first:?}").contains("nonce-1"),
        "Debug hides the nonce"
    );

    assert_eq!(
        s.reservation_feed_account(t.id, &first.token_hash).await?,
        hanako.id
    );
    assert_not_found(
        s.reservation_feed_account(other.id, &first.token_hash)
            .await,
    );
    assert_not_found(
        s.reservation_feed_account(t.id, &feed(&hanako, "2").token_hash)
            .await,
    );
    Ok(())
}

async fn replacing_a_feed_retires_the_old_token_at_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let taro = resident(s, t.id, "taro@example.jp").await?;
    let old = s
        .ensure_reservation_feed(t.id, &feed(&hanako, "old"), T0)
        .await?;
    let taros = s
        .ensure_reservation_feed(t.id, &feed(&taro, "taro"), T0)
        .await?;

    let later = T0 + time::Duration::days(1);
    let new = s
        .replace_reservation_feed(t.id, &feed(&hanako, "new"), later)
        .await?;
    assert_eq!(new.nonce, b"nonce-new");
    assert_eq!(new.created_at, later);
    assert_not_found(s.reservation_feed_account(t.id, &old.token_hash).await);
    assert_eq!(
        s.reservation_feed_account(t.id, &new.token_hash).await?,
        hanako.id
    );
    assert_eq!(
        s.reservation_feed_account(t.id, &taros.token_hash).await?,
        taro.id,
        "another resident's feed is untouched"
    );
    // Replacing also issues a feed that never existed.
    let other = resident(s, t.id, "jiro@example.jp").await?;
    let fresh = s
        .replace_reservation_feed(t.id, &feed(&other, "jiro"), T0)
        .await?;
    assert_eq!(
        s.reservation_feed_account(t.id, &fresh.token_hash).await?,
        other.id
    );
    Ok(())
}

async fn a_feed_for_another_tenants_account_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let stranger = resident(s, other.id, "stranger@example.jp").await?;
    assert_not_found(
        s.ensure_reservation_feed(t.id, &feed(&stranger, "x"), T0)
            .await,
    );
    assert_not_found(
        s.replace_reservation_feed(t.id, &feed(&stranger, "x"), T0)
            .await,
    );
    assert!(s.reservation_feed(t.id, stranger.id).await?.is_none());
    assert!(s.reservation_feed(other.id, stranger.id).await?.is_none());
    Ok(())
}

async fn simultaneous_first_issues_agree_on_one_feed<S: Backend>(s: &S) -> anyhow::Result<()> {
    const VISITS: usize = 12;
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let start = Arc::new(Barrier::new(VISITS));
    let tasks = (0..VISITS).map(|i| {
        let (s, start, new) = (s.clone(), start.clone(), feed(&hanako, &i.to_string()));
        tokio::spawn(async move {
            start.wait().await;
            s.ensure_reservation_feed(t.id, &new, T0).await
        })
    });
    let mut seen = Vec::new();
    for outcome in join_all(tasks).await {
        seen.push(outcome??);
    }
    let stored = s.reservation_feed(t.id, hanako.id).await?.expect("issued");
    assert!(
        seen.iter().all(|f| *f == stored),
        "every visit was given the stored feed"
    );
    Ok(())
}
