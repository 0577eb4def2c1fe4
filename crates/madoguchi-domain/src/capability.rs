//! What a city offers its residents through Madoguchi, capability by capability, and which of
//! them this build has.
//!
//! A capability is offered (on the home page, in the navigation) only when both are true: this
//! build has it ([`Capability::is_built`]) and the city has it on ([`CityCapabilities`]). So a
//! capability whose issue has not landed is never offered, whatever is stored, and a city that
//! does not take payments online never shows a payment card.

use crate::ErrorCode;
use std::collections::BTreeMap;

/// One capability a city may turn on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Booking consultations, checkups, lectures and remote consultations.
    Reservations,
    /// Public facilities (公民館 rooms, gyms): the lottery, permits, fees.
    Facilities,
    /// Video counters from branches, kiosks and homes to headquarters.
    RemoteCounter,
    /// Fees paid online, at the counter or at a convenience store.
    Payments,
}

impl Capability {
    /// Every capability, in the order pages list them.
    pub const ALL: [Capability; 4] = [
        Capability::Reservations,
        Capability::Facilities,
        Capability::RemoteCounter,
        Capability::Payments,
    ];

    /// The stable name stored in the database and used in forms and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Reservations => "reservations",
            Capability::Facilities => "facilities",
            Capability::RemoteCounter => "remote_counter",
            Capability::Payments => "payments",
        }
    }

    pub fn parse(raw: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// Whether this build has the capability. Facilities come with their own issue and turn
    /// `true` here when it lands.
    pub const fn is_built(self) -> bool {
        match self {
            Capability::Reservations | Capability::Payments | Capability::RemoteCounter => true,
            Capability::Facilities => false,
        }
    }

    /// What a city that never switched it has: reservations on (every city had them before
    /// capabilities could be switched), the others off until the city turns them on.
    pub const fn on_by_default(self) -> bool {
        matches!(self, Capability::Reservations)
    }
}

/// A city's capability settings: what it turned on or off, the defaults for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CityCapabilities {
    switched: BTreeMap<Capability, bool>,
}

impl CityCapabilities {
    /// The settings from what the city switched (the last word for each capability counts).
    pub fn from_switched(switched: impl IntoIterator<Item = (Capability, bool)>) -> Self {
        Self {
            switched: switched.into_iter().collect(),
        }
    }

    /// Whether the city has `capability` on (built or not).
    pub fn is_on(&self, capability: Capability) -> bool {
        self.switched
            .get(&capability)
            .copied()
            .unwrap_or(capability.on_by_default())
    }

    /// Whether residents are offered `capability`: this build has it and the city has it on.
    pub fn offers(&self, capability: Capability) -> bool {
        capability.is_built() && self.is_on(capability)
    }

    /// The capabilities residents are offered, in page order.
    pub fn offered(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.offers(*c))
            .collect()
    }

    /// Checks that `capability` may be switched to `on`: a capability this build lacks cannot
    /// be turned on (there would be nothing behind it); turning it off is always allowed.
    pub fn check_switch(capability: Capability, on: bool) -> Result<(), ErrorCode> {
        if on && !capability.is_built() {
            Err(ErrorCode::CapabilityNotBuilt)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_that_never_switched_anything_offers_reservations_only() {
        let city = CityCapabilities::default();
        assert_eq!(city.offered(), [Capability::Reservations]);
    }

    #[test]
    fn a_city_that_turned_reservations_off_offers_nothing() {
        let city = CityCapabilities::from_switched([(Capability::Reservations, false)]);
        assert!(city.offered().is_empty());
        assert!(!city.is_on(Capability::Reservations));
    }

    #[test]
    fn a_capability_not_in_this_build_is_never_offered_even_when_stored_on_and_a_built_one_is() {
        let city = CityCapabilities::from_switched([
            (Capability::Payments, true),
            (Capability::Facilities, true),
            (Capability::RemoteCounter, true),
        ]);
        assert!(city.is_on(Capability::Facilities));
        assert_eq!(
            city.offered(),
            [
                Capability::Reservations,
                Capability::RemoteCounter,
                Capability::Payments
            ]
        );
    }

    #[test]
    fn only_a_built_capability_can_be_turned_on_and_any_can_be_turned_off() {
        assert_eq!(
            CityCapabilities::check_switch(Capability::Reservations, true),
            Ok(())
        );
        assert_eq!(
            CityCapabilities::check_switch(Capability::Facilities, true),
            Err(ErrorCode::CapabilityNotBuilt)
        );
        for capability in Capability::ALL {
            assert_eq!(CityCapabilities::check_switch(capability, false), Ok(()));
        }
    }

    #[test]
    fn each_capability_reads_back_from_its_stored_name() {
        for capability in Capability::ALL {
            assert_eq!(Capability::parse(capability.as_str()), Some(capability));
        }
        assert_eq!(Capability::parse("Reservations"), None);
        assert_eq!(Capability::parse(""), None);
    }
}
