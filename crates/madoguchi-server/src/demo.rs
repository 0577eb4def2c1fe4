//! The demo city of PRODUCT.md, seeded on the first `madoguchi serve` and by `seed-demo`:
//! headquarters with its 総合窓口, two branches and a sub-office, three 公民館, the city hospital
//! and the clean centre; the departments that take fees; one staff account per role; the
//! standard revenue categories and a counter's day of payments with a refund awaiting approval;
//! services with slots, two of them paid when booking (がん検診 500 yen with exemptions, 人間ドック
//! 20,000 yen online only).

use madoguchi_auth::PasswordHasher;
use madoguchi_auth::one_time::new_token;
use madoguchi_booking::{ServiceRules, WeeklyPattern, slots_for_range};
use madoguchi_calendar::MunicipalCalendar;
use madoguchi_domain::{
    AccountKind, DisplayName, Email, Lang, OfficeId, OfficeKind, OrgCode, Role, RoleAssignment,
    TenantSlug,
};
use madoguchi_payments::RevenueCategory;
use madoguchi_storage::{
    NewAccount, NewDepartment, NewOffice, NewService, NewSlot, NewTenant, PasswordHash,
    ServiceKind, Storage, StorageError, now_utc,
};
use time::{Date, Time, Weekday};

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
    // The revenue categories a new city starts with, so fees (a checkup's) can be assessed.
    for category in madoguchi_payments::RevenueCategory::standard() {
        storage.save_revenue_category(tenant.id, &category).await?;
    }
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
    add_missing_revenue_categories(storage, tenant.id).await?;
    // The demo city takes fees online and runs remote counters, so its residents see both cards.
    for capability in [
        madoguchi_domain::Capability::Payments,
        madoguchi_domain::Capability::RemoteCounter,
    ] {
        storage
            .switch_capability(tenant.id, capability, true, now_utc())
            .await?;
    }
    Ok(logins)
}

/// The standard revenue categories (歳入科目) a city starts with, added where missing: one an
/// administrator renamed keeps its name.
async fn add_missing_revenue_categories(
    storage: &dyn Storage,
    tenant: madoguchi_domain::TenantId,
) -> Result<(), StorageError> {
    let known = storage.revenue_categories(tenant).await?;
    for category in RevenueCategory::standard() {
        if !known.iter().any(|k| k.code == category.code) {
            storage.save_revenue_category(tenant, &category).await?;
        }
    }
    Ok(())
}

/// A demo receivable: office code, category, description, payer, yen, and how it was paid at
/// the counter (`None`: still owed).
type DemoReceivable = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<(&'static str, Option<&'static str>)>,
);

