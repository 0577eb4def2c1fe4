//! The OpenAPI 3.1 description of `/api/v1`, generated from the handlers' annotations so it
//! cannot drift from the code; served at `/api/openapi.json`.

use crate::http::error::{ErrorBody, ErrorDetail, FieldErrorBody};
use crate::routes::calendar::api as calendar_api;
use crate::routes::counter::api as counter_api;
use crate::routes::payments::api as payments_api;
use crate::routes::payments::staff_api as payments_staff_api;
use crate::routes::reservations::{api as reservations_api, flows_api as reservation_flows_api};
use crate::routes::{accounts, admin, org};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Madoguchi API", description = "The front-yard platform of a Japanese municipality. \
Errors carry a stable `code` and a `message` in the language of `Accept-Language` (Japanese by default)."),
    paths(
        accounts::api::create_token, accounts::api::me, accounts::api::sign_up, accounts::api::resident,
        accounts::api::verify_email,
        org::api::list_offices, org::api::office, org::api::create_office, org::api::update_office,
        org::api::office_staff, org::api::list_departments, org::api::create_department,
        org::api::list_staff, org::api::invite_staff, org::api::set_roles, admin::api::audit,
        reservations_api::list_services, reservations_api::create_service, reservations_api::add_slots, reservations_api::generate_slots,
        reservations_api::day_slots, reservations_api::availability, reservations_api::reserve,
        reservations_api::find_reservations,
        reservations_api::reservation, reservations_api::confirm, reservations_api::cancel,
        reservations_api::my_reservations, crate::routes::feed::calendar_feed,
        calendar_api::overview, calendar_api::preview, calendar_api::import, calendar_api::remove_year,
        calendar_api::set_year_end_closure, calendar_api::office, calendar_api::replace_office,
        calendar_api::add_rule, calendar_api::remove_rule,
        reservation_flows_api::change, reservation_flows_api::attendance, reservation_flows_api::join_waitlist,
        reservation_flows_api::my_waitlist, reservation_flows_api::withdraw, reservation_flows_api::proxy_reserve,
        reservation_flows_api::day_sheet, reservation_flows_api::suspensions, reservation_flows_api::lift,
        reservation_flows_api::policy, reservation_flows_api::set_policy,
        payments_api::list_receivables, payments_api::receivable, payments_api::start_payment,
        payments_api::payment, payments_api::receipt,
        payments_staff_api::assess, payments_staff_api::counter_payment, payments_staff_api::request_refund,
        payments_staff_api::approve, payments_staff_api::reject, payments_staff_api::trial_balance,
        counter_api::list_queues, counter_api::create_queue, counter_api::take_ticket, counter_api::check_in, counter_api::ticket, counter_api::record,
        counter_api::leave, counter_api::call_next, counter_api::follow_up, counter_api::duty,
        counter_api::accepting, counter_api::answer, counter_api::room, counter_api::grant,
    ),
    components(schemas(ErrorBody, ErrorDetail, FieldErrorBody, madoguchi_domain::ErrorCode)),
    modifiers(&BearerAuth, &CommonErrors),
    tags(
        (name = "auth", description = "Tokens and the calling account"),
        (name = "residents", description = "Resident accounts"),
        (name = "organisation", description = "Offices and departments"),
        (name = "staff", description = "Staff accounts and roles"),
        (name = "audit", description = "The append-only audit log"),
        (name = "reservations", description = "Services, availability and reservations"),
        (name = "calendar", description = "Holidays, the year-end closure and offices' closing days"),
        (name = "counter", description = "The remote counter: queues per department, numbered tickets with their place in line, calls by the department's specialists, answering into a consultation room and join grants. The room's signalling is a WebSocket at /api/v1/counter/rooms/{id}/signal, outside this document: its protocol is docs/signalling.md"),
        (name = "payments", description = "What residents owe (receivables), paying online, payments and receipts; counter checkout, refunds with four eyes and the ledger for staff and finance"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The error answers that come from the plumbing rather than from a handler's own rules, added
/// to every operation where they can happen, so that each handler documents only its own
/// outcomes (a 409 of a taken code, a 423 lockout, …). Each is one shared response of
/// `components.responses` with the error body.
struct CommonErrors;

/// When each common answer can happen.
#[derive(Clone, Copy)]
enum When {
    /// The operation reads a JSON body or parameters that may be unreadable.
    Input,
    /// The operation reads a request body.
    Body,
    /// The operation needs a bearer token.
    Secured,
    /// The operation names a resource in its path.
    PathResource,
}

const COMMON_ERRORS: [(&str, &str, When, &str); 7] = [
    (
        "400",
        "BadRequest",
        When::Input,
        "Malformed JSON, or a path or query parameter that cannot be read (`malformed_json`, `validation_failed`).",
    ),
    (
        "401",
        "Unauthenticated",
        When::Secured,
        "No bearer token, or one that is invalid, expired or of another city (`unauthenticated`).",
    ),
    (
        "403",
        "Forbidden",
        When::Secured,
        "The token lacks the scope, or the account the role, for this operation (`forbidden`). Checked before the body is read.",
    ),
    (
        "404",
        "NotFound",
        When::PathResource,
        "Nothing of that id in this city, or nothing the caller may see (`not_found`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        When::Body,
        "The body is over the size limit (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        When::Body,
        "The body is not of the documented content type (`unsupported_media_type`).",
    ),
    (
        "422",
        "ValidationFailed",
        When::Input,
        "The input does not satisfy the rules; `fields` names each offending field.",
    ),
];

impl CommonErrors {
    fn applies(when: When, operation: &Operation) -> bool {
        let parameters = operation.parameters.as_deref().unwrap_or_default();
        let has_body = operation.request_body.is_some();
        match when {
            When::Input => has_body || !parameters.is_empty(),
            When::Body => has_body,
            When::Secured => operation.security.as_ref().is_some_and(|s| !s.is_empty()),
            When::PathResource => parameters
                .iter()
                .any(|p| p.parameter_in == ParameterIn::Path),
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, _, description) in COMMON_ERRORS {
            let body = Content::new(Some(Ref::from_schema_name(ErrorBody::name())));
            components.responses.insert(
                name.to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", body)
                        .build(),
                ),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, name, when, _) in COMMON_ERRORS {
                    if Self::applies(when, operation) {
                        // A handler's own description of the same status (what its 422 means)
                        // stays.
                        operation
                            .responses
                            .responses
                            .entry(status.to_owned())
                            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                    }
                }
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
