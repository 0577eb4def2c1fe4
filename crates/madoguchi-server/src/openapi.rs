//! The OpenAPI 3.1 description of `/api/v1`, generated from the handlers' annotations so it
//! cannot drift from the code; served at `/api/openapi.json`.

use crate::http::error::{ErrorBody, ErrorDetail, FieldErrorBody};
use crate::routes::{api, calendar_api, reservation_flows_api, reservations_api};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Madoguchi API", description = "The front-yard platform of a Japanese municipality. \
Errors carry a stable `code` and a `message` in the language of `Accept-Language` (Japanese by default)."),
    paths(
        api::create_token, api::me, api::sign_up, api::resident, api::verify_email,
        api::list_offices, api::office, api::create_office, api::update_office, api::office_staff,
        api::list_departments, api::create_department,
        api::list_staff, api::invite_staff, api::set_roles, api::audit,
        reservations_api::list_services, reservations_api::create_service, reservations_api::add_slots, reservations_api::generate_slots,
        reservations_api::day_slots, reservations_api::availability, reservations_api::reserve,
        reservations_api::reservation, reservations_api::confirm, reservations_api::cancel,
        reservations_api::my_reservations, crate::routes::feed::calendar_feed,
        calendar_api::overview, calendar_api::preview, calendar_api::import, calendar_api::remove_year,
        calendar_api::set_year_end_closure, calendar_api::office, calendar_api::replace_office,
        calendar_api::add_rule, calendar_api::remove_rule,
        reservation_flows_api::change, reservation_flows_api::attendance, reservation_flows_api::join_waitlist,
        reservation_flows_api::my_waitlist, reservation_flows_api::withdraw, reservation_flows_api::proxy_reserve,
        reservation_flows_api::day_sheet, reservation_flows_api::suspensions, reservation_flows_api::lift,
        reservation_flows_api::policy, reservation_flows_api::set_policy,
    ),
    components(schemas(ErrorBody, ErrorDetail, FieldErrorBody, madoguchi_domain::ErrorCode)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Tokens and the calling account"),
        (name = "residents", description = "Resident accounts"),
        (name = "organisation", description = "Offices and departments"),
        (name = "staff", description = "Staff accounts and roles"),
        (name = "audit", description = "The append-only audit log"),
        (name = "reservations", description = "Services, availability and reservations"),
        (name = "calendar", description = "Holidays, the year-end closure and offices' closing days"),
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
