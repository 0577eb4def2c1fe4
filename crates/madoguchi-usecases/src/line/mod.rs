//! The city's LINE official account: residents link their account with the "send a code"
//! pattern ([`link`]), administrators set the city's channel ([`channel`]), LINE calls the
//! signed webhook ([`webhook`]), and reservation notices go through the city's channel
//! ([`delivery`]).
//!
//! Linking: the account page issues a short one-time code (30 minutes, single use, stored as
//! the SHA-256 of tenant and code); the resident adds the official account as a friend and
//! sends the code; the webhook, after checking `X-Line-Signature` with the channel secret,
//! spends the code, stores the link and replies through the Messaging API. An `unfollow`
//! (the resident blocked the account) removes the link.
//!
//! LINE's wire types and HTTP calls stay in `madoguchi_notify` (`line`, `line_webhook`).
//! Nothing here logs a LINE user id, a code, a message text or a secret; audit entries hold
//! account ids only.

pub mod channel;
pub mod code;
pub mod delivery;
pub mod link;
pub mod webhook;

pub use channel::{
    ChannelForm, FieldProblem, mask, parse_api_base_url, parse_channel, save_channel,
};
pub use code::{LINK_CODE_TTL_MIN, code_hash, new_link_code, normalize_code};
pub use delivery::{deliver_notice, notices_go_by_line};
pub use link::{IssuedCode, LinkStatus, issue_link_code, link_status, unlink};
pub use webhook::{WebhookOutcome, handle_webhook};

/// The production Messaging API.
pub const DEFAULT_API_BASE_URL: &str = madoguchi_notify::line::DEFAULT_BASE_URL;
