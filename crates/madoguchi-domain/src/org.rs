//! The organisation of a municipality: offices of several kinds and departments (課).

use crate::{ErrorCode, Lang};
use serde::{Deserialize, Serialize};

/// What an office is. Decides what it can offer (a hospital runs checkups, a 公民館 lets rooms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfficeKind {
    /// 本庁
    Headquarters,
    /// 支所
    Branch,
    /// 出張所
    SubOffice,
    /// 公民館
    CommunityCentre,
    /// 病院
    Hospital,
    /// Any other public facility (clean centre, gym, culture centre).
    Facility,
}

impl OfficeKind {
    pub const ALL: [OfficeKind; 6] = [
        OfficeKind::Headquarters,
        OfficeKind::Branch,
        OfficeKind::SubOffice,
        OfficeKind::CommunityCentre,
        OfficeKind::Hospital,
        OfficeKind::Facility,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfficeKind::Headquarters => "headquarters",
            OfficeKind::Branch => "branch",
            OfficeKind::SubOffice => "sub_office",
            OfficeKind::CommunityCentre => "community_centre",
            OfficeKind::Hospital => "hospital",
            OfficeKind::Facility => "facility",
        }
    }

    pub fn parse(raw: &str) -> Option<OfficeKind> {
        OfficeKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (OfficeKind::Headquarters, Lang::Ja) => "本庁",
            (OfficeKind::Headquarters, Lang::En) => "Headquarters",
            (OfficeKind::Branch, Lang::Ja) => "支所",
            (OfficeKind::Branch, Lang::En) => "Branch office",
            (OfficeKind::SubOffice, Lang::Ja) => "出張所",
            (OfficeKind::SubOffice, Lang::En) => "Sub-office",
            (OfficeKind::CommunityCentre, Lang::Ja) => "公民館",
            (OfficeKind::CommunityCentre, Lang::En) => "Community centre",
            (OfficeKind::Hospital, Lang::Ja) => "病院",
            (OfficeKind::Hospital, Lang::En) => "Hospital",
            (OfficeKind::Facility, Lang::Ja) => "施設",
            (OfficeKind::Facility, Lang::En) => "Facility",
        }
    }
}

/// A short, stable code for an office or department (e.g. `honcho`, `shiminka`), unique per tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgCode(String);

impl OrgCode {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let raw = raw.trim();
        if crate::tenant::is_code(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ErrorCode::InvalidOrgCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgCode {
    type Error = ErrorCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OrgCode> for String {
    fn from(value: OrgCode) -> Self {
        value.0
    }
}

/// A display name of an office or department in Japanese or English: 1–100 characters, trimmed.
pub fn parse_org_name(raw: &str) -> Result<String, ErrorCode> {
    let name = raw.trim();
    let chars = name.chars().count();
    if (1..=100).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(ErrorCode::InvalidOrgName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_office_kind_round_trips_through_its_wire_form() {
        for kind in OfficeKind::ALL {
            assert_eq!(OfficeKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn org_names_are_trimmed_and_bounded() {
        assert_eq!(parse_org_name("  中央公民館 ").as_deref(), Ok("中央公民館"));
        assert_eq!(parse_org_name("   "), Err(ErrorCode::InvalidOrgName));
        assert_eq!(
            parse_org_name(&"課".repeat(101)),
            Err(ErrorCode::InvalidOrgName)
        );
    }
}
