//! The remote counter's storage contract: queues, numbered tickets, the serving order under the
//! queue's lock and every ticket move, one set of stories on SQLite and PostgreSQL.

use crate::booking_contract::department;
use madoguchi_counter::{Outcome, QueuePrefix, TicketEvent, TicketSource, TicketStatus};
use madoguchi_domain::{AccountId, ErrorCode, QueueId, RoomId, TenantId};
use madoguchi_storage::{
    ActorKind, AuditFilter, NewAuditEntry, NewCounterQueue, NewTicket, StorageError, TicketIssue,
    TicketMove,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use madoguchi_tests::on_both_databases;
use time::macros::date;
use time::{Date, Duration};

on_both_databases!(
    a_department_has_one_queue_and_a_letter_belongs_to_one_queue,
    numbers_run_per_queue_and_day_and_a_resident_holds_one_open_ticket,
    a_closed_queue_takes_no_tickets_but_keeps_those_it_has,
    call_next_follows_the_serving_order_and_records_who_called,
    a_silent_resident_is_recalled_sent_back_then_counted_as_a_no_show,
    a_move_the_ticket_cannot_take_is_refused_and_nothing_changes,
    duty_and_handling_times_are_kept_per_queue,
    another_city_sees_none_of_it,
    answering_opens_a_room_and_its_changes_follow_the_room_rules,
    finishing_the_ticket_ends_its_room,
    rooms_are_placed_on_live_media_nodes_and_move_off_lost_ones,
);

on_both_databases!(wide: specialists_calling_at_once_never_get_the_same_resident);

on_both_databases!(wide: kiosks_issuing_at_once_never_print_the_same_number);

const DAY: Date = date!(2030 - 04 - 01);

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: T0,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

fn prefix(letter: char) -> QueuePrefix {
    QueuePrefix::new(letter).unwrap()
}

async fn queue<S: Backend>(
    s: &S,
    tenant: TenantId,
    dept: &str,
    letter: char,
) -> anyhow::Result<QueueId> {
    let department = department(s, tenant, dept).await?;
    let queue = s
        .create_queue(
            tenant,
            &NewCounterQueue {
                department,
                prefix: prefix(letter),
                name_ja: format!("{dept}課の窓口"),
                name_en: format!("{dept} counter"),
            },
            T0,
            &audit("counter.queue_created"),
        )
        .await?;
    Ok(queue.id)
}

fn walk_in(queue: QueueId) -> NewTicket {
    NewTicket {
        queue,
        source: TicketSource::Kiosk,
        resident: None,
        reservation: None,
        office: None,
        appointment_at: None,
    }
}

async fn take<S: Backend>(
    s: &S,
    tenant: TenantId,
    new: &NewTicket,
    minutes: i64,
) -> anyhow::Result<madoguchi_storage::Ticket> {
    let issue = s
        .issue_ticket(
            tenant,
            new,
            DAY,
            T0 + Duration::minutes(minutes),
            &audit("counter.ticket_issued"),
        )
        .await?;
    Ok(issue.ticket().clone())
}

fn moved(event: TicketEvent) -> TicketMove {
    TicketMove {
        event,
        by: None,
        room: None,
    }
}

async fn a_department_has_one_queue_and_a_letter_belongs_to_one_queue<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let first = queue(s, t.id, "shimin", 'A').await?;
    let stored = s.queue(t.id, first).await?;
    assert_eq!(stored.prefix, prefix('A'));
    assert!(stored.accepting, "a new queue takes tickets");

    let same_letter = department(s, t.id, "zeimu").await?;
    let refused = s
        .create_queue(
            t.id,
            &NewCounterQueue {
                department: same_letter,
                prefix: prefix('A'),
                name_ja: "税務課".into(),
                name_en: "Tax".into(),
            },
            T0,
            &audit("counter.queue_created"),
        )
        .await;
    assert!(matches!(
        refused,
        Err(StorageError::CounterRule(ErrorCode::QueuePrefixTaken))
    ));
    let same_department = s
        .create_queue(
            t.id,
            &NewCounterQueue {
                department: stored.department,
                prefix: prefix('B'),
                name_ja: "二つ目".into(),
                name_en: "Second".into(),
            },
            T0,
            &audit("counter.queue_created"),
        )
        .await;
    assert!(matches!(
        same_department,
        Err(StorageError::CounterRule(ErrorCode::QueueExists))
    ));
    assert_eq!(s.list_queues(t.id).await?.len(), 1, "nothing written");
    Ok(())
}

