//! Revenue categories (歳入科目): what a receivable is for, administered per city. The code is
//! the stable key the ledger's accounts and the accounting export use; the names are what
//! people read.

use madoguchi_domain::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// 1–40 characters of `a-z`, `0-9` and `_`, starting with a letter (`certificate_fee`): safe
/// in a ledger account name, a CSV column and a URL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RevenueCategoryCode(String);

impl RevenueCategoryCode {
    pub const LEN_MAX: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let mut bytes = raw.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if first_ok && rest_ok && raw.len() <= Self::LEN_MAX {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ErrorCode::InvalidRevenueCategory)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RevenueCategoryCode {
    type Error = ErrorCode;
    fn try_from(raw: String) -> Result<Self, ErrorCode> {
        Self::parse(&raw)
    }
}

impl From<RevenueCategoryCode> for String {
    fn from(code: RevenueCategoryCode) -> String {
        code.0
    }
}

impl fmt::Display for RevenueCategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One revenue category of a city.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueCategory {
    pub code: RevenueCategoryCode,
    pub name_ja: String,
    pub name_en: String,
    /// Taxes cannot be paid through a counter's cashless terminal (they go through eL-QR / eLTAX).
    pub is_tax: bool,
}

impl RevenueCategory {
    /// The categories a new city starts with (from the model city's cashless rollout and its
    /// convenience-store slips); administrators add and rename from there.
    pub fn standard() -> Vec<RevenueCategory> {
        let rows: [(&str, &str, &str, bool); 12] = [
            ("certificate_fee", "証明手数料", "Certificate fee", false),
            ("facility_fee", "施設使用料", "Facility fee", false),
            (
                "dog_registration_fee",
                "犬登録手数料",
                "Dog registration fee",
                false,
            ),
            ("waste_fee", "ごみ処理手数料", "Waste disposal fee", false),
            (
                "road_occupancy_fee",
                "道路占用料",
                "Road occupancy fee",
                false,
            ),
            ("copy_fee", "コピー代", "Copy fee", false),
            ("water_charge", "水道料金", "Water charge", false),
            ("sewer_charge", "下水道使用料", "Sewerage charge", false),
            ("checkup_fee", "検診手数料", "Health checkup fee", false),
            ("school_lunch_fee", "学校給食費", "School lunch fee", false),
            ("resident_tax", "市県民税", "Resident tax", true),
            ("property_tax", "固定資産税", "Property tax", true),
        ];
        rows.into_iter()
            .filter_map(|(code, ja, en, is_tax)| {
                Some(RevenueCategory {
                    code: RevenueCategoryCode::parse(code).ok()?,
                    name_ja: ja.to_owned(),
                    name_en: en.to_owned(),
                    is_tax,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_codes_and_anything_else_is_refused() {
        assert!(RevenueCategoryCode::parse("certificate_fee").is_ok());
        assert!(RevenueCategoryCode::parse("fee2").is_ok());
        for bad in ["", "2fee", "Fee", "証明", "a-b", "a b", &"a".repeat(41)] {
            assert_eq!(
                RevenueCategoryCode::parse(bad),
                Err(ErrorCode::InvalidRevenueCategory),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_standard_set_has_every_row_and_marks_taxes() {
        let all = RevenueCategory::standard();
        assert_eq!(all.len(), 12);
        assert!(
            all.iter()
                .any(|c| c.code.as_str() == "resident_tax" && c.is_tax)
        );
        assert!(
            all.iter()
                .any(|c| c.code.as_str() == "water_charge" && !c.is_tax)
        );
    }
}
