//! Account flows shared by the pages and the API: sign-up with email verification, sign-in
//! with lockout and rate limits, password reset, and staff invitations.
//!
//! Every flow validates all its input before writing anything, answers with stable error
//! codes, and records what staff and sign-ins did in the audit log.

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::jobs::MAIL_SEND;
use crate::state::AppState;
use madoguchi_auth::one_time::{looks_like_token, new_token, token_hash};
use madoguchi_domain::password::check_new_password;
use madoguchi_domain::{
    AccountId, AccountKind, DisplayName, Email, ErrorCode, Lang, RoleAssignment,
};
use madoguchi_jobs::JobQueue;
use madoguchi_mail::OutgoingMail;
use madoguchi_storage::{
    Account, ActorKind, NewAccount, NewAuditEntry, NewOneTimeToken, PasswordHash, StorageError,
    TokenPurpose, now_utc,
};
use minijinja::context;
use sha2::{Digest, Sha256};

/// Appends to the audit log. Ids only: names and addresses stay out of the log.
pub async fn audit(
    state: &AppState,
    ctx: &Ctx,
    actor_kind: ActorKind,
    actor_id: Option<AccountId>,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> AppResult<()> {
    let entry = NewAuditEntry {
        at: now_utc(),
        actor_kind,
        actor_id,
        action: action.to_owned(),
        target,
        details,
    };
    state.storage.append_audit(ctx.tenant.id, &entry).await?;
    Ok(())
}

/// A rate-limit key for the client address that does not store the address itself.
fn client_key(prefix: &str, ctx: &Ctx) -> String {
    let ip = ctx.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
    hashed_key(prefix, ctx, &ip)
}

/// `prefix:<hash of tenant and material>`: rate-limit rows never hold an address in clear.
fn hashed_key(prefix: &str, ctx: &Ctx, material: &str) -> String {
    let digest = Sha256::digest(format!("{}:{material}", ctx.tenant.id).as_bytes());
    let short: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}:{short}")
}

async fn rate_limit(state: &AppState, key: String, window_s: i64, max: i64) -> AppResult<()> {
    if state
        .storage
        .rate_limit_hit(&key, now_utc(), window_s, max)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::RateLimited).retry_after(window_s as u64))
    }
}

async fn hash(state: &AppState, password: String) -> AppResult<PasswordHash> {
    let hasher = state.hasher.clone();
    // argon2 is deliberately slow; keep it off the async worker threads.
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(AppError::internal)?
        .map(PasswordHash)
        .map_err(AppError::internal)
}

async fn verify(
    state: &AppState,
    stored: Option<PasswordHash>,
    password: String,
) -> AppResult<bool> {
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => hasher.verify(&stored.0, &password),
        None => {
            // Unknown account: spend the same time as a real check so timing reveals nothing.
            let _ = hasher.hash(&password);
            false
        }
    })
    .await
    .map_err(AppError::internal)
}

pub struct SignUpInput {
    pub display_name: String,
    pub email: String,
    pub password: String,
    pub locale: Lang,
}

/// The parsed, validated sign-up, or every problem at once (so a form shows them together).
fn parse_sign_up(input: &SignUpInput) -> Result<(DisplayName, Email), AppError> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|code| {
            errors.push(FieldError {
                field: "display_name".into(),
                code,
            })
        })
        .ok();
    let email = Email::parse(&input.email)
        .map_err(|code| {
            errors.push(FieldError {
                field: "email".into(),
                code,
            })
        })
        .ok();
    let password_check = match &email {
        Some(email) => check_new_password(&input.password, email),
        None => check_new_password(
            &input.password,
            &Email::parse("x@invalid.example").map_err(AppError::from)?,
        ),
    };
    if let Err(code) = password_check {
        errors.push(FieldError {
            field: "password".into(),
            code,
        });
    }
    match (name, email) {
        (Some(name), Some(email)) if errors.is_empty() => Ok((name, email)),
        _ => Err(AppError::fields(errors)),
    }
}

