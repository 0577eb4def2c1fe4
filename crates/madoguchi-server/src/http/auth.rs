//! Who is calling: a resident or staff member signed in through a browser session, or an API
//! client with a bearer token. Every check includes the tenant: a session or token issued by
//! one municipality never works at another.

use crate::http::context::Ctx;
use crate::http::error::AppError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use madoguchi_auth::{ApiClaims, ApiScope};
use madoguchi_domain::account::StaffAccess;
use madoguchi_domain::{AccountId, AccountKind, ErrorCode, ReturnPath, TenantId};
use madoguchi_storage::{Account, StorageError};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const SESSION_KEY: &str = "auth";

/// What a browser session remembers about its signed-in account (ids only, no personal data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub account_id: AccountId,
    pub tenant_id: TenantId,
    pub kind: AccountKind,
    /// When the sign-in happened (Unix microseconds); a password changed later ends the session.
    #[serde(default)]
    pub signed_in_at_us: i64,
}

impl SessionAuth {
    pub async fn load(session: &Session) -> Result<Option<SessionAuth>, AppError> {
        session
            .get::<SessionAuth>(SESSION_KEY)
            .await
            .map_err(AppError::internal)
    }

    /// Signs in: a new session id first (no session fixation), then the identity.
    pub async fn sign_in(session: &Session, auth: SessionAuth) -> Result<(), AppError> {
        session.cycle_id().await.map_err(AppError::internal)?;
        session
            .insert(SESSION_KEY, auth)
            .await
            .map_err(AppError::internal)?;
        crate::http::csrf::rotate_csrf_token(session).await?;
        Ok(())
    }

    pub async fn sign_out(session: &Session) -> Result<(), AppError> {
        session.flush().await.map_err(AppError::internal)
    }
}

async fn session_of(parts: &mut Parts, state: &AppState) -> Result<Session, AppError> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, msg)| AppError::internal(msg))
}

/// Loads the signed-in account of `kind` for this tenant, or `None`.
async fn signed_in(
    parts: &mut Parts,
    state: &AppState,
    kind: AccountKind,
) -> Result<Option<Account>, AppError> {
    let ctx = Ctx::from_request_parts(parts, state).await?;
    let session = session_of(parts, state).await?;
    let Some(auth) = SessionAuth::load(&session).await? else {
        return Ok(None);
    };
    if auth.kind != kind || auth.tenant_id != ctx.tenant.id {
        return Ok(None);
    }
    match state.storage.account(ctx.tenant.id, auth.account_id).await {
        Ok(account)
            if !account.disabled
                && madoguchi_storage::to_unix_micros(account.password_changed_at)
                    <= auth.signed_in_at_us =>
        {
            Ok(Some(account))
        }
        Ok(_) | Err(StorageError::NotFound) => {
            SessionAuth::sign_out(&session).await?;
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

/// Rejection of a page that needs a signed-in user: off to the right sign-in page, which
/// brings the visitor back here afterwards (`?next=`).
pub enum PageAuthRejection {
    SignIn(String),
    Error(AppError),
}

impl PageAuthRejection {
    /// To `signin_path`, carrying the page asked for when it is a page one can return to: a
    /// GET of a safe same-origin path. A refused form post has no page to return to; its
    /// form's page is where the visitor came from, so they start again there.
    fn sign_in(signin_path: &str, parts: &Parts) -> Self {
        let next = (parts.method == axum::http::Method::GET)
            .then(|| parts.uri.path_and_query())
            .flatten()
            .and_then(|pq| ReturnPath::parse(pq.as_str()));
        match next {
            Some(next) => Self::SignIn(format!("{signin_path}?next={}", next.query_value())),
            None => Self::SignIn(signin_path.to_owned()),
        }
    }
}

impl IntoResponse for PageAuthRejection {
    fn into_response(self) -> Response {
        match self {
            PageAuthRejection::SignIn(to) => Redirect::to(&to).into_response(),
            PageAuthRejection::Error(error) => error.into_response(),
        }
    }
}

impl From<AppError> for PageAuthRejection {
    fn from(error: AppError) -> Self {
        PageAuthRejection::Error(error)
    }
}

/// A resident signed in through the browser.
pub struct ResidentSession {
    pub account: Account,
}

impl FromRequestParts<AppState> for ResidentSession {
    type Rejection = PageAuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match signed_in(parts, state, AccountKind::Resident).await? {
            Some(account) => Ok(Self { account }),
            None => Err(PageAuthRejection::sign_in("/signin", parts)),
        }
    }
}

/// A staff member signed in through the browser, with what their roles allow.
pub struct StaffSession {
    pub account: Account,
    pub access: StaffAccess,
}

impl StaffSession {
    /// Configuring the city (organisation, calendar, policies, LINE) is for administrators.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.access.may_manage_organisation() {
            Ok(())
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = PageAuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match signed_in(parts, state, AccountKind::Staff).await? {
            Some(account) => {
                let roles = state
                    .storage
                    .roles(account.tenant_id, account.id)
                    .await
                    .map_err(AppError::from)?;
                Ok(Self {
                    account,
                    access: StaffAccess::new(roles),
                })
            }
            None => Err(PageAuthRejection::sign_in("/staff/signin", parts)),
        }
    }
}

/// Whoever is signed in, for the page header; never rejects.
pub struct MaybeSignedIn(pub Option<SessionAuth>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let session = session_of(parts, state).await?;
        let auth = SessionAuth::load(&session)
            .await?
            .filter(|a| a.tenant_id == ctx.tenant.id);
        Ok(Self(auth))
    }
}

