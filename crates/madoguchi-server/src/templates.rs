//! Server-rendered pages and mail texts with minijinja. Templates live in `web/templates/` and are
//! embedded in the binary, so `madoguchi serve` runs from any directory.
//!
//! Architecture invariant: HTML is produced only here, by templates with auto-escaping on;
//! no handler concatenates markup.

use crate::http::error::AppError;
use axum::http::StatusCode;
use axum::response::Html;
use madoguchi_domain::{ErrorCode, Lang};
use minijinja::{Environment, Value, context};
use serde::Serialize;

macro_rules! embedded_templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../web/templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embedded_templates!(
    "base.html",
    "macros.html",
    "home.html",
    "error.html",
    "signup.html",
    "signup_sent.html",
    "verify_result.html",
    "signin.html",
    "account.html",
    "reset_request.html",
    "reset_sent.html",
    "reset_form.html",
    "reset_done.html",
    "admin/index.html",
    "admin/home.html",
    "staff/_menu.html",
    "payments/finance.html",
    "payments/sandbox_pay.html",
    "payments/pay.html",
    "payments/result.html",
    "payments/my_payments.html",
    "payments/_finance_nav.html",
    "payments/_qr.html",
    "payments/counter.html",
    "counter/queues.html",
    "counter/ticket.html",
    "counter/appointment.html",
    "counter/wall.html",
    "counter/console.html",
    "counter/call.html",
    "counter/device_check.html",
    "counter/kiosk.html",
    "counter/kiosk_ticket.html",
    "payments/counter_checkout.html",
    "payments/counter_taken.html",
    "payments/finance_receivable.html",
    "payments/finance_refunds.html",
    "payments/finance_ledger.html",
    "payments/finance_slips.html",
    "payments/finance_slip_batch.html",
    "payments/finance_slip_reissue.html",
    "payments/finance_slip_imports.html",
    "payments/finance_slip_upload.html",
    "admin/offices.html",
    "admin/office.html",
    "admin/departments.html",
    "admin/staff.html",
    "admin/audit.html",
    "admin/outbox.html",
    "admin/jobs.html",
    "admin/line.html",
    "line_link.html",
    "admin/calendar.html",
    "admin/calendar_import.html",
    "admin/calendar_office.html",
    "booking/services.html",
    "booking/month.html",
    "booking/day.html",
    "booking/form.html",
    "booking/_booking_summary.html",
    "booking/_booking_form.html",
    "booking/my_list.html",
    "booking/my_detail.html",
    "booking/cancel.html",
    "booking/_month_calendar.html",
    "staff/nav.html",
    "staff/day_sheet.html",
    "staff/proxy_choose.html",
    "staff/proxy_form.html",
    "staff/reservation.html",
    "staff/confirmation.html",
    "staff/cancel.html",
    "staff/suspensions.html",
    "booking/change.html",
    "admin/booking_policy.html",
    "admin/outbox_message.html",
    "admin/capabilities.html",
    "mail/verify_email.ja.txt",
    "mail/verify_email.en.txt",
    "mail/reset_password.ja.txt",
    "mail/reset_password.en.txt",
    "mail/staff_invite.ja.txt",
    "mail/staff_invite.en.txt",
    "mail/sign_up_existing.ja.txt",
    "mail/sign_up_existing.en.txt",
);

pub struct Templates {
    env: Environment<'static>,
}

/// What every page's layout needs: language, tenant, who is signed in, the CSRF token.
#[derive(Clone, Debug, Serialize)]
pub struct PageBase {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub city_name: String,
    /// `resident`, `staff` or absent.
    pub signed_in: Option<&'static str>,
    pub is_admin: bool,
    /// What the staff header offers besides the administrator's groups.
    pub staff_menu: StaffMenu,
    pub csrf_token: Option<String>,
    pub path: String,
    #[serde(skip)]
    pub lang_value: Lang,
}

/// The staff header's groups that depend on roles (`staff/_menu.html`).
#[derive(Serialize, Default, Clone, Copy, Debug)]
pub struct StaffMenu {
    /// Handles reservations somewhere: the day sheet, proxy booking, suspensions.
    pub reservations: bool,
    /// Finance (会計課): the search over receivables, the refund queue, the trial balance.
    pub finance: bool,
    /// Takes payments at a counter (窓口収納).
    pub counter: bool,
}

impl Templates {
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // A missing value renders empty and its attributes are missing too, so a form without
        // errors needs no placeholder `errors` object.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        env.add_filter("yen", |amount: i64| {
            madoguchi_domain::Yen(amount).to_string()
        });
        // minijinja's own `urlencode` sits behind a cargo feature; this one is all the
        // templates need: a query-string value (`?before={{ at | urlencode }}`).
        env.add_filter("urlencode", |value: String| {
            form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
        });
        Ok(Self { env })
    }

    /// Renders a page: `extra` is merged over the layout's context.
    pub fn page(
        &self,
        name: &str,
        base: &PageBase,
        extra: Value,
    ) -> Result<Html<String>, AppError> {
        let ctx = context! {
            base => base,
            lang => base.lang,
            t => crate::i18n::template_catalogue(base.lang_value),
            ..extra
        };
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map(Html)
            .map_err(|e| AppError::internal(format!("template {name}: {e:#}")))
    }

    /// A mail body in `lang` (`mail/<name>.<lang>.txt`).
    /// `mail/<name>.<lang>.txt`, or what went wrong (for the log).
    fn render_mail(&self, name: &str, lang: Lang, ctx: Value) -> Result<String, String> {
        let file = format!("mail/{name}.{}.txt", lang.tag());
        self.env
            .get_template(&file)
            .and_then(|t| t.render(ctx))
            .map_err(|e| format!("template {file}: {e:#}"))
    }

    /// The error page; never fails (falls back to the bare message).
    pub fn render_error(
        &self,
        lang: Lang,
        status: StatusCode,
        code: ErrorCode,
        path: &str,
    ) -> String {
        let base = PageBase {
            lang: lang.tag(),
            other_lang: lang.other().tag(),
            city_name: String::new(),
            signed_in: None,
            is_admin: false,
            staff_menu: StaffMenu::default(),
            csrf_token: None,
            path: path.to_owned(),
            lang_value: lang,
        };
        let extra = context! {
            status => status.as_u16(),
            code => code.as_str(),
            message => code.message(lang),
        };
        match self.page("error.html", &base, extra) {
            Ok(Html(body)) => body,
            Err(_) => code.message(lang).to_owned(),
        }
    }
}

/// The texts of account mail: `mail/<kind>.<lang>.txt` and the subject `mail_subject_<kind>`.
impl madoguchi_usecases::accounts::Letters for Templates {
    fn compose(
        &self,
        kind: &str,
        lang: Lang,
        values: serde_json::Value,
    ) -> madoguchi_usecases::UseCaseResult<(String, String)> {
        let body = self
            .render_mail(kind, lang, Value::from_serialize(&values))
            .map_err(madoguchi_usecases::UseCaseError::internal)?;
        let subject = crate::i18n::text(lang, &format!("mail_subject_{kind}"));
        Ok((subject, body))
    }
}
