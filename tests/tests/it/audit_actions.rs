//! The audit log misses nothing a reservation goes through. [`MUST_BE_AUDITED`] is THE list of
//! the operations that must leave an entry; the story below performs each of them the way a
//! resident, a clerk or the system does (pages, API, waiting list), finds its entry (action,
//! who, which reservation) and ticks it off. An operation added to the list without an entry,
//! or an entry the story no longer finds, fails the test; so does a listed action that the
//! audit page cannot translate (`madoguchi_usecases::audit::ACTIONS`).

use madoguchi_domain::{AccountId, AccountKind, Email, Role, SlotId};
use madoguchi_storage::{ActorKind, AuditEntry, AuditFilter, NewReservation};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::*;
use madoguchi_tests::days::{open_instant_ahead, rfc3339};
use madoguchi_tests::on_both_backends;
use madoguchi_tests::pages::location;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Every operation on reservations that must be audited: (action id, how it is performed).
const MUST_BE_AUDITED: &[(&str, &str)] = &[
    ("reservation.booked", "a resident books on the booking page"),
    ("reservation.booked", "a resident books through the API"),
    (
        "reservation.booked",
        "a resident takes a hold through the API",
    ),
    ("reservation.hold_confirmed", "a resident confirms a hold"),
    ("reservation.proxy_booked", "staff book for a caller"),
    ("reservation.changed", "a resident moves a booking"),
    ("reservation.changed", "staff move a booking"),
    ("reservation.cancelled", "a resident cancels"),
    ("reservation.cancelled", "staff cancel with a reason"),
    ("waitlist.joined", "a resident joins a waiting list"),
    ("waitlist.withdrawn", "a resident leaves a waiting list"),
    (
        "reservation.waitlist_promoted",
        "a freed seat books the first in line",
    ),
    (
        "reservation.waitlist_offered",
        "a freed seat is offered to the first in line",
    ),
    ("reservation.attendance", "staff mark attendance"),
    ("booking.suspended", "a no-show suspends online booking"),
    ("booking.suspension_lifted", "staff lift a suspension"),
    ("booking.policy_changed", "an administrator sets the policy"),
    ("service.created", "an administrator creates a service"),
    ("service.slots_added", "an administrator adds slots"),
];

/// What the story has found so far.
struct Ticks<'a> {
    app: &'a TestApp,
    done: BTreeSet<(&'static str, &'static str)>,
}

impl Ticks<'_> {
    /// Finds the entry of `action` about `target` by `actor` and ticks `how` off.
    async fn found(
        &mut self,
        action: &'static str,
        how: &'static str,
        target: &str,
        actor: (ActorKind, Option<AccountId>),
    ) -> anyhow::Result<AuditEntry> {
        assert!(
            MUST_BE_AUDITED.contains(&(action, how)),
            "not in the list: {action} / {how}"
        );
        let entries = self
            .app
            .storage
            .list_audit(
                self.app.tenant.id,
                &AuditFilter {
                    action_prefix: Some(action.to_owned()),
                    limit: 1000,
                    ..AuditFilter::default()
                },
            )
            .await?;
        let entry = entries
            .into_iter()
            .find(|e| {
                e.action == action
                    && e.target.as_deref() == Some(target)
                    && (e.actor_kind, e.actor_id) == actor
            })
            .ok_or_else(|| anyhow::anyhow!("no audit entry for {how} ({action} of {target})"))?;
        self.done.insert((action, how));
        Ok(entry)
    }
}

async fn service(app: &TestApp, admin: &str, code: &str, extra: Value) -> anyhow::Result<String> {
    let mut rules = json!({
        "window": {"opens_days_before": 60, "opens_at_local": "00:00", "closes_hours_before": 1},
        "cancellation": {"deadline_hours_before": 24}
    });
    if let (Some(rules), Some(extra)) = (rules.as_object_mut(), extra.as_object()) {
        rules.extend(extra.clone());
    }
    let (status, created) = post(
        app,
        admin,
        "/api/v1/services",
        json!({"code": code, "kind": "consultation", "name_ja": "子育て相談",
            "name_en": "Parenting consultation", "rules": rules}),
    )
    .await?;
    anyhow::ensure!(status == 201, "service not created: {created}");
    Ok(id_of(&created))
}

