//! The storage contract of what guards access, on SQLite and PostgreSQL alike: one-time tokens,
//! sign-in failures and lockout, rate limits and browser sessions. Builders come from
//! `contract.rs`.

use crate::contract::*;
use futures::future::join_all;
use madoguchi_domain::AccountId;
use madoguchi_storage::{LockoutPolicy, SignInFailureState, StorageError, TokenPurpose};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use std::sync::Arc;
use time::Duration;
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_token_works_exactly_once,
    an_expired_token_is_refused,
    a_token_for_another_purpose_is_refused,
    a_token_is_refused_in_another_tenant,
    twenty_simultaneous_uses_of_a_token_succeed_exactly_once,
    five_failures_within_the_window_lock_the_account,
    failures_spaced_beyond_the_window_do_not_accumulate,
    a_successful_sign_in_resets_the_failure_count,
    simultaneous_failures_are_each_counted_exactly_once,
    the_rate_limit_allows_max_hits_per_window_then_refuses,
    sessions_are_inserted_once_saved_loaded_and_deleted,
);

async fn a_token_works_exactly_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 1, T0 + secs(3600));
    s.create_token(t.id, &token).await?;
    assert_duplicate(s.create_token(t.id, &token).await, "one_time_tokens_pkey");

    assert_eq!(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_eq!(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_eq!(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &[9; 32], T0)
            .await,
    );
    Ok(())
}

async fn an_expired_token_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::ResetPassword, 2, T0);
    s.create_token(t.id, &token).await?;

    assert_not_found(
        s.peek_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(
            t.id,
            TokenPurpose::ResetPassword,
            &token.token_hash,
            T0 + secs(1),
        )
        .await,
    );
    // Expiry is exclusive: at the instant itself the token is already dead.
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    let just_before = T0 - Duration::microseconds(1);
    assert_eq!(
        s.consume_token(
            t.id,
            TokenPurpose::ResetPassword,
            &token.token_hash,
            just_before
        )
        .await?,
        hanako.id
    );
    Ok(())
}

async fn a_token_for_another_purpose_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 3, T0 + secs(3600));
    s.create_token(t.id, &token).await?;

    assert_not_found(
        s.peek_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    // The refused attempt did not spend it.
    assert_eq!(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    Ok(())
}

async fn a_token_is_refused_in_another_tenant<S: Backend>(s: &S) -> anyhow::Result<()> {
    let a = tenant(s, "kita").await?;
    let b = tenant(s, "minami").await?;
    let hanako = resident(s, a.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::ResetPassword, 4, T0 + secs(3600));
    s.create_token(a.id, &token).await?;

    assert_not_found(
        s.peek_token(b.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(b.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_eq!(
        s.consume_token(a.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    Ok(())
}

async fn twenty_simultaneous_uses_of_a_token_succeed_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const CLICKS: usize = 20;
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 5, T0 + secs(3600));
    s.create_token(t.id, &token).await?;

    let start = Arc::new(Barrier::new(CLICKS));
    let clicks = (0..CLICKS).map(|_| {
        let (s, start, hash) = (s.clone(), start.clone(), token.token_hash.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.consume_token(t.id, TokenPurpose::VerifyEmail, &hash, T0)
                .await
        })
    });
    let mut used = 0;
    for result in join_all(clicks).await {
        match result? {
            Ok(account) => {
                assert_eq!(account, hanako.id);
                used += 1;
            }
            Err(StorageError::NotFound) => {}
            Err(other) => panic!("a losing click must see NotFound, got {other:?}"),
        }
    }
    assert_eq!(used, 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lockout and rate limits
// ---------------------------------------------------------------------------------------------

async fn five_failures_within_the_window_lock_the_account<S: Backend>(s: &S) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    assert_eq!(
        (policy.max_failures, policy.window_s, policy.lock_s),
        (5, 900, 900)
    );
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;

    for n in 1..=4 {
        let state = s
            .record_sign_in_failure(t.id, hanako.id, T0 + secs(n * 60), &policy)
            .await?;
        assert_eq!(
            state,
            SignInFailureState {
                failed_sign_ins: n,
                locked_until: None
            }
        );
    }
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!((stored.failed_sign_ins, stored.locked_until), (4, None));

    let fifth = T0 + secs(5 * 60);
    let state = s
        .record_sign_in_failure(t.id, hanako.id, fifth, &policy)
        .await?;
    assert_eq!(
        state,
        SignInFailureState {
            failed_sign_ins: 5,
            locked_until: Some(fifth + secs(900))
        }
    );
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!(stored.locked_until, Some(fifth + secs(900)));
    assert!(stored.is_locked(fifth + secs(899)));
    assert!(!stored.is_locked(fifth + secs(900)));
    assert_not_found(
        s.record_sign_in_failure(t.id, AccountId::new(), fifth, &policy)
            .await,
    );
    Ok(())
}

async fn failures_spaced_beyond_the_window_do_not_accumulate<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    for n in 0..8 {
        let at = T0 + secs(n * (policy.window_s + 1));
        let state = s
            .record_sign_in_failure(t.id, hanako.id, at, &policy)
            .await?;
        assert_eq!(
            state,
            SignInFailureState {
                failed_sign_ins: 1,
                locked_until: None
            },
            "failure {n}"
        );
    }
    assert_eq!(s.account(t.id, hanako.id).await?.locked_until, None);
    Ok(())
}

async fn a_successful_sign_in_resets_the_failure_count<S: Backend>(s: &S) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    for n in 1..=4 {
        s.record_sign_in_failure(t.id, hanako.id, T0 + secs(n), &policy)
            .await?;
    }
    s.record_sign_in_success(t.id, hanako.id, T0 + secs(10))
        .await?;
    assert_eq!(s.account(t.id, hanako.id).await?.failed_sign_ins, 0);
    let state = s
        .record_sign_in_failure(t.id, hanako.id, T0 + secs(11), &policy)
        .await?;
    assert_eq!(
        state.failed_sign_ins, 1,
        "counting starts over after a success"
    );

    for n in 2..=5 {
        s.record_sign_in_failure(t.id, hanako.id, T0 + secs(10 + n), &policy)
            .await?;
    }
    assert!(s.account(t.id, hanako.id).await?.is_locked(T0 + secs(20)));
    s.record_sign_in_success(t.id, hanako.id, T0 + secs(30))
        .await?;
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!((stored.failed_sign_ins, stored.locked_until), (0, None));
    Ok(())
}

async fn simultaneous_failures_are_each_counted_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const GUESSES: usize = 10;
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;

    let start = Arc::new(Barrier::new(GUESSES));
    let guesses = (0..GUESSES).map(|_| {
        let (s, start, policy) = (s.clone(), start.clone(), policy.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.record_sign_in_failure(t.id, hanako.id, T0, &policy).await
        })
    });
    let mut states = Vec::new();
    for result in join_all(guesses).await {
        states.push(result??);
    }
    // Run one after another, ten failures count 1..5, lock, then 1..5 and lock again: any
    // lost or doubled update shows up as a missing or extra number.
    let mut counts: Vec<i64> = states.iter().map(|st| st.failed_sign_ins).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    let locks: Vec<_> = states.iter().filter_map(|st| st.locked_until).collect();
    assert_eq!(locks, vec![T0 + secs(900); 2]);
    assert!(
        states
            .iter()
            .all(|st| st.locked_until.is_some() == (st.failed_sign_ins == 5))
    );
    Ok(())
}