async fn numbers_run_per_queue_and_day_and_a_resident_holds_one_open_ticket<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let b = queue(s, t.id, "fukushi", 'B').await?;
    let first = take(s, t.id, &walk_in(a), 0).await?;
    let second = take(s, t.id, &walk_in(a), 1).await?;
    let other_queue = take(s, t.id, &walk_in(b), 2).await?;
    assert_eq!(first.number.to_string(), "A-001");
    assert_eq!(second.number.to_string(), "A-002");
    assert_eq!(other_queue.number.to_string(), "B-001");
    let next_day = s
        .issue_ticket(t.id, &walk_in(a), DAY.next_day().unwrap(), T0, &audit("x"))
        .await?;
    assert_eq!(
        next_day.ticket().number.to_string(),
        "A-001",
        "numbers restart each day"
    );

    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let web = NewTicket {
        source: TicketSource::Web,
        resident: Some(hanako.id),
        ..walk_in(a)
    };
    let issued = s.issue_ticket(t.id, &web, DAY, T0, &audit("x")).await?;
    assert!(matches!(issued, TicketIssue::Issued(_)));
    let again = s.issue_ticket(t.id, &web, DAY, T0, &audit("x")).await?;
    assert_eq!(
        again,
        TicketIssue::Existing(issued.ticket().clone()),
        "a second tap gives the same ticket back"
    );
    // Once that ticket is finished, a new one may be taken.
    s.move_ticket(
        t.id,
        issued.ticket().id,
        &moved(TicketEvent::Cancel),
        T0,
        &audit("x"),
    )
    .await?;
    let fresh = s.issue_ticket(t.id, &web, DAY, T0, &audit("x")).await?;
    assert!(matches!(fresh, TicketIssue::Issued(_)));
    assert_ne!(fresh.ticket().id, issued.ticket().id);

    let entries = s
        .list_audit(
            t.id,
            &AuditFilter {
                action_prefix: Some("counter.ticket_issued".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(entries.len(), 3, "each issue audited with its ticket");
    assert!(entries.iter().all(|e| e.target.is_some()));
    Ok(())
}

async fn a_closed_queue_takes_no_tickets_but_keeps_those_it_has<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let kept = take(s, t.id, &walk_in(a), 0).await?;
    let closed = s
        .set_queue_accepting(t.id, a, false, &audit("counter.queue_closed"))
        .await?;
    assert!(!closed.accepting);
    let refused = s
        .issue_ticket(t.id, &walk_in(a), DAY, T0, &audit("x"))
        .await;
    assert!(matches!(
        refused,
        Err(StorageError::CounterRule(ErrorCode::QueueClosed))
    ));
    assert_eq!(s.open_tickets(t.id, a).await?, vec![kept]);
    s.set_queue_accepting(t.id, a, true, &audit("counter.queue_opened"))
        .await?;
    assert_eq!(
        take(s, t.id, &walk_in(a), 5).await?.number.to_string(),
        "A-002",
        "no number lost to the refusal"
    );
    Ok(())
}

async fn call_next_follows_the_serving_order_and_records_who_called<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let walk_in_first = take(s, t.id, &walk_in(a), 0).await?;
    let booked = take(
        s,
        t.id,
        &NewTicket {
            source: TicketSource::Appointment,
            appointment_at: Some(T0 + Duration::minutes(30)),
            ..walk_in(a)
        },
        1,
    )
    .await?;
    let walk_in_second = take(s, t.id, &walk_in(a), 2).await?;

    // At T0 + 10 min the booked resident's time has not come: the line goes first.
    let staff = s
        .create_account(
            t.id,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "hq@kita.example",
                vec![],
            ),
        )
        .await?;
    let at = |m| T0 + Duration::minutes(m);
    let called = s
        .call_next(t.id, a, staff.id, at(10), &audit("counter.called"))
        .await?
        .unwrap();
    assert_eq!(called.id, walk_in_first.id);
    assert_eq!(
        called.status,
        TicketStatus::Called {
            calls: 1,
            requeued: false
        }
    );
    assert_eq!(called.called_by, Some(staff.id));
    assert_eq!(called.called_at, Some(at(10)));
    // At T0 + 26 min the booked one is due (5 minutes early) and goes before the line.
    let called = s
        .call_next(t.id, a, staff.id, at(26), &audit("counter.called"))
        .await?
        .unwrap();
    assert_eq!(called.id, booked.id);
    let called = s
        .call_next(t.id, a, staff.id, at(27), &audit("counter.called"))
        .await?
        .unwrap();
    assert_eq!(called.id, walk_in_second.id);
    assert_eq!(
        s.call_next(t.id, a, staff.id, at(28), &audit("counter.called"))
            .await?,
        None,
        "no one waits"
    );

    // Answering records the room; finishing ends the ticket.
    let room = RoomId::new();
    let answered = s
        .move_ticket(
            t.id,
            booked.id,
            &TicketMove {
                event: TicketEvent::Answer,
                by: None,
                room: Some(room),
            },
            at(27),
            &audit("counter.answered"),
        )
        .await?;
    assert_eq!(answered.status, TicketStatus::InCall);
    assert_eq!(answered.room, Some(room));
    let done = s
        .move_ticket(
            t.id,
            booked.id,
            &moved(TicketEvent::Finish),
            at(40),
            &audit("x"),
        )
        .await?;
    assert_eq!(
        done.status,
        TicketStatus::Finished {
            outcome: Outcome::Done
        }
    );
    assert_eq!(done.finished_at, Some(at(40)));
    assert!(
        !s.open_tickets(t.id, a)
            .await?
            .iter()
            .any(|x| x.id == booked.id),
        "a finished ticket leaves the open list"
    );
    Ok(())
}

