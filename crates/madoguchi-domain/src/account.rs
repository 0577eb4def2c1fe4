//! Accounts: residents and staff, their email addresses, names, roles and what each role may see.

use crate::{DepartmentId, ErrorCode, Lang, OfficeId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised email address (trimmed, lower-cased). Its `Debug` hides the address, because
/// an email address is personal data and must never reach a log through `{:?}`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Accepts the addresses people actually use: `local@domain.tld`, no spaces, at most 254
    /// characters, an ASCII domain with at least one dot. Quoted local parts are refused on purpose.
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let candidate = raw.trim().to_lowercase();
        if candidate.len() > 254
            || candidate
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ErrorCode::InvalidEmail);
        }
        let Some((local, domain)) = candidate.split_once('@') else {
            return Err(ErrorCode::InvalidEmail);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2);
        if local_ok && domain_ok {
            Ok(Self(candidate))
        } else {
            Err(ErrorCode::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, used to refuse passwords that contain it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([redacted])")
    }
}

impl TryFrom<String> for Email {
    type Error = ErrorCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A person's display name (kanji, kana or Latin): 1–100 characters, trimmed.
/// `Debug` hides it, since names are personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// 1–100 characters after trimming, at least one of them visible, and no control or
    /// format characters (a zero-width space alone, or a right-to-left override that reorders
    /// the name on the day sheet, are refused).
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let name = raw.trim();
        let chars = name.chars().count();
        let has_visible = name.chars().any(|c| !crate::text::is_invisible(c));
        let has_format = name
            .chars()
            .any(|c| c.is_control() || (!c.is_whitespace() && crate::text::is_invisible(c)));
        if (1..=100).contains(&chars) && has_visible && !has_format {
            Ok(Self(name.to_owned()))
        } else {
            Err(ErrorCode::InvalidDisplayName)
        }
    }

    /// A name as stored. Names accepted under an earlier, looser rule (e.g. only a zero-width
    /// space) must still load, or their accounts could no longer sign in; only the rule of that
    /// time is applied: 1–100 characters without C0/C1 controls.
    pub fn from_stored(raw: &str) -> Result<Self, ErrorCode> {
        let chars = raw.chars().count();
        if (1..=100).contains(&chars) && !raw.chars().any(char::is_control) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ErrorCode::InvalidDisplayName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName([redacted])")
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ErrorCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// Residents and staff sign in separately and never share an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Resident,
    Staff,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Resident => "resident",
            AccountKind::Staff => "staff",
        }
    }

    pub fn parse(raw: &str) -> Option<AccountKind> {
        match raw {
            "resident" => Some(AccountKind::Resident),
            "staff" => Some(AccountKind::Staff),
            _ => None,
        }
    }
}

/// A staff role. What a role may do is decided in [`Role`] methods and [`RoleAssignment`] scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// DX推進担当: configures offices, services, staff; sees everything of the tenant.
    Admin,
    /// 本庁職員: serves residents of every office for one department.
    HqStaff,
    /// 支所職員: serves callers and walk-ins at one branch or sub-office.
    BranchStaff,
    /// 施設職員: runs one facility.
    FacilityStaff,
    /// 会計課: reconciliation, refunds, exports; sees every office's money.
    Finance,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::HqStaff,
        Role::BranchStaff,
        Role::FacilityStaff,
        Role::Finance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::HqStaff => "hq_staff",
            Role::BranchStaff => "branch_staff",
            Role::FacilityStaff => "facility_staff",
            Role::Finance => "finance",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::Admin, Lang::Ja) => "管理者",
            (Role::Admin, Lang::En) => "Administrator",
            (Role::HqStaff, Lang::Ja) => "本庁職員",
            (Role::HqStaff, Lang::En) => "Headquarters staff",
            (Role::BranchStaff, Lang::Ja) => "支所職員",
            (Role::BranchStaff, Lang::En) => "Branch staff",
            (Role::FacilityStaff, Lang::Ja) => "施設職員",
            (Role::FacilityStaff, Lang::En) => "Facility staff",
            (Role::Finance, Lang::Ja) => "会計担当",
            (Role::Finance, Lang::En) => "Finance officer",
        }
    }

    /// Whether the role is meaningless without an office (branch and facility staff work at one).
    pub fn needs_office(self) -> bool {
        matches!(self, Role::BranchStaff | Role::FacilityStaff)
    }

    /// Whether the role is meaningless without a department (HQ specialists belong to a 課).
    pub fn needs_department(self) -> bool {
        matches!(self, Role::HqStaff)
    }
}

/// One role held by a staff account, optionally limited to an office and/or a department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoleAssignment {
    pub role: Role,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub office_id: Option<OfficeId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub department_id: Option<DepartmentId>,
}