async fn the_rate_limit_allows_max_hits_per_window_then_refuses<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let key = "sign_in:203.0.113.7";
    // T0 is on a whole minute, so [T0, T0 + 60 s) is one window.
    for offset in [0, 10, 20] {
        assert!(
            s.rate_limit_hit(key, T0 + secs(offset), 60, 3).await?,
            "hit at +{offset}s"
        );
    }
    assert!(!s.rate_limit_hit(key, T0 + secs(30), 60, 3).await?);
    assert!(!s.rate_limit_hit(key, T0 + secs(59), 60, 3).await?);
    assert!(
        s.rate_limit_hit("sign_in:198.51.100.1", T0 + secs(30), 60, 3)
            .await?,
        "keys are counted apart"
    );
    assert!(
        s.rate_limit_hit(key, T0 + secs(60), 60, 3).await?,
        "a new window starts afresh"
    );
    assert!(s.rate_limit_hit(key, T0 + secs(61), 60, 3).await?);
    // A misconfigured window of zero seconds counts per second instead of failing.
    assert!(s.rate_limit_hit("zero", T0, 0, 1).await?);
    assert!(!s.rate_limit_hit("zero", T0, 0, 1).await?);
    assert!(s.rate_limit_hit("zero", T0 + secs(1), 0, 1).await?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

async fn sessions_are_inserted_once_saved_loaded_and_deleted<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let first = r#"{"account":"a","csrf":"1"}"#;
    assert!(s.session_insert("s1", first, T0 + secs(3600)).await?);
    assert!(
        !s.session_insert("s1", "{}", T0 + secs(7200)).await?,
        "a taken id is refused"
    );
    assert_eq!(
        s.session_load("s1", T0).await?.as_deref(),
        Some(first),
        "and not overwritten"
    );

    let second = r#"{"account":"a","csrf":"2"}"#;
    s.session_save("s1", second, T0 + secs(7200)).await?;
    assert_eq!(
        s.session_load("s1", T0 + secs(5400)).await?.as_deref(),
        Some(second)
    );

    s.session_save("s2", "{}", T0 + secs(60)).await?;
    assert_eq!(s.session_load("s2", T0).await?.as_deref(), Some("{}"));
    assert_eq!(
        s.session_load("s2", T0 + secs(60)).await?,
        None,
        "expired at its expiry instant"
    );
    assert_eq!(s.session_load("missing", T0).await?, None);

    s.session_delete("s1").await?;
    assert_eq!(s.session_load("s1", T0).await?, None);
    s.session_delete("s1").await?;

    assert!(s.session_insert("s3", "{}", T0 + secs(10)).await?);
    assert!(s.session_insert("s4", "{}", T0 + secs(3600)).await?);
    assert_eq!(s.session_delete_expired(T0 + secs(60)).await?, 2);
    assert_eq!(s.session_load("s4", T0).await?.as_deref(), Some("{}"));
    assert_eq!(s.session_delete_expired(T0 + secs(60)).await?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------