async fn a_silent_resident_is_recalled_sent_back_then_counted_as_a_no_show<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let silent = take(s, t.id, &walk_in(a), 0).await?;
    let behind = take(s, t.id, &walk_in(a), 1).await?;
    let at = |m| T0 + Duration::minutes(m);
    let staff_account = s
        .create_account(
            t.id,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "hq@kita.example",
                vec![],
            ),
        )
        .await?;
    let staff = staff_account.id;

    assert_eq!(
        s.call_next(t.id, a, staff, at(2), &audit("x"))
            .await?
            .unwrap()
            .id,
        silent.id
    );
    let recalled = s
        .move_ticket(
            t.id,
            silent.id,
            &moved(TicketEvent::Recall),
            at(3),
            &audit("x"),
        )
        .await?;
    assert_eq!(
        recalled.status,
        TicketStatus::Called {
            calls: 2,
            requeued: false
        }
    );
    let sent_back = s
        .move_ticket(
            t.id,
            silent.id,
            &moved(TicketEvent::NoAnswer),
            at(4),
            &audit("x"),
        )
        .await?;
    assert_eq!(sent_back.status, TicketStatus::Waiting { requeued: true });
    assert_eq!(sent_back.requeued_at, Some(at(4)));

    // The one behind goes first now; then the silent one again.
    assert_eq!(
        s.call_next(t.id, a, staff, at(5), &audit("x"))
            .await?
            .unwrap()
            .id,
        behind.id
    );
    let called_again = s
        .call_next(t.id, a, staff, at(6), &audit("x"))
        .await?
        .unwrap();
    assert_eq!(called_again.id, silent.id);
    let no_show = s
        .move_ticket(
            t.id,
            silent.id,
            &moved(TicketEvent::NoAnswer),
            at(8),
            &audit("x"),
        )
        .await?;
    assert_eq!(
        no_show.status,
        TicketStatus::Finished {
            outcome: Outcome::NoShow
        }
    );
    Ok(())
}