impl RoleAssignment {
    /// Checks that the scope fits the role (e.g. branch staff must name their office).
    pub fn new(
        role: Role,
        office_id: Option<OfficeId>,
        department_id: Option<DepartmentId>,
    ) -> Result<Self, ErrorCode> {
        if (role.needs_office() && office_id.is_none())
            || (role.needs_department() && department_id.is_none())
        {
            return Err(ErrorCode::InvalidRoleScope);
        }
        Ok(Self {
            role,
            office_id,
            department_id,
        })
    }
}

/// What a staff member may see and do, derived from all their role assignments.
///
/// Architecture invariant: every authorisation decision about offices and departments goes
/// through these functions, so the rules live in one place and are tested without HTTP.
#[derive(Clone, Debug, Default)]
pub struct StaffAccess {
    pub assignments: Vec<RoleAssignment>,
}

impl StaffAccess {
    pub fn new(assignments: Vec<RoleAssignment>) -> Self {
        Self { assignments }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.assignments.iter().any(|a| a.role == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Configuring offices, departments, staff and roles is for administrators only.
    pub fn may_manage_organisation(&self) -> bool {
        self.is_admin()
    }

    /// The audit log is for administrators.
    pub fn may_read_audit_log(&self) -> bool {
        self.is_admin()
    }

    /// Reading an office's internal data (its staff, its day sheet). Admins, HQ specialists and
    /// finance work across offices; branch and facility staff only at the offices they are assigned to.
    pub fn may_read_office(&self, office: OfficeId) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin | Role::HqStaff | Role::Finance => true,
            Role::BranchStaff | Role::FacilityStaff => a.office_id == Some(office),
        })
    }

    /// The mail outbox of the embedded default holds personal data: administrators only.
    pub fn may_read_outbox(&self) -> bool {
        self.is_admin()
    }

    /// Handling reservations of a service of `department` at `office` (day sheet, attendance,
    /// booking for a caller, changing or cancelling for a resident): administrators anywhere,
    /// HQ specialists for their department's services, branch and facility staff at their
    /// offices. Finance does not handle reservations.
    pub fn may_handle_reservations(
        &self,
        office: OfficeId,
        department: Option<DepartmentId>,
    ) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin => true,
            Role::HqStaff => department.is_none() || a.department_id == department,
            Role::BranchStaff | Role::FacilityStaff => a.office_id == Some(office),
            Role::Finance => false,
        })
    }

    /// Lifting a no-show suspension early: administrators, or staff assigned to the office
    /// whose no-show imposed it (`imposed_by`). Seeing the suspension is city-wide (it matters
    /// when booking for a caller), but only the office that knows the story may undo it. A
    /// suspension without an office (imposed before offices were recorded) is for
    /// administrators.
    pub fn may_lift_suspension(&self, imposed_by: Option<OfficeId>) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin => true,
            Role::Finance => false,
            Role::HqStaff | Role::BranchStaff | Role::FacilityStaff => {
                imposed_by.is_some() && a.office_id == imposed_by
            }
        })
    }

    /// The finance pages (receivables, payments, refunds, reconciliation): finance and
    /// administrators.
    pub fn may_read_finance(&self) -> bool {
        self.has_role(Role::Finance) || self.is_admin()
    }

    /// Issuing and reissuing convenience-store slips, and importing the agency's payment data:
    /// finance and administrators.
    pub fn may_issue_slips(&self) -> bool {
        self.has_role(Role::Finance) || self.is_admin()
    }

    /// Taking a payment at a counter for a receivable of `office` (`None`: a receivable of no
    /// particular office): administrators anywhere, HQ specialists (the 総合窓口 and the
    /// departments' counters at headquarters), branch and facility staff at their offices.
    /// Finance approves and reconciles but does not stand at a counter.
    pub fn may_take_counter_payment(&self, office: Option<OfficeId>) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin | Role::HqStaff => true,
            Role::BranchStaff | Role::FacilityStaff => office.is_none() || a.office_id == office,
            Role::Finance => false,
        })
    }

    /// Requesting a refund (還付): any staff role.
    pub fn may_request_refund(&self) -> bool {
        !self.assignments.is_empty()
    }

    /// Approving or rejecting a refund: finance only (and never one's own request, which the
    /// refund's own rules refuse).
    pub fn may_decide_refund(&self) -> bool {
        self.has_role(Role::Finance)
    }

    /// Serving a remote-counter queue of `department` (calling residents, the consultation):
    /// administrators, and HQ specialists of that department.
    pub fn may_serve_queue(&self, department: DepartmentId) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin => true,
            Role::HqStaff => a.department_id == Some(department),
            Role::BranchStaff | Role::FacilityStaff | Role::Finance => false,
        })
    }

    /// Running the remote-counter kiosk of `office` (taking tickets for walk-ins, sitting
    /// beside the resident): administrators and the office's branch staff.
    pub fn may_run_kiosk(&self, office: OfficeId) -> bool {
        self.assignments.iter().any(|a| match a.role {
            Role::Admin => true,
            Role::BranchStaff => a.office_id == Some(office),
            Role::HqStaff | Role::FacilityStaff | Role::Finance => false,
        })
    }

    /// Whether the staff member handles reservations anywhere (shows the day-sheet pages).
    pub fn handles_reservations(&self) -> bool {
        self.assignments.iter().any(|a| a.role != Role::Finance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_needs_a_visible_character_and_no_format_characters() {
        assert!(DisplayName::parse("山田 花子").is_ok());
        assert!(DisplayName::parse("山田\u{3000}花子").is_ok());
        for bad in [
            "\u{200B}",
            " \u{200B} ",
            "山田\u{202E}花子",
            "a\u{2067}b",
            "x\u{0}",
            "\u{FEFF}",
        ] {
            assert_eq!(
                DisplayName::parse(bad).map(|_| ()),
                Err(ErrorCode::InvalidDisplayName),
                "{bad:?}"
            );
        }
        // Stored under the older rule: still loads.
        assert!(DisplayName::from_stored("\u{200B}").is_ok());
    }

    #[test]
    fn emails_are_normalised_to_lowercase() {
        let email = Email::parse("  Hanako.Yamada@Example.JP ").unwrap();
        assert_eq!(email.as_str(), "hanako.yamada@example.jp");
        assert_eq!(email.local_part(), "hanako.yamada");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "plain",
            "@example.jp",
            "a@",
            "a@b",
            "a b@example.jp",
            "a@exa mple.jp",
            "a..b@example.jp",
            ".a@example.jp",
            "a@-example.jp",
            "a@example.j",
            "山田@example.jp",
        ] {
            assert_eq!(Email::parse(bad), Err(ErrorCode::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn email_debug_output_hides_the_address() {
        let email = Email::parse("secret@example.jp").unwrap();
        assert!(!format!("{email:?}").contains("secret"));
    }

    #[test]
    fn branch_staff_need_an_office_and_hq_staff_a_department() {
        assert_eq!(
            RoleAssignment::new(Role::BranchStaff, None, None),
            Err(ErrorCode::InvalidRoleScope)
        );
        assert_eq!(
            RoleAssignment::new(Role::HqStaff, None, None),
            Err(ErrorCode::InvalidRoleScope)
        );
        assert!(RoleAssignment::new(Role::Admin, None, None).is_ok());
    }

    #[test]
    fn a_branch_clerk_reads_only_their_own_office() {
        let mine = OfficeId::new();
        let other = OfficeId::new();
        let access = StaffAccess::new(vec![
            RoleAssignment::new(Role::BranchStaff, Some(mine), None).unwrap(),
        ]);
        assert!(access.may_read_office(mine));
        assert!(!access.may_read_office(other));
        assert!(!access.may_manage_organisation());
    }

    #[test]
    fn only_the_imposing_office_or_an_admin_lifts_a_suspension() {
        let mine = OfficeId::new();
        let other = OfficeId::new();
        let clerk = StaffAccess::new(vec![
            RoleAssignment::new(Role::BranchStaff, Some(mine), None).unwrap(),
        ]);
        assert!(clerk.may_lift_suspension(Some(mine)));
        assert!(!clerk.may_lift_suspension(Some(other)));
        assert!(
            !clerk.may_lift_suspension(None),
            "old rows are for administrators"
        );
        let admin = StaffAccess::new(vec![RoleAssignment::new(Role::Admin, None, None).unwrap()]);
        assert!(admin.may_lift_suspension(Some(other)) && admin.may_lift_suspension(None));
    }

    #[test]
    fn an_admin_reads_every_office() {
        let access = StaffAccess::new(vec![RoleAssignment::new(Role::Admin, None, None).unwrap()]);
        assert!(access.may_read_office(OfficeId::new()));
        assert!(access.may_manage_organisation());
    }
    #[test]
    fn a_queue_is_served_by_its_department_s_specialists_and_a_kiosk_run_by_its_branch() {
        let shimin = DepartmentId::new();
        let zeimu = DepartmentId::new();
        let kita = OfficeId::new();
        let minami = OfficeId::new();
        let specialist = StaffAccess::new(vec![
            RoleAssignment::new(Role::HqStaff, None, Some(shimin)).unwrap(),
        ]);
        assert!(specialist.may_serve_queue(shimin));
        assert!(!specialist.may_serve_queue(zeimu));
        assert!(!specialist.may_run_kiosk(kita));
        let branch = StaffAccess::new(vec![
            RoleAssignment::new(Role::BranchStaff, Some(kita), None).unwrap(),
        ]);
        assert!(branch.may_run_kiosk(kita));
        assert!(!branch.may_run_kiosk(minami));
        assert!(!branch.may_serve_queue(shimin));
        let finance = StaffAccess::new(vec![
            RoleAssignment::new(Role::Finance, None, None).unwrap(),
        ]);
        assert!(!finance.may_serve_queue(shimin) && !finance.may_run_kiosk(kita));
        let admin = StaffAccess::new(vec![RoleAssignment::new(Role::Admin, None, None).unwrap()]);
        assert!(admin.may_serve_queue(zeimu) && admin.may_run_kiosk(minami));
    }
}
