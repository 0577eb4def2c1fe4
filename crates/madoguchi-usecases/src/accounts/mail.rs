//! The mail of the account flows: one-time links (verification, reset, invitation) and the
//! notice to the owner of a known address. The use case decides what is sent to whom; the
//! texts come from [`Letters`] (the server's templates), and the mail goes out as a
//! `mail.send` job, so a slow mail server never holds up a request.

use super::{AccountStores, Deps};
use crate::{Scope, UseCaseError, UseCaseResult};
use madoguchi_auth::one_time::{new_token, token_hash};
use madoguchi_domain::{Lang, ReturnPath};
use madoguchi_jobs::JobQueue;
use madoguchi_mail::OutgoingMail;
use madoguchi_storage::{Account, NewOneTimeToken, TokenPurpose};

/// The job kind that sends one [`OutgoingMail`]; its handler is registered by the server.
pub const MAIL_SEND: &str = "mail.send";

/// Attempts of a mail job before it is marked failed.
const MAIL_ATTEMPTS_MAX: i64 = 8;

/// The texts of account mail in a language: `kind` names the letter (`verify_email`,
/// `reset_password`, `staff_invite`, `sign_up_existing`), `values` fills it.
pub trait Letters: Send + Sync {
    /// The subject (without the city's prefix) and the body.
    fn compose(
        &self,
        kind: &str,
        lang: Lang,
        values: serde_json::Value,
    ) -> UseCaseResult<(String, String)>;
}

/// The base URL of a tenant served on `host` (or on the installation's own `public_url`):
/// tokens work only on their own tenant's host, so links must point there.
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

impl<S: ?Sized> Deps<'_, S> {
    /// The address this city's residents use.
    pub fn base_url(&self) -> String {
        base_url_for(&self.settings.public_url, self.city.host.as_deref())
    }
}

/// Creates a one-time token valid `ttl_s` seconds and queues the mail carrying its link; the
/// link carries `next`, the page to return to afterwards, when there is one.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_link<S: AccountStores + ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    account: &Account,
    purpose: TokenPurpose,
    ttl_s: i64,
    kind: &str,
    path: &str,
    next: Option<&ReturnPath>,
) -> UseCaseResult<()> {
    let token = new_token();
    let new = NewOneTimeToken {
        account_id: account.id,
        purpose,
        token_hash: token_hash(&token),
        expires_at: scope.now() + time::Duration::seconds(ttl_s),
    };
    d.store.create_token(scope.tenant, &new).await?;
    let mut link = format!("{}{path}?token={token}", d.base_url());
    if let Some(next) = next {
        link.push_str("&next=");
        link.push_str(&next.query_value());
    }
    let values = serde_json::json!({
        "name": account.display_name.as_str(),
        "link": link,
        "hours": ttl_s / 3600,
        "city": d.city.name(account.locale),
    });
    queue_mail(d, scope, account, kind, values).await
}

/// Composes the letter in the account's language and queues it to the account's address.
pub(crate) async fn queue_mail<S: ?Sized>(
    d: &Deps<'_, S>,
    scope: &Scope,
    account: &Account,
    kind: &str,
    values: serde_json::Value,
) -> UseCaseResult<()> {
    let lang = account.locale;
    let (subject, body) = d.letters.compose(kind, lang, values)?;
    let mail = OutgoingMail {
        tenant_id: Some(scope.tenant),
        to: account.email.as_str().to_owned(),
        subject: format!("[{}] {subject}", d.city.name(lang)),
        text_body: body,
        attachments: vec![],
    };
    let payload = serde_json::to_value(&mail).map_err(UseCaseError::internal)?;
    let job = JobQueue::job_now(Some(scope.tenant), MAIL_SEND, payload, MAIL_ATTEMPTS_MAX);
    d.jobs.enqueue(job).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_with_its_own_host_gets_links_on_that_host_with_the_installation_scheme() {
        let url = base_url_for("https://yoyaku.example.jp/", Some("kita.example.jp"));
        assert_eq!(url, "https://kita.example.jp");
    }

    #[test]
    fn a_city_without_a_host_gets_links_on_the_public_url_without_a_trailing_slash() {
        assert_eq!(
            base_url_for("http://127.0.0.1:8080/", None),
            "http://127.0.0.1:8080"
        );
    }
}