async fn a_move_the_ticket_cannot_take_is_refused_and_nothing_changes<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let waiting = take(s, t.id, &walk_in(a), 0).await?;
    for event in [
        TicketEvent::Answer,
        TicketEvent::Finish,
        TicketEvent::Recall,
    ] {
        let refused = s
            .move_ticket(
                t.id,
                waiting.id,
                &moved(event),
                T0,
                &audit("counter.refused"),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(StorageError::CounterRule(ErrorCode::TicketStateConflict))
            ),
            "{event:?}: {refused:?}"
        );
    }
    assert_eq!(s.ticket(t.id, waiting.id).await?, waiting);
    let audited = s
        .list_audit(
            t.id,
            &AuditFilter {
                action_prefix: Some("counter.refused".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert!(audited.is_empty(), "a refused move writes no audit entry");
    assert_not_found(
        s.move_ticket(
            t.id,
            madoguchi_domain::TicketId::new(),
            &moved(TicketEvent::Cancel),
            T0,
            &audit("x"),
        )
        .await,
    );
    Ok(())
}

async fn duty_and_handling_times_are_kept_per_queue<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let b = queue(s, t.id, "fukushi", 'B').await?;
    let staff = s
        .create_account(
            t.id,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                "hq@kita.example",
                vec![],
            ),
        )
        .await?;
    s.set_on_duty(t.id, a, staff.id, true, T0).await?;
    s.set_on_duty(t.id, a, staff.id, true, T0).await?;
    assert_eq!(s.on_duty(t.id, a).await?, vec![staff.id]);
    assert!(s.on_duty(t.id, b).await?.is_empty());

    let at = |m| T0 + Duration::minutes(m);
    for (i, length) in [6_i64, 9].into_iter().enumerate() {
        let ticket = take(s, t.id, &walk_in(a), 0).await?;
        let start = 20 * i64::try_from(i)?;
        s.call_next(t.id, a, staff.id, at(start), &audit("x"))
            .await?;
        s.move_ticket(
            t.id,
            ticket.id,
            &moved(TicketEvent::Answer),
            at(start + 1),
            &audit("x"),
        )
        .await?;
        s.move_ticket(
            t.id,
            ticket.id,
            &moved(TicketEvent::Finish),
            at(start + 1 + length),
            &audit("x"),
        )
        .await?;
    }
    let mut handling = s.recent_handling(t.id, a, 10).await?;
    handling.sort();
    assert_eq!(handling, vec![Duration::minutes(6), Duration::minutes(9)]);
    assert!(s.recent_handling(t.id, b, 10).await?.is_empty());

    s.set_on_duty(t.id, a, staff.id, false, at(60)).await?;
    assert!(s.on_duty(t.id, a).await?.is_empty());
    Ok(())
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let kita = tenant(s, "kita").await?;
    let minami = tenant(s, "minami").await?;
    let a = queue(s, kita.id, "shimin", 'A').await?;
    let ticket = take(s, kita.id, &walk_in(a), 0).await?;
    assert_not_found(s.queue(minami.id, a).await);
    assert_not_found(s.ticket(minami.id, ticket.id).await);
    assert_not_found(s.open_tickets(minami.id, a).await);
    assert_not_found(
        s.issue_ticket(minami.id, &walk_in(a), DAY, T0, &audit("x"))
            .await,
    );
    assert_not_found(
        s.call_next(minami.id, a, AccountId::new(), T0, &audit("x"))
            .await,
    );
    assert_not_found(
        s.move_ticket(
            minami.id,
            ticket.id,
            &moved(TicketEvent::Cancel),
            T0,
            &audit("x"),
        )
        .await,
    );
    assert_not_found(
        s.set_on_duty(minami.id, a, AccountId::new(), true, T0)
            .await,
    );
    assert!(s.list_queues(minami.id).await?.is_empty());
    // A letter is per city: minami may use A too.
    queue(s, minami.id, "shimin", 'A').await?;
    Ok(())
}

async fn specialists_calling_at_once_never_get_the_same_resident<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let mut staff = Vec::new();
    for i in 0..6 {
        let account = s
            .create_account(
                t.id,
                &new_account(
                    madoguchi_domain::AccountKind::Staff,
                    &format!("hq{i}@kita.example"),
                    vec![],
                ),
            )
            .await?;
        staff.push(account.id);
    }
    for i in 0..4 {
        take(s, t.id, &walk_in(a), i).await?;
    }
    let mut tasks = Vec::new();
    for specialist in staff {
        let s = s.clone();
        let tenant = t.id;
        tasks.push(tokio::spawn(async move {
            s.call_next(
                tenant,
                a,
                specialist,
                T0 + Duration::minutes(10),
                &audit("x"),
            )
            .await
        }));
    }
    let mut called = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(Some(ticket)) => called.push(ticket.id),
            Ok(None) => {}
            // SQLite's writer lock may time out under the rush: a retryable refusal, not a
            // double call.
            Err(StorageError::Unavailable(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let mut unique = called.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), called.len(), "no resident called twice");
    assert!(
        (1..=4).contains(&called.len()),
        "someone was called: {called:?}"
    );
    let still_waiting = s
        .open_tickets(t.id, a)
        .await?
        .iter()
        .filter(|x| matches!(x.status, TicketStatus::Waiting { .. }))
        .count();
    assert_eq!(still_waiting + called.len(), 4);
    Ok(())
}

