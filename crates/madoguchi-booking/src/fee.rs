//! A service's fee (受診料・参加費) and who need not pay it: the amount, the revenue category
//! it is booked to, whether it may be paid at the counter on the day, and the exemptions
//! (70歳以上, 生活保護 …). Decides how one booking settles its fee; it never charges or stores.
//!
//! Stored inside [`ServiceRules`](crate::ServiceRules) as `"fee": {...}`; rules stored before
//! fees existed have none and read as free.

use crate::{AgeReference, Applicant, age_on};
use madoguchi_domain::Lang;
use madoguchi_payments::{PaymentAmount, RevenueCategoryCode};
use serde::{Deserialize, Serialize};
use time::Date;

/// The most exemptions one fee lists: a handful of categories in practice.
pub const EXEMPTIONS_MAX: usize = 10;
/// The highest age an exemption may start at.
pub const EXEMPTION_AGE_MAX: u16 = 150;
/// The longest exemption label, in characters, in either language.
pub const EXEMPTION_LABEL_MAX_CHARS: usize = 100;

/// What a booking of the service costs, and how it may be settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// 1 to 99,999,999 yen (a stored rule outside that does not decode).
    pub amount_yen: PaymentAmount,
    /// The revenue category (歳入科目) the receivable is assessed under, e.g. `checkup_fee`.
    pub revenue_category: RevenueCategoryCode,
    /// Residents may choose to pay at the counter on the day instead of online.
    #[serde(default)]
    pub counter_allowed: bool,
    /// Who need not pay, each with how it is established.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<Exemption>,
}

/// One ground for not paying (免除).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// Stable key, recorded with the booking and in the audit log, e.g. `welfare`.
    pub code: String,
    pub label_ja: String,
    pub label_en: String,
    pub rule: ExemptionRule,
}

impl Exemption {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.label_ja,
            Lang::En => &self.label_en,
        }
    }
}

/// How an exemption is established. Stored as `{"type": "age_at_least", "years": 70}` (with
/// an optional `"reference": "fiscal_year_end"`) or `{"type": "self_declared"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExemptionRule {
    /// The applicant is at least `years` old, counted the Japanese way (as eligibility
    /// counts), on the slot's date unless `reference` says the fiscal year's end.
    AgeAtLeast {
        years: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<AgeReference>,
    },
    /// Declared by the resident (生活保護受給 and the like); staff see the proof at the visit.
    SelfDeclared,
}

/// How the applicant asks to settle the fee. Stored and sent as `{"settle": "online"}`,
/// `{"settle": "counter"}` or `{"settle": "exempt", "exemption": "welfare"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "settle", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeeChoice {
    Online,
    Counter,
    Exempt { exemption: String },
}

/// How a booking's fee is settled, once decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "settle", rename_all = "snake_case")]
pub enum Settlement {
    /// Paid online while a hold keeps the seat; the hold is confirmed when the payment succeeds.
    Online,
    /// Paid at the counter on the day: booked at once, the receivable left open.
    Counter,
    /// Not charged. `staff_check`: declared by the resident, to be checked at the visit.
    Exempt {
        exemption: String,
        staff_check: bool,
    },
}

impl Settlement {
    /// Whether a receivable is assessed (online or at the counter).
    pub fn is_charged(&self) -> bool {
        !matches!(self, Settlement::Exempt { .. })
    }

    /// `online`, `counter` or `exempt`, as stored with the reservation and in the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Settlement::Online => "online",
            Settlement::Counter => "counter",
            Settlement::Exempt { .. } => "exempt",
        }
    }
}

/// Why a choice of settlement is refused; each has its own error code upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeeRefusal {
    #[error("this service is not paid at the counter")]
    CounterNotAllowed,
    #[error("the service has no such exemption")]
    UnknownExemption,
    #[error("the applicant's date of birth is needed for this exemption")]
    BirthDateMissing,
    #[error("the applicant's age {age} is below the exemption's")]
    TooYoung { age: u16 },
}

impl Fee {
    /// The exemption with this code.
    pub fn exemption(&self, code: &str) -> Option<&Exemption> {
        self.exemptions.iter().find(|e| e.code == code)
    }

    /// Whether an exemption depends on the applicant's age (the booking form then asks the
    /// date of birth).
    pub fn has_age_exemption(&self) -> bool {
        self.exemptions
            .iter()
            .any(|e| matches!(e.rule, ExemptionRule::AgeAtLeast { .. }))
    }