/// The counter's demo day: a few certificate fees taken at 本庁舎 and 北支所 in cash, by card,
/// e-money and QR; a copy fee and a resident tax still owed (the tax shows the cashless
/// terminal refused); and one refund the HQ clerk requested, waiting in finance's queue. Taken
/// through the use cases, so each is audited and posted like a real one. A no-op when the city
/// has any receivable. Returns how many receivables were assessed.
pub async fn seed_demo_counter_day(storage: &dyn Storage) -> Result<u64, StorageError> {
    use madoguchi_usecases::payments::{counter, receivables, refunds};
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    add_missing_revenue_categories(storage, tenant.id).await?;
    let any = madoguchi_storage::ReceivableFilter {
        limit: 1,
        ..madoguchi_storage::ReceivableFilter::default()
    };
    if !storage.list_receivables(tenant.id, &any).await?.is_empty() {
        return Ok(0);
    }
    let clerk_email = Email::parse("hq@madoguchi-city.example")
        .map_err(|e| StorageError::Other(e.to_string()))?;
    let clerk = storage
        .account_by_email(tenant.id, AccountKind::Staff, &clerk_email)
        .await?;
    let access =
        madoguchi_domain::account::StaffAccess::new(storage.roles(tenant.id, clerk.id).await?);
    let scope = madoguchi_usecases::Scope::new(
        tenant.id,
        madoguchi_usecases::Actor::Staff(clerk.id),
        std::sync::Arc::new(madoguchi_storage::SystemClock),
    );
    let offices = storage.list_offices(tenant.id).await?;
    let demo: [DemoReceivable; 7] = [
        (
            "honcho",
            "certificate_fee",
            "住民票の写し 2通",
            "窓口 一郎",
            600,
            Some(("cash", None)),
        ),
        (
            "honcho",
            "certificate_fee",
            "印鑑登録証明書 1通",
            "窓口 花子",
            300,
            Some(("visa", Some("A1234567"))),
        ),
        (
            "honcho",
            "certificate_fee",
            "戸籍謄本 1通",
            "出張 次郎",
            450,
            Some(("paypay", Some("P7654321"))),
        ),
        (
            "kita-shisho",
            "certificate_fee",
            "所得課税証明書 1通",
            "北町 三郎",
            300,
            Some(("id", Some("E0042"))),
        ),
        (
            "honcho",
            "copy_fee",
            "道路台帳の写し（コピー 10枚）",
            "建設 四郎",
            100,
            None,
        ),
        (
            "honcho",
            "resident_tax",
            "市県民税 第1期",
            "納税 五子",
            12_300,
            None,
        ),
        (
            "honcho",
            "certificate_fee",
            "住民票の写し 1通",
            "窓口 花子",
            300,
            Some(("cash", None)),
        ),
    ];
    let mut assessed = 0;
    let mut card_payment = None;
    for (office, category, description, payer, yen, paid) in demo {
        let input = receivables::AssessInput {
            category: category.to_owned(),
            description: description.to_owned(),
            payer_name: payer.to_owned(),
            office: offices
                .iter()
                .find(|o| o.code.as_str() == office)
                .map(|o| o.id),
            amount_yen: yen.to_string(),
            ..receivables::AssessInput::default()
        };
        let demo_error = |e: madoguchi_usecases::UseCaseError| {
            StorageError::Other(format!("demo payment {description}: {e}"))
        };
        let receivable = receivables::assess(storage, &scope, Some(&access), &input)
            .await
            .map_err(demo_error)?;
        assessed += 1;
        if let Some((method, slip)) = paid {
            let form = counter::CounterForm {
                methods: vec![method.to_owned()],
                slip_number: slip.map(str::to_owned),
                ..counter::CounterForm::default()
            };
            let payment = counter::take(storage, &scope, &access, receivable.id, &form)
                .await
                .map_err(demo_error)?;
            if method == "visa" {
                card_payment = Some(payment.id);
            }
        }
    }
    if let Some(payment) = card_payment {
        refunds::request(
            storage,
            &scope,
            &access,
            payment,
            None,
            "同じ証明書を二重に申請されたため（1通分を返金）",
        )
        .await
        .map_err(|e| StorageError::Other(format!("demo refund: {e}")))?;
    }
    Ok(assessed)
}

/// A demo service: code, kind, names, department, the offices it is held at (each gets the
/// weekly openings), rules, weekly openings.
struct DemoService {
    code: &'static str,
    kind: ServiceKind,
    name_ja: &'static str,
    name_en: &'static str,
    department: &'static str,
    offices: &'static [&'static str],
    rules: serde_json::Value,
    patterns: Vec<WeeklyPattern>,
}

fn opening(
    weekday: Weekday,
    start: (u8, u8),
    end: (u8, u8),
    slot_minutes: u16,
    buffer_minutes: u16,
    capacity: u16,
) -> WeeklyPattern {
    WeeklyPattern {
        weekday,
        start: Time::from_hms(start.0, start.1, 0).unwrap_or(Time::MIDNIGHT),
        end: Time::from_hms(end.0, end.1, 0).unwrap_or(Time::MIDNIGHT),
        slot_minutes,
        buffer_minutes,
        capacity,
    }
}

