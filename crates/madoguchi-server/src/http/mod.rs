//! HTTP plumbing shared by every route: the error type, request context (tenant, language,
//! client address), security headers, CSRF protection, sessions and caller identity.

pub mod auth;
pub mod context;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod headers;
pub mod session_store;
pub mod text_input;
pub mod upload;

pub use auth::{
    ApiAccount, ApiAdmin, ApiCaller, ApiCounterDeskStaff, ApiCounterStaff, ApiFinance,
    ApiPaymentStaff, ApiRefundApprover, ApiResident, ApiStaff, ResidentSession, SessionAuth,
    StaffSession,
};
pub use context::Ctx;
pub use error::{AppError, AppResult, FieldError};
pub use extract::ApiJson;