    /// Decides how a booking of a slot on `slot_date` (Tokyo) settles the fee, as `choice`
    /// asks: online always; at the counter where the service allows it; exempt when the
    /// exemption exists and, for an age, the applicant's date of birth shows it.
    pub fn settle(
        &self,
        choice: &FeeChoice,
        applicant: &Applicant,
        slot_date: Date,
    ) -> Result<Settlement, FeeRefusal> {
        match choice {
            FeeChoice::Online => Ok(Settlement::Online),
            FeeChoice::Counter if self.counter_allowed => Ok(Settlement::Counter),
            FeeChoice::Counter => Err(FeeRefusal::CounterNotAllowed),
            FeeChoice::Exempt { exemption } => {
                let found = self
                    .exemption(exemption)
                    .ok_or(FeeRefusal::UnknownExemption)?;
                let staff_check = match found.rule {
                    ExemptionRule::AgeAtLeast { years, reference } => {
                        let birth = applicant.birth_date.ok_or(FeeRefusal::BirthDateMissing)?;
                        let on = reference
                            .unwrap_or(AgeReference::SlotDate)
                            .date_for(slot_date);
                        let age = age_on(birth, on);
                        if age < years {
                            return Err(FeeRefusal::TooYoung { age });
                        }
                        false
                    }
                    ExemptionRule::SelfDeclared => true,
                };
                Ok(Settlement::Exempt {
                    exemption: found.code.clone(),
                    staff_check,
                })
            }
        }
    }