/// An API client authenticated by a bearer token of this tenant.
pub struct ApiCaller {
    pub claims: ApiClaims,
    pub account: Account,
    /// Present for staff accounts.
    pub access: Option<StaffAccess>,
}

impl ApiCaller {
    /// An administrator's token carrying `scope`.
    pub fn require_admin(&self, scope: ApiScope) -> Result<(), AppError> {
        self.require(scope)?;
        if self.staff()?.may_manage_organisation() {
            Ok(())
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }

    /// Refuses unless the token carries `scope`.
    pub fn require(&self, scope: ApiScope) -> Result<(), AppError> {
        if self.claims.allows(scope) {
            Ok(())
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }

    /// The caller's staff permissions; residents have none.
    pub fn staff(&self) -> Result<&StaffAccess, AppError> {
        self.access
            .as_ref()
            .ok_or_else(|| AppError::new(ErrorCode::Forbidden))
    }

    /// Staff whose roles handle reservations, with a token carrying `org:read`.
    pub fn require_reservation_staff(&self) -> Result<&StaffAccess, AppError> {
        self.require(ApiScope::OrgRead)?;
        let access = self.staff()?;
        if access.handles_reservations() {
            Ok(access)
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }

    /// Staff whose roles pass `allowed`, with a token carrying `org:read`.
    pub fn require_staff_where(
        &self,
        allowed: impl Fn(&StaffAccess) -> bool,
    ) -> Result<&StaffAccess, AppError> {
        self.require(ApiScope::OrgRead)?;
        let access = self.staff()?;
        if allowed(access) {
            Ok(access)
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }

    /// A resident's own token.
    pub fn require_resident(&self) -> Result<(), AppError> {
        self.require(ApiScope::AccountRead)?;
        if self.account.kind == AccountKind::Resident {
            Ok(())
        } else {
            Err(AppError::new(ErrorCode::Forbidden))
        }
    }
}

/// API callers whose right to call the operation is checked by the extractor itself, not by
/// the handler. Axum runs the parts extractors in argument order and the body extractor last,
/// so a caller who may not call the operation gets 401 or 403 before the body is read: a
/// malformed or invalid body never answers an outsider with 400 or 422 first.
macro_rules! guarded_api_caller {
    ($(#[$doc:meta])* $name:ident, |$caller:ident| $check:expr) => {
        $(#[$doc])*
        pub struct $name(pub ApiCaller);

        impl std::ops::Deref for $name {
            type Target = ApiCaller;
            fn deref(&self) -> &ApiCaller {
                &self.0
            }
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let $caller = ApiCaller::from_request_parts(parts, state).await?;
                $check?;
                Ok(Self($caller))
            }
        }
    };
}

guarded_api_caller!(
    /// An administrator's token carrying `org:write` (configuring the city).
    ApiAdmin,
    |caller| caller.require_admin(ApiScope::OrgWrite)
);
guarded_api_caller!(
    /// Staff who handle reservations (`org:read`).
    ApiStaff,
    |caller| caller.require_reservation_staff().map(|_| ())
);
guarded_api_caller!(
    /// Staff of any role (`org:read`): the payment operations whose use case decides by the
    /// receivable or the payment (assessing, requesting a refund).
    ApiPaymentStaff,
    |caller| caller.require(ApiScope::OrgRead).and(caller.staff().map(|_| ()))
);
guarded_api_caller!(
    /// Staff who take payments at a counter somewhere (`org:read`); which receivables is
    /// decided by its office.
    ApiCounterStaff,
    |caller| caller.require_staff_where(|a| a.may_take_counter_payment(None))
);
guarded_api_caller!(
    /// Staff of the remote counter (`org:read`): HQ specialists and administrators serving
    /// queues, branch staff at kiosks; which queue or kiosk is decided by the use case.
    ApiCounterDeskStaff,
    |caller| caller.require(ApiScope::OrgRead).and(caller.staff().map(|_| ()))
);
guarded_api_caller!(
    /// Finance and administrators (`org:read`): the books.
    ApiFinance,
    |caller| caller.require_staff_where(StaffAccess::may_read_finance)
);
guarded_api_caller!(
    /// Finance users, who approve or reject refunds (`org:read`).
    ApiRefundApprover,
    |caller| caller.require_staff_where(StaffAccess::may_decide_refund)
);
guarded_api_caller!(
    /// A resident's token.
    ApiResident,
    |caller| caller.require_resident()
);
guarded_api_caller!(
    /// Any account's token carrying `account:read` (residents and staff alike).
    ApiAccount,
    |caller| caller.require(ApiScope::AccountRead)
);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))?;
        let claims = state
            .api_keys
            .verify(token.trim())
            .map_err(|_| AppError::new(ErrorCode::Unauthenticated))?;
        if claims.tid != ctx.tenant.id {
            return Err(AppError::new(ErrorCode::Unauthenticated));
        }
        let account = match state.storage.account(ctx.tenant.id, claims.sub).await {
            Ok(account)
                if !account.disabled
                    && account.kind == claims.kind
                    // `iat` has whole seconds: a token from the very second of a password
                    // change still passes, any older one does not.
                    && claims.iat >= account.password_changed_at.unix_timestamp() =>
            {
                account
            }
            Ok(_) | Err(StorageError::NotFound) => {
                return Err(AppError::new(ErrorCode::Unauthenticated));
            }
            Err(other) => return Err(other.into()),
        };
        let access = match account.kind {
            AccountKind::Staff => Some(StaffAccess::new(
                state.storage.roles(ctx.tenant.id, account.id).await?,
            )),
            AccountKind::Resident => None,
        };
        Ok(Self {
            claims,
            account,
            access,
        })
    }
}
