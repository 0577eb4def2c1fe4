//! The demo city of PRODUCT.md, seeded on the first `madoguchi serve` and by `seed-demo`:
//! headquarters with its 総合窓口, two branches and a sub-office, three 公民館, the city hospital
//! and the clean centre; the departments that take fees; one staff account per role.

use madoguchi_auth::PasswordHasher;
use madoguchi_auth::one_time::new_token;
use madoguchi_domain::{
    AccountKind, DisplayName, Email, Lang, OfficeKind, OrgCode, Role, RoleAssignment, TenantSlug,
};
use madoguchi_storage::{
    NewAccount, NewDepartment, NewOffice, NewTenant, PasswordHash, Storage, StorageError, now_utc,
};

pub const DEMO_TENANT_SLUG: &str = "madoguchi-city";

/// A staff account created by the seed, with its one-time generated password.
#[derive(Clone)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub role: Role,
}

impl std::fmt::Debug for DemoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoLogin")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

const OFFICES: &[(&str, OfficeKind, &str, &str)] = &[
    (
        "honcho",
        OfficeKind::Headquarters,
        "本庁舎",
        "City Hall (Headquarters)",
    ),
    (
        "kita-shisho",
        OfficeKind::Branch,
        "北支所",
        "North Branch Office",
    ),
    (
        "minami-shisho",
        OfficeKind::Branch,
        "南支所",
        "South Branch Office",
    ),
    (
        "higashi-shutchojo",
        OfficeKind::SubOffice,
        "東出張所",
        "East Sub-office",
    ),
    (
        "chuo-kominkan",
        OfficeKind::CommunityCentre,
        "中央公民館",
        "Central Community Centre",
    ),
    (
        "kita-kominkan",
        OfficeKind::CommunityCentre,
        "北町公民館",
        "Kitamachi Community Centre",
    ),
    (
        "minami-kominkan",
        OfficeKind::CommunityCentre,
        "南町公民館",
        "Minamimachi Community Centre",
    ),
    (
        "shimin-byoin",
        OfficeKind::Hospital,
        "市民病院",
        "City Hospital",
    ),
    (
        "clean-center",
        OfficeKind::Facility,
        "クリーンセンター",
        "Clean Centre",
    ),
];

/// Departments and the office they sit in.
const DEPARTMENTS: &[(&str, &str, &str, &str)] = &[
    (
        "sogo-madoguchi",
        "市民課（総合窓口）",
        "Citizens Division (One-stop Counter)",
        "honcho",
    ),
    (
        "seikatsu-kankyo",
        "生活環境課",
        "Living Environment Division",
        "honcho",
    ),
    ("kensetsu", "建設課", "Construction Division", "honcho"),
    (
        "shakai-kyoiku",
        "社会教育課",
        "Social Education Division",
        "chuo-kominkan",
    ),
    (
        "kenko-suishin",
        "健康推進課",
        "Health Promotion Division",
        "honcho",
    ),
    (
        "kosodate",
        "子育て支援課",
        "Child Support Division",
        "honcho",
    ),
    ("kaigo", "介護保険課", "Long-term Care Division", "honcho"),
    ("zeimu", "税務課", "Taxation Division", "honcho"),
    ("kaikei", "会計課", "Accounting Division", "honcho"),
    (
        "dx",
        "DX推進課",
        "Digital Transformation Division",
        "honcho",
    ),
    (
        "suido",
        "上下水道課",
        "Water and Sewerage Division",
        "honcho",
    ),
];

/// A demo staff member: address local part, name, role, office code, department code.
type DemoStaff = (
    &'static str,
    &'static str,
    Role,
    Option<&'static str>,
    Option<&'static str>,
);

/// Seeds the demo city unless it exists. Returns the staff logins created (empty if it existed).
pub async fn seed_demo(
    storage: &dyn Storage,
    hasher: &PasswordHasher,
) -> Result<Vec<DemoLogin>, StorageError> {
    match storage.tenant_by_slug(DEMO_TENANT_SLUG).await {
        Ok(_) => return Ok(Vec::new()),
        Err(StorageError::NotFound) => {}
        Err(other) => return Err(other),
    }
    let slug =
        TenantSlug::parse(DEMO_TENANT_SLUG).map_err(|e| StorageError::Other(e.to_string()))?;
    let tenant = storage
        .create_tenant(&NewTenant {
            slug,
            name_ja: "まどぐち市".into(),
            name_en: "Madoguchi City".into(),
            host: None,
        })
        .await?;
    let mut offices = Vec::new();
    for (code, kind, name_ja, name_en) in OFFICES {
        let code = OrgCode::parse(code).map_err(|e| StorageError::Other(e.to_string()))?;
        offices.push(
            storage
                .create_office(
                    tenant.id,
                    &NewOffice {
                        code,
                        kind: *kind,
                        name_ja: (*name_ja).into(),
                        name_en: (*name_en).into(),
                    },
                )
                .await?,
        );
    }
    let office_id = |code: &str| {
        offices
            .iter()
            .find(|o| o.code.as_str() == code)
            .map(|o| o.id)
    };
    let mut departments = Vec::new();
    for (code, name_ja, name_en, office) in DEPARTMENTS {
        let code = OrgCode::parse(code).map_err(|e| StorageError::Other(e.to_string()))?;
        departments.push(
            storage
                .create_department(
                    tenant.id,
                    &NewDepartment {
                        code,
                        name_ja: (*name_ja).into(),
                        name_en: (*name_en).into(),
                        office_id: office_id(office),
                    },
                )
                .await?,
        );
    }
    let department_id = |code: &str| {
        departments
            .iter()
            .find(|d| d.code.as_str() == code)
            .map(|d| d.id)
    };

    let staff: [DemoStaff; 5] = [
        ("admin", "デモ 管理者", Role::Admin, None, Some("dx")),
        (
            "hq",
            "デモ 本庁職員",
            Role::HqStaff,
            Some("honcho"),
            Some("sogo-madoguchi"),
        ),
        (
            "kita",
            "デモ 北支所職員",
            Role::BranchStaff,
            Some("kita-shisho"),
            None,
        ),
        (
            "kominkan",
            "デモ 公民館職員",
            Role::FacilityStaff,
            Some("chuo-kominkan"),
            Some("shakai-kyoiku"),
        ),
        (
            "finance",
            "デモ 会計課職員",
            Role::Finance,
            None,
            Some("kaikei"),
        ),
    ];
    let mut logins = Vec::new();
    for (local, name, role, office, department) in staff {
        let email = format!("{local}@madoguchi-city.example");
        // A fresh random password per installation: a demo must not ship a known password.
        let password = new_token()[..20].to_owned();
        let hash = hasher
            .hash(&password)
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let assignment = RoleAssignment::new(
            role,
            office.and_then(office_id),
            department.and_then(department_id),
        )
        .map_err(|e| StorageError::Other(e.to_string()))?;
        storage
            .create_account(
                tenant.id,
                &NewAccount {
                    kind: AccountKind::Staff,
                    email: Email::parse(&email).map_err(|e| StorageError::Other(e.to_string()))?,
                    display_name: DisplayName::parse(name)
                        .map_err(|e| StorageError::Other(e.to_string()))?,
                    password_hash: PasswordHash(hash),
                    locale: Lang::Ja,
                    email_verified_at: Some(now_utc()),
                    roles: vec![assignment],
                },
            )
            .await?;
        logins.push(DemoLogin {
            email,
            password,
            role,
        });
    }
    Ok(logins)
}