    /// Exemptions: at most [`EXEMPTIONS_MAX`], unique ASCII codes, labels in both languages,
    /// an age of 1 to [`EXEMPTION_AGE_MAX`].
    pub(crate) fn is_valid(&self) -> bool {
        let mut codes: Vec<&str> = self.exemptions.iter().map(|e| e.code.as_str()).collect();
        codes.sort_unstable();
        let unique = codes.windows(2).all(|w| w[0] != w[1]);
        let label_ok = |label: &str| {
            madoguchi_domain::text::bounded_text(label, EXEMPTION_LABEL_MAX_CHARS)
                .is_ok_and(|text| text.is_some())
        };
        let each_ok = self.exemptions.iter().all(|e| {
            crate::service_rules::id_ok(&e.code)
                && label_ok(&e.label_ja)
                && label_ok(&e.label_en)
                && match e.rule {
                    ExemptionRule::AgeAtLeast { years, .. } => {
                        (1..=EXEMPTION_AGE_MAX).contains(&years)
                    }
                    ExemptionRule::SelfDeclared => true,
                }
        });
        self.exemptions.len() <= EXEMPTIONS_MAX && unique && each_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sex;
    use time::macros::date;

    /// The demo city's group cancer screening: 500 yen, at the counter too, free from 70 (at
    /// the end of the fiscal year) and for households on public assistance.
    fn screening_fee() -> Fee {
        serde_json::from_value(serde_json::json!({
            "amount_yen": 500,
            "revenue_category": "checkup_fee",
            "counter_allowed": true,
            "exemptions": [
                {"code": "age70", "label_ja": "70歳以上の方", "label_en": "Aged 70 or over",
                 "rule": {"type": "age_at_least", "years": 70, "reference": "fiscal_year_end"}},
                {"code": "welfare", "label_ja": "生活保護を受けている方", "label_en": "Receiving public assistance",
                 "rule": {"type": "self_declared"}}
            ]
        }))
        .unwrap()
    }

    fn born(birth: Option<Date>) -> Applicant {
        Applicant {
            birth_date: birth,
            sex: Some(Sex::Female),
            resident: true,
        }
    }

    const SLOT_DAY: Date = date!(2026 - 06 - 10);

    #[test]
    fn online_is_always_a_way_to_pay_and_the_counter_only_where_allowed() {
        let fee = screening_fee();
        assert!(fee.is_valid());
        let anyone = born(None);
        assert_eq!(
            fee.settle(&FeeChoice::Online, &anyone, SLOT_DAY),
            Ok(Settlement::Online)
        );
        assert_eq!(
            fee.settle(&FeeChoice::Counter, &anyone, SLOT_DAY),
            Ok(Settlement::Counter)
        );
        let online_only = Fee {
            counter_allowed: false,
            ..fee
        };
        assert_eq!(
            online_only.settle(&FeeChoice::Counter, &anyone, SLOT_DAY),
            Err(FeeRefusal::CounterNotAllowed)
        );
    }

    #[test]
    fn an_age_exemption_counts_the_age_the_japanese_way_at_its_reference_date() {
        let fee = screening_fee();
        let age70 = FeeChoice::Exempt {
            exemption: "age70".into(),
        };
        // Born 1957-04-01: 70 at the end of the day before the birthday, 2027-03-31, the end
        // of fiscal 2026 — exempt for a slot in June 2026 although 69 on the day.
        assert_eq!(
            fee.settle(&age70, &born(Some(date!(1957 - 04 - 01))), SLOT_DAY),
            Ok(Settlement::Exempt {
                exemption: "age70".into(),
                staff_check: false
            })
        );
        assert_eq!(
            fee.settle(&age70, &born(Some(date!(1957 - 04 - 02))), SLOT_DAY),
            Err(FeeRefusal::TooYoung { age: 69 })
        );
        assert_eq!(
            fee.settle(&age70, &born(None), SLOT_DAY),
            Err(FeeRefusal::BirthDateMissing)
        );
        // Measured on the slot's own date when no reference is given.
        let mut on_the_day = fee.clone();
        on_the_day.exemptions[0].rule = ExemptionRule::AgeAtLeast {
            years: 70,
            reference: None,
        };
        assert_eq!(
            on_the_day.settle(&age70, &born(Some(date!(1957 - 04 - 01))), SLOT_DAY),
            Err(FeeRefusal::TooYoung { age: 69 })
        );
    }

    #[test]
    fn a_declared_exemption_is_marked_for_staff_to_check_and_an_unknown_one_is_refused() {
        let fee = screening_fee();
        let welfare = FeeChoice::Exempt {
            exemption: "welfare".into(),
        };
        let settled = fee.settle(&welfare, &born(None), SLOT_DAY);
        assert_eq!(
            settled,
            Ok(Settlement::Exempt {
                exemption: "welfare".into(),
                staff_check: true
            })
        );
        assert!(!settled.unwrap().is_charged());
        assert_eq!(
            fee.settle(
                &FeeChoice::Exempt {
                    exemption: "friend_of_the_mayor".into()
                },
                &born(None),
                SLOT_DAY
            ),
            Err(FeeRefusal::UnknownExemption)
        );
    }

    #[test]
    fn choices_and_settlements_read_and_write_as_tagged_json() {
        let choice: FeeChoice =
            serde_json::from_value(serde_json::json!({"settle": "exempt", "exemption": "welfare"}))
                .unwrap();
        assert_eq!(
            choice,
            FeeChoice::Exempt {
                exemption: "welfare".into()
            }
        );
        assert_eq!(
            serde_json::to_value(Settlement::Counter).unwrap(),
            serde_json::json!({"settle": "counter"})
        );
        assert_eq!(Settlement::Online.as_str(), "online");
        assert!(
            serde_json::from_value::<FeeChoice>(serde_json::json!({"settle": "later"})).is_err()
        );
    }

    #[test]
    fn badly_defined_exemptions_are_invalid_and_bad_amounts_do_not_decode() {
        let mut fee = screening_fee();
        fee.exemptions[1].code = "age70".into();
        assert!(!fee.is_valid(), "duplicate codes");
        let mut fee = screening_fee();
        fee.exemptions[0].label_en = String::new();
        assert!(!fee.is_valid(), "unlabelled");
        let mut fee = screening_fee();
        fee.exemptions[0].code = "age 70".into();
        assert!(!fee.is_valid(), "code with a space");
        let mut fee = screening_fee();
        fee.exemptions[0].rule = ExemptionRule::AgeAtLeast {
            years: 0,
            reference: None,
        };
        assert!(!fee.is_valid(), "age zero");
        let mut fee = screening_fee();
        fee.exemptions = (0..=EXEMPTIONS_MAX)
            .map(|i| Exemption {
                code: format!("e{i}"),
                label_ja: "免除".into(),
                label_en: "Exempt".into(),
                rule: ExemptionRule::SelfDeclared,
            })
            .collect();
        assert!(!fee.is_valid(), "too many");
        for undecodable in [
            serde_json::json!({"amount_yen": 0, "revenue_category": "checkup_fee"}),
            serde_json::json!({"amount_yen": 100_000_000, "revenue_category": "checkup_fee"}),
            serde_json::json!({"amount_yen": 500, "revenue_category": "Checkup Fee"}),
            serde_json::json!({"amount_yen": 500, "revenue_category": "checkup_fee", "tax": true}),
        ] {
            assert!(
                serde_json::from_value::<Fee>(undecodable.clone()).is_err(),
                "{undecodable}"
            );
        }
    }
}