fn demo_services() -> Vec<DemoService> {
    let window = |days: u16| serde_json::json!({"opens_days_before": days, "opens_at_local": "09:00", "closes_hours_before": 24});
    vec![
        DemoService {
            code: "gan-kenshin",
            kind: ServiceKind::Checkup,
            name_ja: "がん検診（集団検診）",
            name_en: "Cancer screening (group session)",
            department: "kenko-suishin",
            offices: &["shimin-byoin"],
            rules: serde_json::json!({
                "window": window(60),
                "cancellation": {"deadline_hours_before": 48},
                "limit": {"max": 1, "period": {"kind": "fiscal_year"}},
                "eligibility": {"age_min": 40, "age_reference": "fiscal_year_end", "residents_only": true},
                // 500 yen, online or at the counter; free from 70 (at the end of the fiscal
                // year, as the age rule counts) and for households on public assistance.
                "fee": {
                    "amount_yen": 500, "revenue_category": "checkup_fee", "counter_allowed": true,
                    "exemptions": [
                        {"code": "age70", "label_ja": "70歳以上の方（年度末時点）", "label_en": "Aged 70 or over (at the end of the fiscal year)",
                         "rule": {"type": "age_at_least", "years": 70, "reference": "fiscal_year_end"}},
                        {"code": "welfare", "label_ja": "生活保護を受けている方", "label_en": "Receiving public assistance (seikatsu hogo)",
                         "rule": {"type": "self_declared"}}
                    ]
                },
                "questions": [
                    {"id": "previous_year", "label_ja": "昨年度の受診の有無", "label_en": "Screened last fiscal year?", "required": true, "kind": {"type": "yes_no"}},
                    {"id": "course", "label_ja": "受診するコース", "label_en": "Course", "required": true, "kind": {"type": "choice", "options": [
                        {"id": "full", "label_ja": "胃・肺・大腸がん検診", "label_en": "Stomach, lung and colon"},
                        {"id": "lung_colon", "label_ja": "肺・大腸がん検診のみ", "label_en": "Lung and colon only"},
                        {"id": "colon", "label_ja": "大腸がん検診のみ", "label_en": "Colon only"}]}},
                    {"id": "last_screening", "label_ja": "前回の受診日（わかる方のみ）", "label_en": "Date of your last screening (if you know it)", "kind": {"type": "date", "min": "2000-01-01"}}
                ]
            }),
            patterns: vec![
                opening(Weekday::Tuesday, (9, 0), (11, 0), 120, 0, 30),
                opening(Weekday::Thursday, (13, 0), (15, 0), 120, 0, 30),
            ],
        },
        // A full-day health check at the city hospital, paid online when booking (20,000
        // yen): the seat is held 15 minutes for the payment. A seat given up goes to the
        // waiting list as an offer, taken by paying within a day.
        DemoService {
            code: "ningen-dock",
            kind: ServiceKind::Checkup,
            name_ja: "人間ドック（市民病院）",
            name_en: "Comprehensive health check (City Hospital)",
            department: "kenko-suishin",
            offices: &["shimin-byoin"],
            rules: serde_json::json!({
                "window": window(90),
                "cancellation": {"deadline_hours_before": 72},
                "limit": {"max": 1, "period": {"kind": "fiscal_year"}},
                "eligibility": {"age_min": 35, "age_reference": "fiscal_year_end", "residents_only": true},
                "hold_minutes": 15,
                "waitlist": {"mode": "offer", "respond_hours": 24},
                "fee": {"amount_yen": 20000, "revenue_category": "checkup_fee", "counter_allowed": false},
                "questions": [
                    {"id": "fasting", "label_ja": "当日の朝食を抜けますか", "label_en": "Can you skip breakfast on the day?", "required": true, "kind": {"type": "yes_no"}}
                ]
            }),
            patterns: vec![
                opening(Weekday::Monday, (8, 30), (12, 0), 210, 0, 2),
                opening(Weekday::Wednesday, (8, 30), (12, 0), 210, 0, 2),
                opening(Weekday::Friday, (8, 30), (12, 0), 210, 0, 2),
            ],
        },
        DemoService {
            code: "kosodate-soudan",
            kind: ServiceKind::Consultation,
            name_ja: "子育て相談",
            name_en: "Child-raising consultation",
            department: "kosodate",
            offices: &["honcho"],
            rules: serde_json::json!({"window": window(30), "cancellation": {"deadline_hours_before": 24},
            "questions": [
                {"id": "child_age", "label_ja": "お子さんの年齢", "label_en": "Your child's age", "required": true, "kind": {"type": "choice", "options": [
                    {"id": "baby", "label_ja": "0歳", "label_en": "Under 1"},
                    {"id": "toddler", "label_ja": "1〜5歳", "label_en": "1 to 5"},
                    {"id": "school", "label_ja": "小学生", "label_en": "Primary school"}]}},
                {"id": "topic", "label_ja": "ご相談の内容", "label_en": "What you would like to talk about", "kind": {"type": "text", "max_chars": 400}}
            ]}),
            patterns: vec![
                opening(Weekday::Monday, (9, 30), (12, 0), 30, 10, 1),
                opening(Weekday::Wednesday, (13, 30), (16, 0), 30, 10, 1),
            ],
        },
        DemoService {
            code: "zeimu-soudan",
            kind: ServiceKind::Consultation,
            name_ja: "税務相談",
            name_en: "Tax consultation",
            department: "zeimu",
            offices: &["honcho"],
            rules: serde_json::json!({"window": window(30), "cancellation": {"deadline_hours_before": 24}}),
            patterns: vec![opening(Weekday::Friday, (9, 0), (12, 0), 45, 15, 1)],
        },
        DemoService {
            code: "iju-soudan",
            kind: ServiceKind::RemoteConsultation,
            name_ja: "移住相談（オンライン）",
            name_en: "Relocation consultation (online)",
            department: "dx",
            offices: &["honcho"],
            rules: serde_json::json!({"window": window(45), "cancellation": {"deadline_hours_before": 24}}),
            patterns: vec![opening(Weekday::Thursday, (18, 0), (20, 0), 50, 10, 1)],
        },
        DemoService {
            code: "rinyushoku-koshukai",
            kind: ServiceKind::Lecture,
            name_ja: "離乳食講習会",
            name_en: "Weaning-food class",
            department: "kosodate",
            offices: &["chuo-kominkan"],
            rules: serde_json::json!({"window": window(45), "cancellation": {"deadline_hours_before": 72}, "hold_minutes": 30,
            "questions": [
                {"id": "children", "label_ja": "一緒に参加するお子さんの人数", "label_en": "Children coming with you", "required": true, "kind": {"type": "number", "min": 0, "max": 3}},
                {"id": "baby_months", "label_ja": "お子さんの月齢（か月）", "label_en": "Your baby's age in months", "kind": {"type": "number", "min": 0, "max": 24}}
            ]}),
            patterns: vec![opening(Weekday::Saturday, (10, 0), (12, 0), 120, 0, 20)],
        },
        DemoService {
            code: "mynumber-koufu",
            kind: ServiceKind::Consultation,
            name_ja: "マイナンバーカード交付予約",
            name_en: "My Number Card pick-up",
            department: "sogo-madoguchi",
            offices: &["honcho"],
            rules: serde_json::json!({"window": window(30), "cancellation": {"deadline_hours_before": 2}}),
            patterns: vec![
                opening(Weekday::Monday, (9, 0), (16, 30), 15, 0, 2),
                opening(Weekday::Tuesday, (9, 0), (16, 30), 15, 0, 2),
                opening(Weekday::Wednesday, (9, 0), (16, 30), 15, 0, 2),
                opening(Weekday::Thursday, (9, 0), (16, 30), 15, 0, 2),
                opening(Weekday::Friday, (9, 0), (16, 30), 15, 0, 2),
            ],
        },
        // The branches' own counters: a consultation held at 北支所 and 東出張所, so their
        // staff have bookings of their own.
        DemoService {
            code: "nayami-soudan",
            kind: ServiceKind::Consultation,
            name_ja: "なやみごと相談（支所・出張所）",
            name_en: "Everyday worries consultation (branch offices)",
            department: "sogo-madoguchi",
            offices: &["kita-shisho", "higashi-shutchojo"],
            rules: serde_json::json!({"window": window(30), "cancellation": {"deadline_hours_before": 24}}),
            patterns: vec![
                opening(Weekday::Tuesday, (10, 0), (12, 0), 30, 0, 1),
                opening(Weekday::Thursday, (13, 30), (15, 30), 30, 0, 1),
            ],
        },
        // Remote consultations booked at a branch: the resident sits at the 北支所 or
        // 東出張所 kiosk (or at home) and talks to a specialist at headquarters.
        DemoService {
            code: "shisho-remote-soudan",
            kind: ServiceKind::RemoteConsultation,
            name_ja: "リモート相談（介護・子育て・税の担当課と）",
            name_en: "Remote consultation with City Hall (care, child-raising, tax)",
            department: "kaigo",
            offices: &["kita-shisho", "higashi-shutchojo"],
            rules: serde_json::json!({"window": window(30), "cancellation": {"deadline_hours_before": 24}}),
            patterns: vec![
                opening(Weekday::Monday, (13, 0), (16, 0), 30, 10, 1),
                opening(Weekday::Wednesday, (9, 30), (12, 0), 30, 10, 1),
            ],
        },
        // A lecture of the 公民館's own (社会教育課), beside the weaning-food class there.
        DemoService {
            code: "kominkan-koza",
            kind: ServiceKind::Lecture,
            name_ja: "公民館講座「まちの歴史を歩く」",
            name_en: "Community centre lecture: walking the town's history",
            department: "shakai-kyoiku",
            offices: &["chuo-kominkan"],
            rules: serde_json::json!({"window": window(45), "cancellation": {"deadline_hours_before": 48}}),
            patterns: vec![opening(Weekday::Wednesday, (14, 0), (16, 0), 120, 0, 30)],
        },
    ]
}

