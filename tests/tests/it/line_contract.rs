//! The LINE contract: the tenant's channel, link codes and links, one set of stories run
//! against SQLite and PostgreSQL on a fresh database each, like `contract.rs` (storage only, so
//! no app is started; the HTTP side is in `line.rs`).
//!
//! Every story becomes `line_contract::<story>::on_sqlite` and `::on_postgres`. Instants are
//! fixed (`T0`), so expiry boundaries are tested exactly. The concurrency stories release many
//! redemptions together and accept no outcome but the expected ones: no driver error, no
//! unique violation surfacing from the one-link-per-user constraints.

use futures::future::join_all;
use madoguchi_storage::{Account, LineLink, NewLineChannel, NewLineLinkCode, StorageError};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_channel_is_stored_replaced_and_kept_within_its_tenant,
    a_code_links_its_account_exactly_once_and_only_before_it_expires,
    a_new_code_retires_the_accounts_earlier_codes,
    a_code_works_only_in_its_own_tenant_and_only_for_its_accounts,
    a_link_replaces_the_accounts_and_the_line_users_earlier_links,
    links_are_removed_by_account_and_by_line_user,
    twenty_simultaneous_redemptions_of_one_code_link_once,
    one_line_user_redeeming_codes_of_several_accounts_at_once_ends_with_one_link,
);

fn mins(m: i64) -> Duration {
    Duration::minutes(m)
}

fn channel(secret: &str, token: &str, enabled: bool) -> NewLineChannel {
    NewLineChannel {
        channel_id: "1657000001".into(),
        channel_secret: SecretString::from(secret.to_owned()),
        channel_access_token: SecretString::from(token.to_owned()),
        basic_id: Some("@123abcde".into()),
        api_base_url: "https://api.line.me".into(),
        enabled,
    }
}

/// A code hash: the stories need distinct bytes, not the server's hashing.
fn hash(label: &str) -> Vec<u8> {
    let mut bytes = label.as_bytes().to_vec();
    bytes.resize(32, b'.');
    bytes
}

fn code(account: &Account, label: &str, expires_at: OffsetDateTime) -> NewLineLinkCode {
    NewLineLinkCode {
        account_id: account.id,
        code_hash: hash(label),
        expires_at,
    }
}

async fn a_channel_is_stored_replaced_and_kept_within_its_tenant<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    assert!(s.line_channel(t.id).await?.is_none(), "none until set");

    let saved = s
        .put_line_channel(t.id, &channel(&"s".repeat(32), &"t".repeat(64), false), T0)
        .await?;
    let read = s.line_channel(t.id).await?.expect("stored");
    for c in [&saved, &read] {
        assert_eq!(c.tenant_id, t.id);
        assert_eq!(c.channel_id, "1657000001");
        assert_eq!(c.channel_secret.expose_secret(), "s".repeat(32));
        assert_eq!(c.channel_access_token.expose_secret(), "t".repeat(64));
        assert_eq!(c.basic_id.as_deref(), Some("@123abcde"));
        assert_eq!(c.api_base_url, "https://api.line.me");
        assert!(!c.enabled);
        assert_eq!(c.updated_at, T0);
    }
    assert!(
        !format!("{read:?}").contains("ssss") && !format!("{read:?}").contains("tttt"),
        "Debug redacts the secrets"
    );

    let mut again = channel(&"S".repeat(32), &"T".repeat(64), true);
    again.basic_id = None;
    again.api_base_url = "http://127.0.0.1:9".into();
    s.put_line_channel(t.id, &again, T0 + mins(1)).await?;
    let read = s.line_channel(t.id).await?.expect("stored");
    assert_eq!(read.channel_secret.expose_secret(), "S".repeat(32));
    assert_eq!(read.channel_access_token.expose_secret(), "T".repeat(64));
    assert_eq!(read.basic_id, None);
    assert_eq!(read.api_base_url, "http://127.0.0.1:9");
    assert!(read.enabled);
    assert_eq!(read.updated_at, T0 + mins(1));

    assert!(
        s.line_channel(other.id).await?.is_none(),
        "another tenant has none"
    );
    Ok(())
}