async fn slot(
    app: &TestApp,
    admin: &str,
    service: &str,
    start: OffsetDateTime,
    capacity: u16,
) -> anyhow::Result<String> {
    let office = app.storage.list_offices(app.tenant.id).await?[0].id;
    let (_, added) = post(
        app,
        admin,
        &format!("/api/v1/services/{service}/slots"),
        json!({"slots": [{"office_id": office.to_string(), "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + time::Duration::minutes(30)), "capacity": capacity}]}),
    )
    .await?;
    anyhow::ensure!(added["added"] == 1, "slot added: {added}");
    let service_id = madoguchi_domain::ServiceId(uuid::Uuid::parse_str(service)?);
    let slots = app
        .storage
        .slots(
            app.tenant.id,
            service_id,
            start,
            start + time::Duration::seconds(1),
        )
        .await?;
    slots
        .first()
        .map(|s| s.id.to_string())
        .ok_or_else(|| anyhow::anyhow!("slot not stored"))
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    send(
        reqwest::Client::new()
            .post(app.at(path))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

async fn account_of(app: &TestApp, kind: AccountKind, email: &str) -> anyhow::Result<AccountId> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(app
        .storage
        .account_by_email(app.tenant.id, kind, &email)
        .await?
        .id)
}

async fn every_listed_operation_on_a_reservation_leaves_its_audit_entry(
    app: TestApp,
) -> anyhow::Result<()> {
    let mut ticks = Ticks {
        app: &app,
        done: BTreeSet::new(),
    };
    let admin = admin_token(&app).await?;
    let admin_login = app.login(Role::Admin).clone();
    let admin_id = account_of(&app, AccountKind::Staff, &admin_login.email).await?;
    let as_admin = (ActorKind::Staff, Some(admin_id));
    let system = (ActorKind::System, None);

    let plain = service(&app, &admin, "audit-plain", json!({})).await?;
    ticks
        .found(
            "service.created",
            "an administrator creates a service",
            &plain,
            as_admin,
        )
        .await?;
    let start = open_instant_ahead(6);
    let first = slot(&app, &admin, &plain, start, 5).await?;
    ticks
        .found(
            "service.slots_added",
            "an administrator adds slots",
            &plain,
            as_admin,
        )
        .await?;
    let second = slot(&app, &admin, &plain, start + time::Duration::hours(1), 5).await?;

    // A resident on the pages, without JavaScript.
    let (page_email, client) = signed_in_resident(&app).await?;
    let page_resident = account_of(&app, AccountKind::Resident, &page_email).await?;
    let form = client
        .get(app.at(&format!("/reservations/book/{first}")))
        .send()
        .await?
        .text()
        .await?;
    let csrf = madoguchi_tests::app::csrf_from(&form);
    let response = client
        .post(app.at(&format!("/reservations/book/{first}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("idempotency_key", "audit0123456789abcdef"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 303);
    let on_page = location(&response)
        .trim_start_matches("/my/reservations/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let entry = ticks
        .found(
            "reservation.booked",
            "a resident books on the booking page",
            &on_page,
            (ActorKind::Resident, Some(page_resident)),
        )
        .await?;
    assert_eq!(entry.details["slot"], first.as_str());

    // A resident through the API: a booking, a hold and its confirmation, a change, a cancel.
    let Resident { email, token, .. } = resident(&app).await?;
    let api_resident = account_of(&app, AccountKind::Resident, &email).await?;
    let as_resident = (ActorKind::Resident, Some(api_resident));
    let (status, booked) = post(
        &app,
        &token,
        "/api/v1/reservations",
        json!({"slot_id": first}),
    )
    .await?;
    assert_eq!(status, 201, "{booked}");
    let booked = id_of(&booked);
    ticks
        .found(
            "reservation.booked",
            "a resident books through the API",
            &booked,
            as_resident,
        )
        .await?;
    // The same request again is a replay: it books nothing and records nothing new.
    let before = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("reservation.booked".into()),
                limit: 1000,
                ..AuditFilter::default()
            },
        )
        .await?
        .len();
    let replay = json!({"slot_id": second, "hold": true});
    let (status, held) = send(
        reqwest::Client::new()
            .post(app.at("/api/v1/reservations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "audit-hold-0123456789")
            .json(&replay),
    )
    .await?;
    assert_eq!(
        (status, held["status"].as_str()),
        (201, Some("held")),
        "{held}"
    );
    let held = id_of(&held);
    let entry = ticks
        .found(
            "reservation.booked",
            "a resident takes a hold through the API",
            &held,
            as_resident,
        )
        .await?;
    assert_eq!(entry.details["hold"], true);
    let (status, _) = send(
        reqwest::Client::new()
            .post(app.at("/api/v1/reservations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "audit-hold-0123456789")
            .json(&replay),
    )
    .await?;
    assert!(status == 200 || status == 201, "a replay: {status}");
    let after = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("reservation.booked".into()),
                limit: 1000,
                ..AuditFilter::default()
            },
        )
        .await?
        .len();
    assert_eq!(after, before + 1, "the replay recorded nothing");
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/reservations/{held}/confirm"),
        json!({}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.hold_confirmed",
            "a resident confirms a hold",
            &held,
            as_resident,
        )
        .await?;
    let third = slot(&app, &admin, &plain, start + time::Duration::hours(2), 5).await?;
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/reservations/{booked}/change"),
        json!({"slot_id": third}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.changed",
            "a resident moves a booking",
            &booked,
            as_resident,
        )
        .await?;
    let (status, body) = send(
        reqwest::Client::new()
            .delete(app.at(&format!("/api/v1/reservations/{booked}")))
            .bearer_auth(&token),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.cancelled",
            "a resident cancels",
            &booked,
            as_resident,
        )
        .await?;

    // Staff: a caller booked by phone, then moved and cancelled with reasons.
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/proxy-reservations",
        json!({"slot_id": first, "caller": {"name_kanji": "山田　太郎", "name_kana": "ヤマダ　タロウ",
            "birth_date": "1950-02-03", "phone": "03-1234-5678", "email": null}}),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let proxied = body["reservation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let entry = ticks
        .found(
            "reservation.proxy_booked",
            "staff book for a caller",
            &proxied,
            as_admin,
        )
        .await?;
    assert!(
        !entry.details.to_string().contains("山田"),
        "the caller's name stays out of the log: {}",
        entry.details
    );
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/v1/reservations/{proxied}/change"),
        json!({"slot_id": second, "reason": "電話で依頼"}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.changed",
            "staff move a booking",
            &proxied,
            as_admin,
        )
        .await?;
    let (status, body) = send(
        reqwest::Client::new()
            .delete(app.at(&format!(
                "/api/v1/reservations/{proxied}?reason=%E9%9B%BB%E8%A9%B1"
            )))
            .bearer_auth(&admin),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.cancelled",
            "staff cancel with a reason",
            &proxied,
            as_admin,
        )
        .await?;

    // The waiting list: join, leave, and promotion (booked at once, or offered).
    for (code, mode, action, how) in [
        (
            "audit-promote",
            json!({"mode": "promote"}),
            "reservation.waitlist_promoted",
            "a freed seat books the first in line",
        ),
        (
            "audit-offer",
            json!({"mode": "offer", "respond_hours": 12}),
            "reservation.waitlist_offered",
            "a freed seat is offered to the first in line",
        ),
    ] {
        let waiting_service = service(&app, &admin, code, json!({"waitlist": mode})).await?;
        let full = slot(&app, &admin, &waiting_service, start, 1).await?;
        let holder = resident(&app).await?.token;
        let (status, taken) = post(
            &app,
            &holder,
            "/api/v1/reservations",
            json!({"slot_id": full}),
        )
        .await?;
        assert_eq!(status, 201, "{taken}");
        let Resident {
            email: waiting_email,
            token: waiting,
            ..
        } = resident(&app).await?;
        let waiting_id = account_of(&app, AccountKind::Resident, &waiting_email).await?;
        let (status, place) = post(
            &app,
            &waiting,
            &format!("/api/v1/slots/{full}/waitlist"),
            json!({}),
        )
        .await?;
        assert_eq!(status, 201, "{place}");
        let entry = place["id"].as_str().unwrap_or_default().to_owned();
        ticks
            .found(
                "waitlist.joined",
                "a resident joins a waiting list",
                &entry,
                (ActorKind::Resident, Some(waiting_id)),
            )
            .await?;
        if code == "audit-offer" {
            // This one leaves the list, then joins again to be offered the seat.
            let (status, body) = send(
                reqwest::Client::new()
                    .delete(app.at(&format!("/api/v1/waitlist/{entry}")))
                    .bearer_auth(&waiting),
            )
            .await?;
            assert!(status == 200 || status == 204, "{status} {body}");
            ticks
                .found(
                    "waitlist.withdrawn",
                    "a resident leaves a waiting list",
                    &entry,
                    (ActorKind::Resident, Some(waiting_id)),
                )
                .await?;
            let (status, place) = post(
                &app,
                &waiting,
                &format!("/api/v1/slots/{full}/waitlist"),
                json!({}),
            )
            .await?;
            assert_eq!(status, 201, "joining again after leaving: {place}");
        }
        let (status, _) = send(
            reqwest::Client::new()
                .delete(app.at(&format!("/api/v1/reservations/{}", id_of(&taken))))
                .bearer_auth(&holder),
        )
        .await?;
        assert_eq!(status, 200);
        let mine: Value = reqwest::Client::new()
            .get(app.at("/api/v1/me/reservations"))
            .bearer_auth(&waiting)
            .send()
            .await?
            .json()
            .await?;
        let given = mine[0]["id"].as_str().unwrap_or_default().to_owned();
        let entry = ticks.found(action, how, &given, system).await?;
        assert_eq!(entry.details["slot"], full.as_str());
    }

    // Attendance and the no-show policy: with a policy of one no-show, one suspends.
    let (status, body) = send(
        reqwest::Client::new()
            .put(app.at("/api/v1/booking-policy"))
            .bearer_auth(&admin)
            .json(&json!({"no_show": {"count": 1, "within_days": 365, "suspend_days": 30}})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let entries = app
        .storage
        .list_audit(
            app.tenant.id,
            &AuditFilter {
                action_prefix: Some("booking.policy_changed".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert!(
        entries
            .iter()
            .any(|e| (e.actor_kind, e.actor_id) == as_admin && e.details["no_show"]["count"] == 1),
        "the policy change is audited"
    );
    ticks
        .done
        .insert(("booking.policy_changed", "an administrator sets the policy"));
    let past = slot(
        &app,
        &admin,
        &plain,
        OffsetDateTime::now_utc() - time::Duration::minutes(90),
        5,
    )
    .await?;
    // Booked in storage: the window (rightly) refuses a slot that has begun.
    let outcome = app
        .storage
        .reserve(
            app.tenant.id,
            &NewReservation {
                slot_id: SlotId(uuid::Uuid::parse_str(&past)?),
                account_id: Some(api_resident),
                idempotency_key: None,
                hold_until: None,
                details: json!({"answers": {}}),
                limit: None,
                booked_by: None,
                remote_join: None,
                fingerprint: None,
                notices: Vec::new(),
                reference: None,
            },
            madoguchi_storage::now_utc(),
        )
        .await?;
    let missed = outcome.reservation().id.to_string();
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/v1/reservations/{missed}/attendance"),
        json!({"attendance": "no_show"}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "reservation.attendance",
            "staff mark attendance",
            &missed,
            as_admin,
        )
        .await?;
    ticks
        .found(
            "booking.suspended",
            "a no-show suspends online booking",
            &api_resident.to_string(),
            system,
        )
        .await?;
    let lift = format!(
        "/api/v1/suspensions/{}/lift",
        body["suspension"]["id"].as_str().unwrap_or_default()
    );
    let (status, body) = post(&app, &admin, &lift, json!({"reason": "事情を確認"})).await?;
    assert_eq!(status, 200, "{body}");
    ticks
        .found(
            "booking.suspension_lifted",
            "staff lift a suspension",
            &api_resident.to_string(),
            as_admin,
        )
        .await?;

    let missing: Vec<_> = MUST_BE_AUDITED
        .iter()
        .filter(|item| !ticks.done.contains(*item))
        .collect();
    assert!(missing.is_empty(), "performed but not checked: {missing:?}");
    Ok(())
}
on_both_backends!(
    every_listed_operation_on_a_reservation_leaves_its_audit_entry,
    every_listed_operation_on_a_reservation_leaves_its_audit_entry
);

#[test]
fn every_action_that_must_be_audited_is_one_the_audit_page_translates() {
    for (action, how) in MUST_BE_AUDITED {
        assert!(
            madoguchi_usecases::audit::ACTIONS.contains(action),
            "{action} ({how}) is not in madoguchi_usecases::audit::ACTIONS"
        );
    }
}

/// The storage half: `reserve_audited` writes the entry in the booking's transaction, with the
/// new reservation as its target; a replay, a refusal or a booking that fails after taking its
/// seat writes none.
async fn a_booking_and_its_audit_entry_are_written_together<S: madoguchi_tests::db::Backend>(
    s: &S,
) -> anyhow::Result<()> {
    use crate::booking_contract::{booking, created, slot_at, taken, town};
    let town = town(s, "kita").await?;
    let at = time::macros::datetime!(2031-06-02 01:00 UTC);
    let slot = slot_at(s, &town, at, 2).await?;
    let entry = madoguchi_storage::NewAuditEntry {
        at: madoguchi_storage::now_utc(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: "reservation.booked".into(),
        target: None,
        details: json!({"slot": slot.id.to_string()}),
    };
    let entries = || async {
        s.list_audit(
            town.tenant,
            &AuditFilter {
                action_prefix: Some("reservation.booked".into()),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await
    };
    let keyed = NewReservation {
        idempotency_key: Some("audit-key".into()),
        ..booking(&slot, None)
    };
    let now = madoguchi_storage::now_utc();
    let first = created(
        s.reserve_audited(town.tenant, &keyed, now, Some(&entry))
            .await?,
    );
    let written = entries().await?;
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].target, Some(first.id.to_string()));
    assert_eq!(written[0].details["slot"], slot.id.to_string());

    let again = s
        .reserve_audited(town.tenant, &keyed, now, Some(&entry))
        .await?;
    assert!(
        matches!(again, madoguchi_storage::ReserveOutcome::Replayed(_)),
        "{again:?}"
    );
    assert_eq!(entries().await?.len(), 1, "a replay records nothing");

    // An account of no tenant: refused after the seat was counted, and rolled back whole.
    let stranger = booking(&slot, Some(AccountId(uuid::Uuid::new_v4())));
    assert!(
        s.reserve_audited(town.tenant, &stranger, now, Some(&entry))
            .await
            .is_err()
    );
    assert_eq!(
        entries().await?.len(),
        1,
        "the failed booking left no entry"
    );
    assert_eq!(taken(s, town.tenant, &slot).await?, 1, "nor a seat");

    created(
        s.reserve_audited(town.tenant, &booking(&slot, None), now, Some(&entry))
            .await?,
    );
    let full = s
        .reserve_audited(town.tenant, &booking(&slot, None), now, Some(&entry))
        .await;
    assert!(full.is_err(), "the slot is full");
    assert_eq!(entries().await?.len(), 2, "a refusal records nothing");
    Ok(())
}
madoguchi_tests::on_both_databases!(a_booking_and_its_audit_entry_are_written_together);