async fn kiosks_issuing_at_once_never_print_the_same_number<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        let tenant = t.id;
        tasks.push(tokio::spawn(async move {
            s.issue_ticket(tenant, &walk_in(a), DAY, T0, &audit("x"))
                .await
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(issue) => numbers.push(issue.ticket().number.sequence()),
            Err(StorageError::Unavailable(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(numbers.len() >= 6, "most kiosks got a number: {numbers:?}");
    numbers.sort_unstable();
    let expected: Vec<u16> = (1..=u16::try_from(numbers.len())?).collect();
    assert_eq!(
        numbers, expected,
        "numbers are consecutive and never repeated"
    );
    Ok(())
}

/// A walk-in of a new queue, called: (tenant, queue's department, ticket, a staff account).
async fn called<S: Backend>(
    s: &S,
    slug: &str,
) -> anyhow::Result<(
    TenantId,
    madoguchi_domain::DepartmentId,
    madoguchi_storage::Ticket,
    AccountId,
)> {
    let t = tenant(s, slug).await?;
    let a = queue(s, t.id, "shimin", 'A').await?;
    let department = s.queue(t.id, a).await?.department;
    let ticket = take(s, t.id, &walk_in(a), 0).await?;
    let staff = s
        .create_account(
            t.id,
            &new_account(
                madoguchi_domain::AccountKind::Staff,
                &format!("hq@{slug}.example"),
                vec![],
            ),
        )
        .await?
        .id;
    s.call_next(
        t.id,
        a,
        staff,
        T0 + Duration::minutes(1),
        &audit("counter.called"),
    )
    .await?;
    Ok((t.id, department, ticket, staff))
}

fn rule_of(result: Result<madoguchi_storage::Room, StorageError>) -> Option<ErrorCode> {
    match result {
        Err(StorageError::CounterRule(code)) => Some(code),
        _ => None,
    }
}

async fn answering_opens_a_room_and_its_changes_follow_the_room_rules<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    use madoguchi_counter::{ParticipantRole, RoomState};
    use madoguchi_storage::{NewRoom, RoomChange, RoomGuest};
    let (t, department, ticket, staff) = called(s, "minami").await?;
    let other = crate::booking_contract::department(s, t, "kosodate").await?;
    let at = |m| T0 + Duration::minutes(m);
    let new = NewRoom {
        id: RoomId::new(),
        department,
        state: RoomState::Live,
    };
    let (in_call, room) = s
        .answer_into_room(t, ticket.id, &new, at(2), &audit("counter.answered"))
        .await?;
    assert_eq!(in_call.status, TicketStatus::InCall);
    assert_eq!(in_call.room, Some(new.id));
    assert_eq!(
        (room.id, room.state, room.department),
        (new.id, RoomState::Live, department)
    );
    assert_eq!(room.ticket, Some(ticket.id));
    assert_eq!(room.admitted_at, Some(at(2)));
    // A ticket answers once.
    let again = NewRoom {
        id: RoomId::new(),
        ..new.clone()
    };
    match s
        .answer_into_room(t, ticket.id, &again, at(3), &audit("x"))
        .await
    {
        Err(StorageError::CounterRule(ErrorCode::TicketStateConflict)) => {}
        other => panic!("a second answer: {other:?}"),
    }
    assert!(matches!(
        s.room(t, again.id).await,
        Err(StorageError::NotFound)
    ));

    let room_id = new.id;
    let change = |role, change: RoomChange, m| {
        let audit = audit("counter.room_change");
        async move {
            s.change_room(t, room_id, role, &change, at(m), &audit)
                .await
        }
    };
    // Roles: only the specialist admits, transfers, invites, ends.
    assert_eq!(
        rule_of(change(ParticipantRole::Resident, RoomChange::Transfer(other), 4).await),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        rule_of(change(ParticipantRole::Specialist, RoomChange::Admit, 4).await),
        Some(ErrorCode::Conflict),
        "a live room is not admitted again"
    );
    assert_eq!(
        rule_of(
            change(
                ParticipantRole::Specialist,
                RoomChange::Transfer(department),
                4
            )
            .await
        ),
        Some(ErrorCode::Conflict),
        "a transfer to the running department"
    );
    assert!(matches!(
        change(
            ParticipantRole::Specialist,
            RoomChange::Transfer(madoguchi_domain::DepartmentId(uuid::Uuid::now_v7())),
            4
        )
        .await,
        Err(StorageError::NotFound)
    ));
    // Bringing a department in twice keeps one guest; transferring to it makes it the host.
    change(
        ParticipantRole::Specialist,
        RoomChange::AddDepartment(other),
        5,
    )
    .await?;
    let twice = change(
        ParticipantRole::Specialist,
        RoomChange::AddDepartment(other),
        6,
    )
    .await?;
    assert_eq!(twice.guests.len(), 1);
    assert!(twice.has_guest_department(other));
    let interpreted = change(
        ParticipantRole::Specialist,
        RoomChange::AddInterpreter {
            account: staff,
            language: "sign".into(),
        },
        7,
    )
    .await?;
    assert_eq!(interpreted.interpreter_language(staff), Some("sign"));
    let moved = change(ParticipantRole::Specialist, RoomChange::Transfer(other), 8).await?;
    assert_eq!(moved.department, other);
    assert!(!moved.has_guest_department(other));
    assert!(matches!(
        moved.guests.as_slice(),
        [RoomGuest::Interpreter { .. }]
    ));
    // The ticket stays in the call across the transfer; ending finishes it.
    assert_eq!(s.ticket(t, ticket.id).await?.status, TicketStatus::InCall);
    let ended = change(ParticipantRole::Specialist, RoomChange::End, 20).await?;
    assert_eq!(
        (ended.state, ended.ended_at),
        (RoomState::Ended, Some(at(20)))
    );
    let finished = s.ticket(t, ticket.id).await?;
    assert_eq!(
        finished.status,
        TicketStatus::Finished {
            outcome: Outcome::Done
        }
    );
    assert_eq!(finished.finished_at, Some(at(20)));
    assert_eq!(
        rule_of(change(ParticipantRole::Specialist, RoomChange::End, 21).await),
        Some(ErrorCode::RoomEnded)
    );
    // Each change that happened is audited with the room as its target.
    let entries = s
        .list_audit(
            t,
            &AuditFilter {
                action_prefix: Some("counter.room_change".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(
        entries.len(),
        5,
        "two additions, the interpreter, the transfer, the end"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.target.as_deref() == Some(new.id.to_string().as_str()))
    );
    // Another city cannot see the room.
    let stranger = tenant(s, "kita").await?;
    assert!(matches!(
        s.room(stranger.id, new.id).await,
        Err(StorageError::NotFound)
    ));
    Ok(())
}

async fn finishing_the_ticket_ends_its_room<S: Backend>(s: &S) -> anyhow::Result<()> {
    use madoguchi_counter::RoomState;
    use madoguchi_storage::NewRoom;
    let (t, department, ticket, _) = called(s, "higashi").await?;
    let new = NewRoom {
        id: RoomId::new(),
        department,
        state: RoomState::Live,
    };
    s.answer_into_room(
        t,
        ticket.id,
        &new,
        T0 + Duration::minutes(2),
        &audit("counter.answered"),
    )
    .await?;
    s.move_ticket(
        t,
        ticket.id,
        &moved(TicketEvent::Finish),
        T0 + Duration::minutes(9),
        &audit("counter.finished"),
    )
    .await?;
    let room = s.room(t, new.id).await?;
    assert_eq!(
        (room.state, room.ended_at),
        (RoomState::Ended, Some(T0 + Duration::minutes(9)))
    );
    Ok(())
}

async fn rooms_are_placed_on_live_media_nodes_and_move_off_lost_ones<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    use madoguchi_counter::RoomState;
    use madoguchi_domain::MediaNodeId;
    use madoguchi_storage::{NewMediaNode, NewRoom};
    let (t, department, ticket, _) = called(s, "nishi").await?;
    let room = NewRoom {
        id: RoomId::new(),
        department,
        state: RoomState::Live,
    };
    s.answer_into_room(t, ticket.id, &room, T0, &audit("counter.answered"))
        .await?;
    let lost_after = Duration::seconds(10);
    let at = |s: i64| T0 + Duration::seconds(s);
    // No node: nothing to place on.
    match s
        .place_room(t, room.id, at(1), lost_after, &audit("counter.room_moved"))
        .await
    {
        Err(StorageError::CounterRule(ErrorCode::MediaUnavailable)) => {}
        other => panic!("placed without a node: {other:?}"),
    }
    let node = |url: &str, capacity| NewMediaNode {
        id: MediaNodeId::new(),
        signal_url: url.into(),
        capacity,
    };
    let (a, b) = (
        node("http://media-a:9000", 2),
        node("https://media-b.example.jp", 10),
    );
    s.register_media_node(&a, at(0)).await?;
    s.register_media_node(&b, at(0)).await?;
    assert_eq!(s.media_nodes().await?.len(), 2);
    // A is half full, B empty: the room goes to B, and stays there when B fills up.
    assert!(s.report_media_node(a.id, 1, at(1)).await?);
    let placed = s
        .place_room(t, room.id, at(1), lost_after, &audit("counter.room_moved"))
        .await?;
    assert_eq!((placed.node.id, placed.moved_from), (b.id, None));
    assert_eq!(placed.node.signal_url, "https://media-b.example.jp");
    assert_eq!(s.room(t, room.id).await?.media_node, Some(b.id));
    assert!(s.report_media_node(b.id, 10, at(2)).await?);
    let stays = s
        .place_room(t, room.id, at(3), lost_after, &audit("counter.room_moved"))
        .await?;
    assert_eq!((stays.node.id, stays.node.load), (b.id, 10));
    // Another city's room is not found.
    let other = tenant(s, "kita").await?;
    assert!(matches!(
        s.place_room(other.id, room.id, at(3), lost_after, &audit("x"))
            .await,
        Err(StorageError::NotFound)
    ));
    // B falls silent; A keeps reporting. Once B is lost its open room is found and moved to
    // A, the move audited with the room as its target.
    assert!(s.report_media_node(a.id, 1, at(19)).await?);
    assert!(
        s.rooms_on_lost_nodes(at(11), lost_after, 10)
            .await?
            .is_empty()
    );
    assert_eq!(
        s.rooms_on_lost_nodes(at(20), lost_after, 10).await?,
        vec![(t, room.id)]
    );
    let moved = s
        .place_room(t, room.id, at(20), lost_after, &audit("counter.room_moved"))
        .await?;
    assert_eq!((moved.node.id, moved.moved_from), (a.id, Some(b.id)));
    assert!(
        s.rooms_on_lost_nodes(at(20), lost_after, 10)
            .await?
            .is_empty()
    );
    let log = s
        .list_audit(
            t,
            &AuditFilter {
                action_prefix: Some("counter.room_moved".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].target.as_deref(), Some(room.id.to_string().as_str()));
    // A stops on purpose: no live node is left. A retired node's report is refused (it must
    // register again), after which it takes rooms again.
    s.retire_media_node(a.id, at(21)).await?;
    assert!(matches!(
        s.place_room(t, room.id, at(21), lost_after, &audit("x"))
            .await,
        Err(StorageError::CounterRule(ErrorCode::MediaUnavailable))
    ));
    assert!(!s.report_media_node(a.id, 0, at(22)).await?);
    s.register_media_node(&a, at(22)).await?;
    let back = s
        .place_room(t, room.id, at(23), lost_after, &audit("x"))
        .await?;
    assert_eq!((back.node.id, back.moved_from), (a.id, None));
    // The room's media node keeps what reaches each participant; a newer report replaces one.
    use madoguchi_storage::ParticipantQuality;
    let report = |participant: &str, lost: u64, s: i64| ParticipantQuality {
        participant: participant.into(),
        role: madoguchi_counter::ParticipantRole::Resident,
        quality: madoguchi_counter::Quality {
            join_ms: Some(900),
            packets_received: 1000,
            packets_lost: lost,
            freezes: 0,
            round_trip_ms: None,
        },
        reported_at: at(s),
    };
    s.save_room_quality(
        t,
        room.id,
        &[report("resident.a", 3, 24), report("kiosk.b", 0, 24)],
    )
    .await?;
    s.save_room_quality(t, room.id, &[report("resident.a", 9, 26)])
        .await?;
    let kept = s.room_quality(t, room.id).await?;
    assert_eq!(
        kept,
        vec![report("kiosk.b", 0, 24), report("resident.a", 9, 26)]
    );
    assert!(s.room_quality(other.id, room.id).await?.is_empty());
    // A node's URL must be an http(s) URL.
    assert!(
        s.register_media_node(&node("ftp://media-c", 1), at(23))
            .await
            .is_err()
    );
    Ok(())
}