async fn a_code_links_its_account_exactly_once_and_only_before_it_expires<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let taro = resident(s, t.id, "taro@example.jp").await?;
    assert!(s.line_link(t.id, hanako.id).await?.is_none());

    s.create_line_link_code(t.id, &code(&hanako, "A", T0 + mins(30)), T0)
        .await?;
    let link = s
        .redeem_line_link_code(t.id, &hash("A"), "U-hanako", T0 + mins(29))
        .await?;
    assert_eq!(
        link,
        LineLink {
            tenant_id: t.id,
            account_id: hanako.id,
            line_user_id: "U-hanako".into(),
            linked_at: T0 + mins(29),
        }
    );
    assert!(
        !format!("{link:?}").contains("U-hanako"),
        "Debug hides the LINE user"
    );
    assert_eq!(s.line_link(t.id, hanako.id).await?, Some(link));
    assert_not_found(
        s.redeem_line_link_code(t.id, &hash("A"), "U-someone", T0 + mins(29))
            .await,
    );
    assert_eq!(
        s.line_link(t.id, hanako.id).await?.map(|l| l.line_user_id),
        Some("U-hanako".into()),
        "a spent code changes nothing"
    );

    // Expiry is exclusive: a code expiring at T0+30 no longer works at T0+30.
    s.create_line_link_code(t.id, &code(&taro, "B", T0 + mins(30)), T0)
        .await?;
    assert_not_found(
        s.redeem_line_link_code(t.id, &hash("B"), "U-taro", T0 + mins(30))
            .await,
    );
    assert_not_found(
        s.redeem_line_link_code(t.id, &hash("never issued"), "U-taro", T0)
            .await,
    );
    assert!(s.line_link(t.id, taro.id).await?.is_none());
    Ok(())
}

async fn a_new_code_retires_the_accounts_earlier_codes<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let taro = resident(s, t.id, "taro@example.jp").await?;
    s.create_line_link_code(t.id, &code(&hanako, "first", T0 + mins(30)), T0)
        .await?;
    s.create_line_link_code(t.id, &code(&taro, "taro", T0 + mins(30)), T0)
        .await?;
    s.create_line_link_code(t.id, &code(&hanako, "second", T0 + mins(31)), T0 + mins(1))
        .await?;
    assert_not_found(
        s.redeem_line_link_code(t.id, &hash("first"), "U-hanako", T0 + mins(2))
            .await,
    );
    s.redeem_line_link_code(t.id, &hash("second"), "U-hanako", T0 + mins(2))
        .await?;
    let taro_link = s
        .redeem_line_link_code(t.id, &hash("taro"), "U-taro", T0 + mins(2))
        .await?;
    assert_eq!(
        taro_link.account_id, taro.id,
        "another account's code stays"
    );
    Ok(())
}

async fn a_code_works_only_in_its_own_tenant_and_only_for_its_accounts<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let stranger = resident(s, other.id, "stranger@example.jp").await?;

    assert_not_found(
        s.create_line_link_code(t.id, &code(&stranger, "X", T0 + mins(30)), T0)
            .await,
    );
    s.create_line_link_code(t.id, &code(&hanako, "A", T0 + mins(30)), T0)
        .await?;
    assert_not_found(
        s.redeem_line_link_code(other.id, &hash("A"), "U-1", T0)
            .await,
    );
    // The same code hash may live in two tenants.
    s.create_line_link_code(other.id, &code(&stranger, "A", T0 + mins(30)), T0)
        .await?;
    let link = s.redeem_line_link_code(t.id, &hash("A"), "U-1", T0).await?;
    assert_eq!(link.account_id, hanako.id);
    assert!(s.line_link(other.id, hanako.id).await?.is_none());
    let link = s
        .redeem_line_link_code(other.id, &hash("A"), "U-1", T0)
        .await?;
    assert_eq!(
        link.account_id, stranger.id,
        "LINE user ids are per tenant: the same id links in each"
    );
    assert!(s.line_link(t.id, hanako.id).await?.is_some());
    Ok(())
}

