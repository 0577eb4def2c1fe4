//! Typed identifiers of this crate: a UUID each, so a unit id can never be passed as an
//! application id. Their 16 bytes (RFC 4122 order, [`uuid::Uuid::as_bytes`]) are what the
//! lottery hashes.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The 16 bytes, in RFC 4122 (big-endian) order.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
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

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A facility (施設): a 公民館, a 体育館, a 文化センター.
    FacilityId
);
id_type!(
    /// One booking of a facility's unit (施設予約).
    FacilityBookingId
);
id_type!(
    /// A bookable unit of a facility: a room, a half court, the whole hall.
    UnitId
);
id_type!(
    /// A registered group (登録団体).
    GroupId
);
id_type!(
    /// Who applies to a lottery: a registered group or a person (their account), as one id.
    ApplicantId
);
id_type!(
    /// One lottery application (抽選申込): ranked choices of unit-slots.
    ApplicationId
);