/// Seeds the demo city's services with slots for `days` days from `today` (Tokyo), skipping the
/// days the municipal calendar closes (weekends unless a pattern says otherwise, holidays, the
/// year-end closure). A no-op when the services exist. Returns how many slots were added.
pub async fn seed_demo_services(
    storage: &dyn Storage,
    today: Date,
    days: i64,
) -> Result<u64, StorageError> {
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    if !storage.list_services(tenant.id).await?.is_empty() {
        return Ok(0);
    }
    let offices = storage.list_offices(tenant.id).await?;
    let departments = storage.list_departments(tenant.id).await?;
    let calendar = MunicipalCalendar::builder()
        .build()
        .map_err(|e| StorageError::Other(e.to_string()))?;
    let until = today + time::Duration::days(days);
    let mut added = 0;
    for demo in demo_services() {
        let held_at: Vec<OfficeId> = demo
            .offices
            .iter()
            .filter_map(|code| offices.iter().find(|o| o.code.as_str() == *code))
            .map(|o| o.id)
            .collect();
        let Ok(code) = OrgCode::parse(demo.code) else {
            continue;
        };
        if held_at.is_empty() {
            continue;
        }
        // Written as JSON above to read like what an administrator posts; a typo there is a
        // bug of this file, reported rather than skipped.
        let rules: ServiceRules = serde_json::from_value(demo.rules)
            .map_err(|e| StorageError::Other(format!("demo rules of {}: {e}", demo.code)))?;
        let service = storage
            .create_service(
                tenant.id,
                &NewService {
                    code,
                    kind: demo.kind,
                    name_ja: demo.name_ja.into(),
                    name_en: demo.name_en.into(),
                    department_id: departments
                        .iter()
                        .find(|d| d.code.as_str() == demo.department)
                        .map(|d| d.id),
                    rules,
                },
            )
            .await?;
        // Saturday lectures at a 公民館 are held on Saturdays: only holidays and the year-end
        // closure close them; other services follow the offices' weekday calendar.
        let weekend_service = demo
            .patterns
            .iter()
            .any(|p| matches!(p.weekday, Weekday::Saturday | Weekday::Sunday));
        for office in held_at {
            let is_open = |date: Date| {
                if weekend_service {
                    calendar.holiday(date).ok().flatten().is_none()
                        && !calendar
                            .year_end_closure()
                            .is_some_and(|c| c.contains(date))
                } else {
                    calendar.is_open(office, date).unwrap_or(false)
                }
            };
            let slots: Vec<NewSlot> = slots_for_range(&demo.patterns, today, until, is_open)
                .into_iter()
                .map(|s| NewSlot {
                    office_id: office,
                    starts_at: s.start,
                    ends_at: s.end,
                    capacity: i64::from(s.capacity),
                })
                .collect();
            added += storage.add_slots(tenant.id, service.id, &slots).await?;
        }
    }
    Ok(added)
}