async fn a_link_replaces_the_accounts_and_the_line_users_earlier_links<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let taro = resident(s, t.id, "taro@example.jp").await?;
    let user_of = |account: &Account| {
        let id = account.id;
        async move { Ok::<_, anyhow::Error>(s.line_link(t.id, id).await?.map(|l| l.line_user_id)) }
    };

    s.create_line_link_code(t.id, &code(&hanako, "1", T0 + mins(30)), T0)
        .await?;
    s.redeem_line_link_code(t.id, &hash("1"), "U-old-phone", T0)
        .await?;
    // A new phone: the account's link moves to the new LINE user.
    s.create_line_link_code(t.id, &code(&hanako, "2", T0 + mins(30)), T0)
        .await?;
    s.redeem_line_link_code(t.id, &hash("2"), "U-new-phone", T0)
        .await?;
    assert_eq!(user_of(&hanako).await?, Some("U-new-phone".into()));

    // The same LINE user links another account: it leaves the first.
    s.create_line_link_code(t.id, &code(&taro, "3", T0 + mins(30)), T0)
        .await?;
    s.redeem_line_link_code(t.id, &hash("3"), "U-new-phone", T0)
        .await?;
    assert_eq!(user_of(&taro).await?, Some("U-new-phone".into()));
    assert_eq!(user_of(&hanako).await?, None);

    // The old phone's user may link again.
    s.create_line_link_code(t.id, &code(&hanako, "4", T0 + mins(30)), T0)
        .await?;
    s.redeem_line_link_code(t.id, &hash("4"), "U-old-phone", T0)
        .await?;
    assert_eq!(user_of(&hanako).await?, Some("U-old-phone".into()));
    assert_eq!(user_of(&taro).await?, Some("U-new-phone".into()));
    Ok(())
}

async fn links_are_removed_by_account_and_by_line_user<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let taro = resident(s, t.id, "taro@example.jp").await?;
    for (account, label, user) in [(&hanako, "h", "U-hanako"), (&taro, "t", "U-taro")] {
        s.create_line_link_code(t.id, &code(account, label, T0 + mins(30)), T0)
            .await?;
        s.redeem_line_link_code(t.id, &hash(label), user, T0)
            .await?;
    }

    assert!(
        !s.delete_line_link(other.id, hanako.id).await?,
        "not in another tenant"
    );
    assert!(s.delete_line_link(t.id, hanako.id).await?);
    assert!(!s.delete_line_link(t.id, hanako.id).await?, "already gone");
    assert!(s.line_link(t.id, hanako.id).await?.is_none());

    assert_eq!(s.delete_line_link_of_user(other.id, "U-taro").await?, None);
    assert_eq!(
        s.delete_line_link_of_user(t.id, "U-taro").await?,
        Some(taro.id)
    );
    assert_eq!(s.delete_line_link_of_user(t.id, "U-taro").await?, None);
    assert!(s.line_link(t.id, taro.id).await?.is_none());
    Ok(())
}

async fn twenty_simultaneous_redemptions_of_one_code_link_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const TRIES: usize = 20;
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    s.create_line_link_code(t.id, &code(&hanako, "A", T0 + mins(30)), T0)
        .await?;
    let start = Arc::new(Barrier::new(TRIES));
    let tasks = (0..TRIES).map(|i| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.redeem_line_link_code(t.id, &hash("A"), &format!("U-{i}"), T0)
                .await
        })
    });
    let mut linked = Vec::new();
    for outcome in join_all(tasks).await {
        match outcome? {
            Ok(link) => linked.push(link),
            Err(StorageError::NotFound) => {}
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(linked.len(), 1, "the code works exactly once");
    assert_eq!(s.line_link(t.id, hanako.id).await?, linked.pop());
    Ok(())
}

async fn one_line_user_redeeming_codes_of_several_accounts_at_once_ends_with_one_link<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    const ACCOUNTS: usize = 8;
    let t = tenant(s, "kita").await?;
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let account = resident(s, t.id, &format!("r{i}@example.jp")).await?;
        s.create_line_link_code(t.id, &code(&account, &format!("c{i}"), T0 + mins(30)), T0)
            .await?;
        accounts.push(account);
    }
    let start = Arc::new(Barrier::new(ACCOUNTS));
    let tasks = (0..ACCOUNTS).map(|i| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.redeem_line_link_code(t.id, &hash(&format!("c{i}")), "U-same", T0)
                .await
        })
    });
    for outcome in join_all(tasks).await {
        // Each redemption replaces the previous one; none trips over the unique constraints.
        outcome??;
    }
    let mut holders = Vec::new();
    for account in &accounts {
        if let Some(link) = s.line_link(t.id, account.id).await? {
            assert_eq!(link.line_user_id, "U-same");
            holders.push(account.id);
        }
    }
    assert_eq!(holders.len(), 1, "one account per LINE user: {holders:?}");
    Ok(())
}