/// Signs a resident up and mails the verification link. A known address answers exactly like a
/// new one, so the form cannot be used to find out who is registered; the address's owner is
/// mailed instead ("someone tried to sign up with your address"), as the reset flow does.
pub async fn sign_up(state: &AppState, ctx: &Ctx, input: SignUpInput) -> AppResult<()> {
    let (display_name, email) = parse_sign_up(&input)?;
    rate_limit(
        state,
        client_key("signup", ctx),
        3600,
        state.config.sign_up_per_ip_per_hour,
    )
    .await?;
    // Hashed for a known address too: the time taken must not tell the two apart.
    let password_hash = hash(state, input.password).await?;
    let created = state
        .storage
        .create_account(
            ctx.tenant.id,
            &NewAccount {
                kind: AccountKind::Resident,
                email: email.clone(),
                display_name,
                password_hash,
                locale: input.locale,
                email_verified_at: None,
                roles: vec![],
            },
        )
        .await;
    let account = match created {
        Ok(account) => account,
        Err(StorageError::Duplicate { constraint }) if constraint == "accounts_email" => {
            return warn_owner_of_sign_up(state, ctx, &email).await;
        }
        Err(other) => return Err(other.into()),
    };
    audit(
        state,
        ctx,
        ActorKind::Resident,
        Some(account.id),
        "resident.signed_up",
        Some(account.id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    send_verification(state, ctx, &account).await
}

/// Someone signed up with a registered address: tell its owner how to sign in or reset the
/// password. No verification link: if the address was registered by someone else and never
/// verified, the reset (which verifies) gives it to its real owner with a password of their own.
async fn warn_owner_of_sign_up(state: &AppState, ctx: &Ctx, email: &Email) -> AppResult<()> {
    let account = match state
        .storage
        .account_by_email(ctx.tenant.id, AccountKind::Resident, email)
        .await
    {
        Ok(account) if !account.disabled => account,
        Ok(_) | Err(StorageError::NotFound) => return Ok(()),
        Err(other) => return Err(other.into()),
    };
    let base = tenant_base_url(state, ctx);
    let lang = account.locale;
    let city = ctx.tenant.name(lang).to_owned();
    queue_mail(
        state,
        ctx,
        &account,
        "sign_up_existing",
        context! {
            name => account.display_name.as_str(),
            city => city,
            signin_link => format!("{base}/signin"),
            reset_link => format!("{base}/password-reset"),
        },
    )
    .await?;
    audit(
        state,
        ctx,
        ActorKind::Anonymous,
        None,
        "resident.sign_up_existing",
        Some(account.id.to_string()),
        serde_json::json!({}),
    )
    .await
}

/// The address a tenant's residents use: its own host when it has one (tokens work only for
/// their tenant), else the configured public URL.
pub fn tenant_base_url(state: &AppState, ctx: &Ctx) -> String {
    base_url_for(&state.config.public_url, ctx.tenant.host.as_deref())
}

/// The base URL of a tenant served on `host` (or on the installation's own `public_url`), for
/// callers without a request (jobs).
pub fn base_url_for(public_url: &str, host: Option<&str>) -> String {
    let public = public_url.trim_end_matches('/');
    match host {
        Some(host) => {
            let scheme = public.split("://").next().unwrap_or("https");
            format!("{scheme}://{host}")
        }
        None => public.to_owned(),
    }
}

/// Creates a one-time token and queues the mail carrying its link.
async fn send_link(
    state: &AppState,
    ctx: &Ctx,
    account: &Account,
    purpose: TokenPurpose,
    ttl_s: i64,
    template: &str,
    path: &str,
) -> AppResult<()> {
    let token = new_token();
    state
        .storage
        .create_token(
            ctx.tenant.id,
            &NewOneTimeToken {
                account_id: account.id,
                purpose,
                token_hash: token_hash(&token),
                expires_at: now_utc() + time::Duration::seconds(ttl_s),
            },
        )
        .await?;
    let lang = account.locale;
    let link = format!("{}{path}?token={token}", tenant_base_url(state, ctx));
    let hours = ttl_s / 3600;
    let city = ctx.tenant.name(lang).to_owned();
    queue_mail(
        state,
        ctx,
        account,
        template,
        context! { name => account.display_name.as_str(), link => link, hours => hours, city => city },
    )
    .await
}

/// Renders `mail/<template>.<lang>.txt` in the account's language and queues it to the account.
async fn queue_mail(
    state: &AppState,
    ctx: &Ctx,
    account: &Account,
    template: &str,
    values: minijinja::Value,
) -> AppResult<()> {
    let lang = account.locale;
    let city = ctx.tenant.name(lang).to_owned();
    let body = state.templates.mail_text(template, lang, values)?;
    let subject = format!(
        "[{city}] {}",
        crate::i18n::text(lang, &format!("mail_subject_{template}"))
    );
    let mail = OutgoingMail {
        tenant_id: Some(ctx.tenant.id),
        to: account.email.as_str().to_owned(),
        subject,
        text_body: body,
        attachments: vec![],
    };
    let payload = serde_json::to_value(&mail).map_err(AppError::internal)?;
    state
        .jobs
        .enqueue(JobQueue::job_now(
            Some(ctx.tenant.id),
            MAIL_SEND,
            payload,
            8,
        ))
        .await?;
    Ok(())
}

pub async fn send_verification(state: &AppState, ctx: &Ctx, account: &Account) -> AppResult<()> {
    send_link(
        state,
        ctx,
        account,
        TokenPurpose::VerifyEmail,
        state.config.verification_ttl_s,
        "verify_email",
        "/verify-email",
    )
    .await
}

/// Spends a verification token and marks the address verified.
pub async fn verify_email(state: &AppState, ctx: &Ctx, token: &str) -> AppResult<AccountId> {
    if !looks_like_token(token) {
        return Err(AppError::new(ErrorCode::TokenInvalid));
    }
    let account_id = match state
        .storage
        .consume_token(
            ctx.tenant.id,
            TokenPurpose::VerifyEmail,
            &token_hash(token),
            now_utc(),
        )
        .await
    {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(AppError::new(ErrorCode::TokenInvalid)),
        Err(other) => return Err(other.into()),
    };
    state
        .storage
        .mark_email_verified(ctx.tenant.id, account_id, now_utc())
        .await?;
    audit(
        state,
        ctx,
        ActorKind::Resident,
        Some(account_id),
        "resident.email_verified",
        Some(account_id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(account_id)
}

pub fn actor_of(kind: AccountKind) -> ActorKind {
    match kind {
        AccountKind::Resident => ActorKind::Resident,
        AccountKind::Staff => ActorKind::Staff,
    }
}

/// Checks credentials. Unknown address and wrong password look the same to the caller.
pub async fn sign_in(
    state: &AppState,
    ctx: &Ctx,
    kind: AccountKind,
    email: &str,
    password: String,
) -> AppResult<Account> {
    rate_limit(
        state,
        client_key("signin", ctx),
        60,
        state.config.sign_in_per_ip_per_minute,
    )
    .await?;
    let actor = actor_of(kind);
    let account = match Email::parse(email) {
        Ok(email) => match state
            .storage
            .account_by_email(ctx.tenant.id, kind, &email)
            .await
        {
            Ok(account) => Some(account),
            Err(StorageError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        Err(_) => None,
    };
    let Some(account) = account.filter(|a| !a.disabled) else {
        verify(state, None, password).await?;
        // Unknown addresses "lock" after as many tries as real ones, so the lockout does not
        // tell an attacker which addresses are registered.
        let lockout = &state.config.lockout;
        let key = hashed_key("signin-unknown", ctx, &email.trim().to_lowercase());
        if !state
            .storage
            .rate_limit_hit(&key, now_utc(), lockout.window_s, lockout.max_failures - 1)
            .await?
        {
            return Err(AppError::new(ErrorCode::AccountLocked).retry_after(lockout.lock_s as u64));
        }
        audit(
            state,
            ctx,
            ActorKind::Anonymous,
            None,
            &format!("{}.sign_in_failed", kind.as_str()),
            None,
            serde_json::json!({"reason": "unknown_account"}),
        )
        .await?;
        return Err(AppError::new(ErrorCode::InvalidCredentials));
    };
    let now = now_utc();
    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        return Err(AppError::new(ErrorCode::AccountLocked)
            .retry_after((until - now).whole_seconds().max(1) as u64));
    }
    if !verify(state, Some(account.password_hash.clone()), password).await? {
        let failure = state
            .storage
            .record_sign_in_failure(ctx.tenant.id, account.id, now, &state.config.lockout)
            .await?;
        let locked = failure.locked_until.is_some();
        audit(
            state,
            ctx,
            actor,
            Some(account.id),
            &format!("{}.sign_in_failed", kind.as_str()),
            Some(account.id.to_string()),
            serde_json::json!({"reason": "wrong_password", "failures": failure.failed_sign_ins, "locked": locked}),
        )
        .await?;
        return Err(if locked {
            AppError::new(ErrorCode::AccountLocked).retry_after(state.config.lockout.lock_s as u64)
        } else {
            AppError::new(ErrorCode::InvalidCredentials)
        });
    }
    if account.email_verified_at.is_none() {
        // The owner knows the password but lost or never got the mail: send a fresh link.
        send_verification(state, ctx, &account).await?;
        return Err(AppError::new(ErrorCode::EmailNotVerified));
    }
    state
        .storage
        .record_sign_in_success(ctx.tenant.id, account.id, now)
        .await?;
    audit(
        state,
        ctx,
        actor,
        Some(account.id),
        &format!("{}.signed_in", kind.as_str()),
        Some(account.id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(account)
}

/// Sends a reset link if the address has an account; answers the same either way, so the
/// form cannot be used to find out who is registered.
pub async fn request_password_reset(
    state: &AppState,
    ctx: &Ctx,
    kind: AccountKind,
    email: &str,
) -> AppResult<()> {
    let email = Email::parse(email).map_err(|code| AppError::field("email", code))?;
    rate_limit(
        state,
        client_key("reset", ctx),
        3600,
        state.config.sign_up_per_ip_per_hour,
    )
    .await?;
    match state
        .storage
        .account_by_email(ctx.tenant.id, kind, &email)
        .await
    {
        Ok(account) if !account.disabled => {
            send_link(
                state,
                ctx,
                &account,
                TokenPurpose::ResetPassword,
                state.config.reset_ttl_s,
                "reset_password",
                "/password-reset/confirm",
            )
            .await?;
            audit(
                state,
                ctx,
                actor_of(kind),
                Some(account.id),
                &format!("{}.password_reset_requested", kind.as_str()),
                Some(account.id.to_string()),
                serde_json::json!({}),
            )
            .await
        }
        Ok(_) | Err(StorageError::NotFound) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Spends a reset token and sets the new password; also verifies the address (the mail arrived).
pub async fn reset_password(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    new_password: String,
) -> AppResult<Account> {
    if !looks_like_token(token) {
        return Err(AppError::new(ErrorCode::TokenInvalid));
    }
    // Validate before spending the token, so a weak password does not burn the link.
    let hash_of_token = token_hash(token);
    let purpose = TokenPurpose::ResetPassword;
    let owner = match state
        .storage
        .peek_token(ctx.tenant.id, purpose, &hash_of_token, now_utc())
        .await
    {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(AppError::new(ErrorCode::TokenInvalid)),
        Err(other) => return Err(other.into()),
    };
    let account = state.storage.account(ctx.tenant.id, owner).await?;
    check_new_password(&new_password, &account.email)
        .map_err(|code| AppError::field("password", code))?;
    // Hash before spending the token: a failure here leaves the link usable.
    let password_hash = hash(state, new_password).await?;
    let account_id = match state
        .storage
        .consume_token(ctx.tenant.id, purpose, &hash_of_token, now_utc())
        .await
    {
        Ok(id) => id,
        Err(StorageError::NotFound) => return Err(AppError::new(ErrorCode::TokenInvalid)),
        Err(other) => return Err(other.into()),
    };
    state
        .storage
        .set_password_hash(ctx.tenant.id, account_id, &password_hash, now_utc())
        .await?;
    state
        .storage
        .mark_email_verified(ctx.tenant.id, account_id, now_utc())
        .await?;
    audit(
        state,
        ctx,
        actor_of(account.kind),
        Some(account_id),
        &format!("{}.password_reset", account.kind.as_str()),
        Some(account_id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    Ok(account)
}

pub struct NewStaffInput {
    pub display_name: String,
    pub email: String,
    pub locale: Lang,
    pub roles: Vec<RoleAssignment>,
}

/// An administrator adds a staff member: the account starts with an unusable password and the
/// new colleague receives a link to choose one (valid three days).
pub async fn invite_staff(
    state: &AppState,
    ctx: &Ctx,
    admin: &Account,
    input: NewStaffInput,
) -> AppResult<Account> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|code| {
            errors.push(FieldError {
                field: "display_name".into(),
                code,
            })
        })
        .ok();
    let email = Email::parse(&input.email)
        .map_err(|code| {
            errors.push(FieldError {
                field: "email".into(),
                code,
            })
        })
        .ok();
    if input.roles.is_empty() {
        errors.push(FieldError {
            field: "roles".into(),
            code: ErrorCode::InvalidRoleScope,
        });
    }
    let (Some(display_name), Some(email)) = (name, email) else {
        return Err(AppError::fields(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    // Nobody knows this password; the invitation link replaces it.
    let password_hash = hash(state, new_token()).await?;
    let account = state
        .storage
        .create_account(
            ctx.tenant.id,
            &NewAccount {
                kind: AccountKind::Staff,
                email,
                display_name,
                password_hash,
                locale: input.locale,
                email_verified_at: None,
                roles: input.roles.clone(),
            },
        )
        .await
        .map_err(role_write_error)?;
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin.id),
        "staff.created",
        Some(account.id.to_string()),
        serde_json::json!({ "roles": input.roles }),
    )
    .await?;
    send_link(
        state,
        ctx,
        &account,
        TokenPurpose::ResetPassword,
        3 * 86_400,
        "staff_invite",
        "/password-reset/confirm",
    )
    .await?;
    Ok(account)
}

/// Replaces a staff member's roles, recording before and after.
pub async fn change_roles(
    state: &AppState,
    ctx: &Ctx,
    admin: &Account,
    staff: AccountId,
    roles: Vec<RoleAssignment>,
) -> AppResult<()> {
    let before = state.storage.roles(ctx.tenant.id, staff).await?;
    state
        .storage
        .set_roles(ctx.tenant.id, staff, &roles)
        .await
        .map_err(role_write_error)?;
    audit(
        state,
        ctx,
        ActorKind::Staff,
        Some(admin.id),
        "staff.roles_changed",
        Some(staff.to_string()),
        serde_json::json!({ "before": before, "after": roles }),
    )
    .await
}

/// Storage errors of role writes: a scope pointing outside the tenant is the caller's mistake.
fn role_write_error(error: StorageError) -> AppError {
    match error {
        StorageError::Constraint { .. } => AppError::field("roles", ErrorCode::InvalidRoleScope),
        other => other.into(),
    }
}