/// The demo resident's address: a resident with fees to pay, so the payment pages can be tried
/// at once.
pub const DEMO_RESIDENT_EMAIL: &str = "resident@madoguchi-city.example";

/// The demo resident's sign-in, with its one-time generated password.
#[derive(Clone)]
pub struct DemoResident {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for DemoResident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoResident").finish_non_exhaustive()
    }
}

/// What [`seed_demo_payments`] made.
#[derive(Clone, Debug, Default)]
pub struct DemoPayments {
    /// The resident's sign-in when it was created now (`None`: it existed).
    pub resident: Option<DemoResident>,
    pub receivables_added: usize,
}

/// A fee the demo resident owes: its source id (what makes seeding idempotent), revenue
/// category, description, amount in yen and the office that assessed it.
const DEMO_RECEIVABLES: [(&str, &str, &str, i64, &str); 2] = [
    (
        "juminhyo-fee",
        "certificate_fee",
        "住民票の写し（1通）",
        300,
        "honcho",
    ),
    (
        "dog-registration-fee",
        "dog_registration_fee",
        "犬の登録（1頭）",
        3_000,
        "honcho",
    ),
];

/// Seeds payments for the demo city: the standard revenue categories, a demo resident (created
/// once, with a fresh random password) and the fees that resident owes (a 住民票の写し fee of
/// 300 円 and a 犬登録手数料 of 3,000 円, both open). Idempotent: categories are saved again
/// as they are, and a fee already assessed for the resident is left as it is, paid or not.
pub async fn seed_demo_payments(
    storage: &dyn Storage,
    hasher: &PasswordHasher,
) -> Result<DemoPayments, StorageError> {
    let invalid = |e: &dyn std::fmt::Display| StorageError::Other(e.to_string());
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    for category in madoguchi_payments::RevenueCategory::standard() {
        storage.save_revenue_category(tenant.id, &category).await?;
    }
    let email = Email::parse(DEMO_RESIDENT_EMAIL).map_err(|e| invalid(&e))?;
    let mut made = DemoPayments::default();
    let resident = match storage
        .account_by_email(tenant.id, AccountKind::Resident, &email)
        .await
    {
        Ok(account) => account,
        Err(StorageError::NotFound) => {
            // A fresh random password per installation, like the staff's.
            let password = new_token()[..20].to_owned();
            let hash = hasher.hash(&password).map_err(|e| invalid(&e))?;
            let account = storage
                .create_account(
                    tenant.id,
                    &NewAccount {
                        kind: AccountKind::Resident,
                        email,
                        display_name: DisplayName::parse("窓口 花子").map_err(|e| invalid(&e))?,
                        password_hash: PasswordHash(hash),
                        locale: Lang::Ja,
                        email_verified_at: Some(now_utc()),
                        roles: Vec::new(),
                    },
                )
                .await?;
            made.resident = Some(DemoResident {
                email: DEMO_RESIDENT_EMAIL.to_owned(),
                password,
            });
            account
        }
        Err(other) => return Err(other),
    };
    let offices = storage.list_offices(tenant.id).await?;
    let scope = madoguchi_usecases::Scope::new(
        tenant.id,
        madoguchi_usecases::Actor::System,
        std::sync::Arc::new(madoguchi_storage::SystemClock),
    );
    for (source, category, description, amount_yen, office) in DEMO_RECEIVABLES {
        match storage
            .receivable_by_source(tenant.id, "demo", source)
            .await
        {
            Ok(_) => continue,
            Err(StorageError::NotFound) => {}
            Err(other) => return Err(other),
        }
        let input = madoguchi_usecases::payments::receivables::AssessInput {
            category: category.to_owned(),
            description: description.to_owned(),
            payer_name: resident.display_name.as_str().to_owned(),
            payer_account: Some(resident.id),
            office: offices
                .iter()
                .find(|o| o.code.as_str() == office)
                .map(|o| o.id),
            amount_yen: amount_yen.to_string(),
            due_on: None,
            source: Some(("demo".to_owned(), source.to_owned())),
        };
        madoguchi_usecases::payments::receivables::assess(storage, &scope, None, &input)
            .await
            .map_err(|e| StorageError::Other(format!("demo receivable {source}: {}", e.code)))?;
        made.receivables_added += 1;
    }
    Ok(made)
}

