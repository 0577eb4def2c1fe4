//! Records and the storage capability for the tenant's LINE official account: its Messaging
//! API channel, residents' links to it, and the one-time codes that make a link.
//!
//! The channel secret and the channel access token are `SecretString`s: they redact
//! themselves in `Debug` and are read only where a request is signed or checked. Link codes are
//! stored as their hash only, like the one-time tokens of mail links.

use crate::StorageResult;
use async_trait::async_trait;
use madoguchi_domain::{AccountId, TenantId};
use secrecy::SecretString;
use time::OffsetDateTime;

/// A tenant's LINE Messaging API channel, as an administrator set it.
#[derive(Clone, Debug)]
pub struct LineChannel {
    pub tenant_id: TenantId,
    /// The channel id from the LINE Developers console; not a secret.
    pub channel_id: String,
    /// Verifies `X-Line-Signature` on webhook requests.
    pub channel_secret: SecretString,
    /// The bearer token for push and reply requests.
    pub channel_access_token: SecretString,
    /// The official account's basic id (`@123abcde`), for the add-friend link.
    pub basic_id: Option<String>,
    /// `https://api.line.me` unless a test points it at a fake.
    pub api_base_url: String,
    /// Off: nothing is pushed and webhook events are acknowledged and ignored.
    pub enabled: bool,
    pub updated_at: OffsetDateTime,
}

/// What an administrator saves: every field, secrets included (the page keeps a secret left
/// blank by passing the stored one).
#[derive(Clone, Debug)]
pub struct NewLineChannel {
    pub channel_id: String,
    pub channel_secret: SecretString,
    pub channel_access_token: SecretString,
    pub basic_id: Option<String>,
    pub api_base_url: String,
    pub enabled: bool,
}

/// A resident's account linked to their LINE user id. The LINE user id is personal data:
/// `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct LineLink {
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub line_user_id: String,
    pub linked_at: OffsetDateTime,
}

impl std::fmt::Debug for LineLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineLink")
            .field("tenant_id", &self.tenant_id)
            .field("account_id", &self.account_id)
            .field("linked_at", &self.linked_at)
            .finish_non_exhaustive()
    }
}

/// A new one-time link code; only its hash is stored.
#[derive(Clone, Debug)]
pub struct NewLineLinkCode {
    pub account_id: AccountId,
    /// SHA-256 of the tenant and the normalised code; the code itself is only on the page.
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait LineStore: Send + Sync {
    /// The tenant's channel, `None` until an administrator sets one.
    async fn line_channel(&self, tenant: TenantId) -> StorageResult<Option<LineChannel>>;
    /// Creates or replaces the tenant's channel.
    async fn put_line_channel(
        &self,
        tenant: TenantId,
        channel: &NewLineChannel,
        now: OffsetDateTime,
    ) -> StorageResult<LineChannel>;

    /// Stores a code for an account of the tenant (`NotFound` if the account is not one) and
    /// retires the account's earlier codes, so only the newest code works.
    async fn create_line_link_code(
        &self,
        tenant: TenantId,
        new: &NewLineLinkCode,
        now: OffsetDateTime,
    ) -> StorageResult<()>;
    /// Spends an unused, unexpired code and links its account to `line_user_id`, atomically.
    /// A link the account or the LINE user had before is replaced (a new phone, another
    /// account). `NotFound` when the code does not work.
    async fn redeem_line_link_code(
        &self,
        tenant: TenantId,
        code_hash: &[u8],
        line_user_id: &str,
        now: OffsetDateTime,
    ) -> StorageResult<LineLink>;
    /// The account's link, if it has one.
    async fn line_link(
        &self,
        tenant: TenantId,
        account: AccountId,
    ) -> StorageResult<Option<LineLink>>;
    /// Removes the account's link; `false` when it had none.
    async fn delete_line_link(&self, tenant: TenantId, account: AccountId) -> StorageResult<bool>;
    /// Removes the link of a LINE user (who blocked or unfollowed the official account) and
    /// returns the account it belonged to.
    async fn delete_line_link_of_user(
        &self,
        tenant: TenantId,
        line_user_id: &str,
    ) -> StorageResult<Option<AccountId>>;
}
