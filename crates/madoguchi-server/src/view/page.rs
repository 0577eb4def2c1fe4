//! The frame every page is rendered in (language, city, who is signed in, the CSRF token) and
//! the re-rendering of a form with its errors, shared by the pages of every capability.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::csrf::csrf_token;
use crate::http::error::{AppError, AppResult};
use crate::templates::{PageBase, StaffMenu};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use madoguchi_domain::{AccountKind, Lang};
use std::collections::BTreeMap;
use tower_sessions::Session;

/// The layout context of a page. `csrf` is the session's token for pages with forms (the
/// header's sign-out button is a form too, so signed-in pages always pass it).
pub async fn page_base(
    ctx: &Ctx,
    signed_in: Option<AccountKind>,
    session: Option<&Session>,
    is_admin: bool,
) -> AppResult<PageBase> {
    let csrf_token = match session {
        Some(session) => Some(csrf_token(session).await?),
        None => None,
    };
    Ok(PageBase {
        lang: ctx.lang.tag(),
        other_lang: ctx.lang.other().tag(),
        city_name: ctx.tenant.name(ctx.lang).to_owned(),
        signed_in: signed_in.map(AccountKind::as_str),
        is_admin,
        staff_menu: StaffMenu::default(),
        csrf_token,
        path: ctx.path.clone(),
        lang_value: ctx.lang,
    })
}

/// The page frame for a signed-in staff member (the admin navigation for administrators).
pub(crate) async fn staff_base(
    ctx: &Ctx,
    staff: &StaffSession,
    session: &Session,
) -> AppResult<PageBase> {
    let mut base = page_base(
        ctx,
        Some(AccountKind::Staff),
        Some(session),
        staff.access.is_admin(),
    )
    .await?;
    base.staff_menu = StaffMenu {
        reservations: staff.access.handles_reservations(),
        finance: staff.access.may_read_finance(),
        // Stands at some counter (a receivable of no particular office may be taken anywhere).
        counter: staff.access.may_take_counter_payment(None),
    };
    Ok(base)
}

/// Field messages and an overall alert for re-rendering a form after `error`. Server errors
/// are not form problems: they go to the error page.
pub fn form_errors(
    error: AppError,
    lang: Lang,
) -> Result<(StatusCode, BTreeMap<String, String>, String), AppError> {
    if error.status.is_server_error() {
        return Err(error);
    }
    let problems = FormProblems::refused(&error, lang, |f| {
        (f.field.clone(), f.code.message(lang).to_owned())
    });
    Ok((problems.status, problems.errors, problems.alert))
}

/// What a posted form is shown again with: the status, each field's message and the alert at
/// the top. Pages build it from their own check ([`FormProblems::invalid`]) or from a refusal of
/// the flow, render the form with it and [`respond`](FormProblems::respond): one shape for "post
/// the form, show it again with its errors".
pub(crate) struct FormProblems {
    pub(crate) status: StatusCode,
    pub(crate) errors: BTreeMap<String, String>,
    pub(crate) alert: String,
}

impl FormProblems {
    /// The form's own check found `errors`: 422 and "check the fields below".
    pub(crate) fn invalid(errors: BTreeMap<String, String>, lang: Lang) -> Self {
        FormProblems {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            alert: madoguchi_domain::ErrorCode::ValidationFailed
                .message(lang)
                .to_owned(),
        }
    }

    /// A refusal of a flow that names fields: each is shown under the name and with the message
    /// `field` gives it on this form; the alert is the refusal's own message when it names none.
    pub(crate) fn refused(
        error: &AppError,
        lang: Lang,
        field: impl Fn(&crate::http::error::FieldError) -> (String, String),
    ) -> Self {
        let errors: BTreeMap<String, String> = error.fields.iter().map(field).collect();
        let alert = if errors.is_empty() {
            error.code.message(lang).to_owned()
        } else {
            madoguchi_domain::ErrorCode::ValidationFailed
                .message(lang)
                .to_owned()
        };
        FormProblems {
            status: error.status,
            errors,
            alert,
        }
    }

    /// The form shown again, with the status that says why.
    pub(crate) fn respond(&self, html: Html<String>) -> Response {
        (self.status, html).into_response()
    }
}