/// The remote counter's demo queues: the 総合窓口 (`A`) and 子育て支援課 (`B`), added where the
/// department has none. Returns how many were added.
pub async fn seed_demo_counter_queues(storage: &dyn Storage) -> Result<u64, StorageError> {
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    let departments = storage.list_departments(tenant.id).await?;
    let existing = storage.list_queues(tenant.id).await?;
    let wanted = [
        (
            "sogo-madoguchi",
            'A',
            "市民課 リモート相談",
            "Citizens Division remote consultations",
        ),
        (
            "kosodate",
            'B',
            "子育て支援課 リモート相談",
            "Child-rearing Support remote consultations",
        ),
    ];
    let mut added = 0;
    for (code, letter, name_ja, name_en) in wanted {
        let Some(department) = departments.iter().find(|d| d.code.as_str() == code) else {
            continue;
        };
        let Some(prefix) = madoguchi_counter::QueuePrefix::new(letter) else {
            continue;
        };
        if existing
            .iter()
            .any(|q| q.department == department.id || q.prefix == prefix)
        {
            continue;
        }
        let now = now_utc();
        storage
            .create_queue(
                tenant.id,
                &madoguchi_storage::NewCounterQueue {
                    department: department.id,
                    prefix,
                    name_ja: name_ja.to_owned(),
                    name_en: name_en.to_owned(),
                },
                now,
                &madoguchi_storage::NewAuditEntry {
                    at: now,
                    actor_kind: madoguchi_storage::ActorKind::System,
                    actor_id: None,
                    action: "counter.queue_created".to_owned(),
                    target: None,
                    details: serde_json::json!({"prefix": letter.to_string(), "department": department.id}),
                },
            )
            .await?;
        added += 1;
    }
    Ok(added)
}

