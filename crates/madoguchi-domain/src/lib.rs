//! Pure rules of Madoguchi: identifiers, validated values and the stable error codes.
//!
//! Architecture invariant: this crate performs no I/O (no database, network, files or clock
//! reads other than through arguments), so every rule here is testable as a plain function.

pub mod account;
pub mod capability;
pub mod clock;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod lang;
pub mod money;
pub mod org;
pub mod password;
pub mod reference;
pub mod return_path;
pub mod tenant;
pub mod text;
pub mod tokyo;

pub use account::{AccountKind, DisplayName, Email, Role, RoleAssignment};
pub use capability::{Capability, CityCapabilities};
pub use clock::{Clock, ManualClock};
pub use error::ErrorCode;
pub use idempotency::IdempotencyKey;
pub use ids::{
    AccountId, AuditId, DepartmentId, JobId, LedgerEntryId, MediaNodeId, OfficeId, PaymentId,
    QueueId, ReceivableId, RefundId, ReservationId, RoomId, ServiceId, SlotId, TenantId, TicketId,
};
pub use lang::Lang;
pub use money::Yen;
pub use org::{OfficeKind, OrgCode};
pub use reference::ReservationRef;
pub use return_path::ReturnPath;
pub use tenant::TenantSlug;
