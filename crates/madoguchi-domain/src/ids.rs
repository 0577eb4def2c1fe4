//! Typed identifiers: a UUID per entity kind, so an office id can never be passed as an account id.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) identifier: rows inserted together stay close in indexes.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A municipality (or other organisation) served by this installation.
    TenantId
);
id_type!(
    /// An office: headquarters, branch, sub-office, community centre, hospital or facility.
    OfficeId
);
id_type!(
    /// A department (課) of a tenant.
    DepartmentId
);
id_type!(
    /// A resident or staff account.
    AccountId
);
id_type!(
    /// One entry of the append-only audit log.
    AuditId
);
id_type!(
    /// A background job.
    JobId
);
id_type!(
    /// A bookable service (a consultation, a checkup session type, a lecture).
    ServiceId
);
id_type!(
    /// One bookable time of a service at an office, with a capacity.
    SlotId
);
id_type!(
    /// A reservation of a slot.
    ReservationId
);
id_type!(
    /// An amount owed to the city (調定).
    ReceivableId
);
id_type!(
    /// One payment towards a receivable.
    PaymentId
);
id_type!(
    /// A refund (還付) of a payment.
    RefundId
);
id_type!(
    /// One balanced entry of the ledger.
    LedgerEntryId
);
id_type!(
    /// A queue of the remote counter: one department's line of residents waiting to be called.
    QueueId
);
id_type!(
    /// A numbered ticket (受付番号) in a remote-counter queue.
    TicketId
);
id_type!(
    /// A remote-counter video room: one resident's consultation, whoever joins it.
    RoomId
);
id_type!(
    /// A media server process (SFU) of the remote counter; rooms are placed on one.
    MediaNodeId
);