/// The demo city's company code for convenience-store slips (a made-up one).
pub const DEMO_KONBINI_COMPANY_CODE: &str = "912345";

/// The households of the demo water cycle: name and the month's 上下水道料金 in yen.
const DEMO_WATER_BILLS: [(&str, i64); 12] = [
    ("青木 健一", 3_980),
    ("石井 美咲", 5_214),
    ("上田 翔太", 2_860),
    ("遠藤 さくら", 7_392),
    ("小野 大輔", 4_125),
    ("加藤 由美", 6_050),
    ("木村 拓也", 3_311),
    ("工藤 真由美", 8_764),
    ("小林 陽介", 2_497),
    ("斎藤 恵", 5_808),
    ("清水 亮", 4_640),
    ("高橋 千尋", 9_120),
];

/// A day's payment data from the agency, uploaded and previewed but not applied, so finance
/// sees the import page with a file waiting: 速報 lines for three of the cycle's slips (one of
/// them paid short) and one for a barcode the city never issued.
async fn seed_demo_payment_data(
    storage: &dyn Storage,
    scope: &madoguchi_usecases::Scope,
    slips: &[madoguchi_storage::IssuedSlip],
    today: Date,
) -> Result<(), StorageError> {
    use madoguchi_konbini::dsk::{self, Chain, PaymentRecord, RecordKind};
    let invalid =
        |e: &dyn std::fmt::Display| StorageError::Other(format!("demo payment data: {e}"));
    let company = madoguchi_konbini::CompanyCode::parse(DEMO_KONBINI_COMPANY_CODE)
        .map_err(|e| invalid(&e))?;
    let never_issued = madoguchi_konbini::SlipBarcode::issue(
        company,
        madoguchi_konbini::Reference::from_number(999_999_999),
        0,
        today,
        1_500,
    )
    .map_err(|e| invalid(&e))?;
    let paid = slips.iter().take(3).enumerate().map(|(n, slip)| {
        let short = if n == 2 { 100 } else { 0 };
        (
            slip.barcode,
            u32::try_from(slip.amount_yen - short).unwrap_or(0),
        )
    });
    let mut file = dsk::encode_header();
    for (n, (barcode, amount_yen)) in paid.chain([(never_issued, 1_500)]).enumerate() {
        let (chain, chain_name) = [
            ("010", "セブン－イレブン"),
            ("020", "ローソン"),
            ("820", "PayPay"),
        ][n % 3];
        file.extend(dsk::encode_line(&PaymentRecord {
            kind: RecordKind::Sokuho,
            paid_on: today,
            paid_at: time::Time::from_hms(9 + u8::try_from(n).unwrap_or(0), 15, 0)
                .map_err(|e| invalid(&e))?,
            barcode,
            user_field_1: String::new(),
            user_field_2: String::new(),
            stamp: madoguchi_konbini::StampFlag::None,
            amount_yen,
            chain: Chain::parse(chain).ok_or_else(|| invalid(&"chain"))?,
            chain_name: chain_name.to_owned(),
            store_code: format!("{:06}", 4_211 + n),
            transfer_on: None,
            created_on: today,
        }));
    }
    let name = format!(
        "DSK_sokuho_{:04}{:02}{:02}.csv",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    madoguchi_usecases::slip_uploads::upload(storage, scope, None, &name, file)
        .await
        .map_err(|e| match e {
            madoguchi_usecases::slip_imports::ImportError::File(problem) => invalid(&problem.code),
            madoguchi_usecases::slip_imports::ImportError::Refused(error) => {
                invalid(&error.code.as_str())
            }
        })?;
    Ok(())
}

/// The demo city's water cycle (水道料金) with its convenience-store slips: the city's slip
/// settings when absent, a water bill for each of twelve households due at the end of the month
/// after `today`, and the cycle's batch of slips. Returns how many slips it issued (0 when
/// seeded before).
pub async fn seed_demo_slips(storage: &dyn Storage, today: Date) -> Result<usize, StorageError> {
    let invalid = |e: &dyn std::fmt::Display| StorageError::Other(e.to_string());
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    for category in RevenueCategory::standard() {
        storage.save_revenue_category(tenant.id, &category).await?;
    }
    let scope = madoguchi_usecases::Scope::new(
        tenant.id,
        madoguchi_usecases::Actor::System,
        std::sync::Arc::new(madoguchi_storage::SystemClock),
    );
    if storage.konbini_settings(tenant.id).await?.is_none() {
        madoguchi_usecases::slips::configure(
            storage,
            &scope,
            None,
            DEMO_KONBINI_COMPANY_CODE,
            "dsk",
        )
        .await
        .map_err(|e| invalid(&e.code.as_str()))?;
    }
    let next_month = today
        .replace_day(1)
        .ok()
        .and_then(|first| first.checked_add(time::Duration::days(32)))
        .ok_or_else(|| StorageError::Other("demo water cycle past the calendar".into()))?;
    let due_on = next_month
        .replace_day(next_month.month().length(next_month.year()))
        .map_err(|e| invalid(&e))?;
    let cycle = format!("{:04}-{:02}", due_on.year(), u8::from(due_on.month()));
    let billed_month = u8::from(today.month());
    for (index, (name, amount_yen)) in DEMO_WATER_BILLS.iter().enumerate() {
        let source = format!("{cycle}-{:02}", index + 1);
        match storage
            .receivable_by_source(tenant.id, "demo_water", &source)
            .await
        {
            Ok(_) => continue,
            Err(StorageError::NotFound) => {}
            Err(other) => return Err(other),
        }
        let input = madoguchi_usecases::payments::receivables::AssessInput {
            category: "water_charge".to_owned(),
            description: format!("{billed_month}月分 上下水道料金"),
            payer_name: (*name).to_owned(),
            payer_account: None,
            office: None,
            amount_yen: amount_yen.to_string(),
            due_on: Some(due_on),
            source: Some(("demo_water".to_owned(), source.clone())),
        };
        madoguchi_usecases::payments::receivables::assess(storage, &scope, None, &input)
            .await
            .map_err(|e| StorageError::Other(format!("demo water bill {source}: {}", e.code)))?;
    }
    match madoguchi_usecases::slips::issue_cycle(storage, &scope, None, "water_charge", &cycle)
        .await
    {
        Ok(issued) => {
            seed_demo_payment_data(storage, &scope, &issued.slips, today).await?;
            Ok(issued.slips.len())
        }
        Err(e) if e.code == madoguchi_domain::ErrorCode::SlipNothingToIssue => Ok(0),
        Err(e) => Err(StorageError::Other(format!("demo slips: {}", e.code))),
    }
}
