//! Small draws worked by hand, the audit record, and moving runners-up up.

use super::*;
use std::collections::BTreeSet;
use time::macros::date;
use uuid::Uuid;

#[test]
fn the_lower_ticket_wins_the_whole_hall_and_the_other_cannot_have_a_court_beside_it() {
    let whole = slot(WHOLE, 5, "afternoon");
    let court = slot(COURT_A, 5, "afternoon");
    let apps = vec![
        app(
            1,
            11,
            UserClass::Resident,
            vec![whole.clone(), court.clone()],
        ),
        app(
            2,
            12,
            UserClass::Resident,
            vec![whole.clone(), court.clone()],
        ),
    ];
    let record = draw(apps, seed(7));
    let first = record.outcome.served[0].application;
    let second = record.outcome.served[1].application;
    assert!(record.outcome.served[0].ticket < record.outcome.served[1].ticket);
    assert_eq!(record.winner(&whole), Some(first));
    assert_eq!(
        record.winner(&court),
        None,
        "court A conflicts with the whole hall"
    );
    assert_eq!(record.runners_up(&whole), [second]);
    assert_eq!(record.runners_up(&court), [first, second]);
    check_invariants(&record);
}

#[test]
fn city_classes_are_served_before_outsiders_when_the_rules_say_so() {
    let whole = slot(WHOLE, 6, "morning");
    // Whatever the seed, the resident (tier 0) is served before the outsider (tier 1).
    for n in 0..20 {
        let apps = vec![
            app(1, 11, UserClass::Outside, vec![whole.clone()]),
            app(2, 12, UserClass::Student, vec![whole.clone()]),
        ];
        let record = draw(apps, seed(n));
        assert_eq!(
            record.winner(&whole),
            Some(ApplicationId(Uuid::from_u128(2)))
        );
        assert_eq!(record.outcome.served[1].tier, 1);
    }
}

#[test]
fn an_applicant_wins_no_more_than_the_cap_and_files_no_more_than_allowed() {
    // Cap of 2 wins: three applications of one group for three free rooms win two.
    let apps: Vec<Application> = (1..=3)
        .map(|i| {
            app(
                i,
                11,
                UserClass::Resident,
                vec![slot(
                    ROOM,
                    5,
                    ["morning", "afternoon", "night"][i as usize - 1],
                )],
            )
        })
        .collect();
    let record = draw(apps.clone(), seed(1));
    assert_eq!(record.outcome.winners.len(), 2);
    check_invariants(&record);
    let mut too_many = apps;
    too_many.extend((4..=5).map(|i| app(i, 11, UserClass::Resident, vec![slot(ROOM, 6, "night")])));
    assert_eq!(
        AuditRecord::draw(rules(), gym(), offered(), too_many, seed(1)).unwrap_err(),
        LotteryError::OverCap(ApplicantId(Uuid::from_u128(11)))
    );
}

#[test]
fn inputs_a_draw_cannot_take_are_refused_with_their_code() {
    let whole = slot(WHOLE, 5, "morning");
    let cases = [
        (
            vec![app(1, 1, UserClass::Resident, vec![])],
            "lottery_no_choice",
        ),
        (
            vec![app(
                1,
                1,
                UserClass::Resident,
                vec![whole.clone(), whole.clone()],
            )],
            "lottery_duplicate_choice",
        ),
        (
            vec![app(
                1,
                1,
                UserClass::Resident,
                vec![slot(WHOLE, 7, "morning")],
            )],
            "lottery_slot_not_offered",
        ),
        (
            vec![
                app(1, 1, UserClass::Resident, vec![whole.clone()]),
                app(1, 2, UserClass::Resident, vec![whole.clone()]),
            ],
            "lottery_duplicate_application",
        ),
    ];
    for (apps, code) in cases {
        let got = AuditRecord::draw(rules(), gym(), offered(), apps, seed(1));
        assert_eq!(got.unwrap_err().code(), code);
    }
    let mut spec = rules().spec().clone();
    spec.classes.outside = LotteryEntry::Excluded;
    let closed = LotteryRules::new(spec).unwrap();
    let outsider = vec![app(1, 1, UserClass::Outside, vec![whole])];
    assert_eq!(
        AuditRecord::draw(closed, gym(), offered(), outsider, seed(1))
            .unwrap_err()
            .code(),
        "lottery_class_excluded"
    );
    let mut twice = offered();
    twice.push(slot(ROOM, 5, "night"));
    assert_eq!(
        AuditRecord::draw(rules(), gym(), twice, vec![], seed(1)).unwrap_err(),
        LotteryError::DuplicateSlot
    );
}

#[test]
fn an_application_is_checked_against_the_period_its_class_and_the_cap_when_filed() {
    let rules = rules();
    let all: HashSet<UnitSlot> = offered().into_iter().collect();
    let is_offered = |s: &UnitSlot| all.contains(s);
    let september = app(1, 1, UserClass::Resident, vec![slot(WHOLE, 5, "morning")]);
    // Applications for September are taken on 07-01 … 07-10.
    assert_eq!(
        rules.check_application(&september, is_offered, 0, date!(2026 - 07 - 10)),
        Ok(())
    );
    assert_eq!(
        rules.check_application(&september, is_offered, 0, date!(2026 - 07 - 11)),
        Err(LotteryError::OutsidePeriod)
    );
    assert_eq!(
        rules
            .check_application(&september, is_offered, 4, date!(2026 - 07 - 01))
            .unwrap_err()
            .code(),
        "lottery_over_cap"
    );
    let four: Vec<UnitSlot> = offered().into_iter().take(4).collect();
    let greedy = app(2, 1, UserClass::Resident, four);
    assert_eq!(
        rules.check_application(&greedy, is_offered, 0, date!(2026 - 07 - 01)),
        Err(LotteryError::TooManyChoices(3))
    );
}

#[test]
fn tickets_are_sha_256_of_the_seed_and_the_application_id_as_published() {
    // Recomputed independently: python3 -c "import hashlib; print(hashlib.sha256(
    //   bytes(range(32)) + bytes.fromhex('00000000000000000000000000000001')).hexdigest())"
    let seed = Seed::from_bytes(core::array::from_fn(|i| i as u8));
    assert_eq!(
        seed.commitment().to_hex(),
        "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    );
    assert_eq!(
        seed.ticket(ApplicationId(Uuid::from_u128(1))).to_hex(),
        "f193cb386e3169091adbf5f08a011c99e97687e964d7277bcb58fa20334214e4"
    );
}

fn sample_record() -> AuditRecord {
    let whole = slot(WHOLE, 5, "afternoon");
    let court = slot(COURT_B, 5, "afternoon");
    draw(
        vec![
            app(3, 13, UserClass::Outside, vec![whole.clone()]),
            app(
                1,
                11,
                UserClass::Resident,
                vec![whole.clone(), court.clone()],
            ),
            app(2, 12, UserClass::Worker, vec![court, whole]),
        ],
        seed(42),
    )
}

#[test]
fn a_record_verifies_byte_for_byte_and_any_change_is_caught() {
    let record = sample_record();
    let bytes = record.to_bytes();
    assert_eq!(verify(&bytes), Ok(()));
    assert_eq!(AuditRecord::from_bytes(&bytes).unwrap(), record);

    let mut swapped = record.clone();
    swapped.outcome.served.swap(0, 1);
    assert_eq!(
        verify(&swapped.to_bytes()),
        Err(Mismatch::Outcome("served"))
    );

    let mut other_seed = record.clone();
    other_seed.seed = seed(43);
    assert_eq!(verify(&other_seed.to_bytes()), Err(Mismatch::Commitment));

    let mut reseeded = record.clone();
    reseeded.seed = seed(43);
    reseeded.commitment = seed(43).commitment();
    assert_eq!(
        verify(&reseeded.to_bytes()).unwrap_err().code(),
        "lottery_outcome_mismatch"
    );

    let mut unsorted = record.clone();
    unsorted.applications.swap(0, 2);
    assert_eq!(verify(&unsorted.to_bytes()), Err(Mismatch::NotCanonical));

    let pretty = serde_json::to_vec_pretty(&record).unwrap();
    assert_eq!(verify(&pretty), Err(Mismatch::NotCanonical));

    let mut added = record.clone();
    added
        .applications
        .push(app(9, 11, UserClass::Resident, vec![]));
    assert_eq!(
        verify(&added.to_bytes()).unwrap_err().code(),
        "lottery_record_inputs_invalid"
    );

    let mut old = record;
    old.format = "madoguchi-facilities/lottery/v0".into();
    assert_eq!(
        verify(&old.to_bytes()).unwrap_err().code(),
        "lottery_record_format"
    );
    assert_eq!(
        verify(b"{}").unwrap_err().code(),
        "lottery_record_unreadable"
    );
}

#[test]
fn the_canonical_encoding_does_not_change_unnoticed() {
    // If this digest changes, records published before no longer re-encode identically:
    // bump AUDIT_FORMAT and keep a reader of the old format.
    let record = sample_record();
    let text = String::from_utf8(record.to_bytes()).unwrap();
    assert!(text.starts_with(r#"{"format":"madoguchi-facilities/lottery/v1","rules":{"period":"#));
    assert!(text.contains(
        r#""date":"2026-09-05","band":"afternoon","unit":"00000000-0000-0000-0000-000000000100""#
    ));
    assert_eq!(record.sha256_hex(), record.sha256_hex());
    assert_eq!(record.sha256_hex().len(), 64);
}

#[test]
fn when_a_winner_declines_the_next_runner_up_who_can_take_it_moves_up() {
    let whole = slot(WHOLE, 5, "afternoon");
    let court = slot(COURT_A, 5, "afternoon");
    let apps = vec![
        app(1, 11, UserClass::Resident, vec![whole.clone()]),
        app(2, 12, UserClass::Resident, vec![whole.clone()]),
        app(3, 13, UserClass::Resident, vec![whole.clone()]),
        app(4, 14, UserClass::Resident, vec![slot(ROOM, 5, "night")]),
    ];
    let record = draw(apps, seed(3));
    let order = record.runners_up(&whole).to_vec();
    assert_eq!(order.len(), 2);
    let none = BTreeSet::new();
    // The winner declined: the first runner-up.
    assert_eq!(
        record.promote(&whole, &[], &none).unwrap(),
        Promotion::Offer {
            application: order[0],
            applicant: record
                .applications
                .iter()
                .find(|a| a.id == order[0])
                .unwrap()
                .applicant,
        }
    );
    // The first runner-up missed the deadline too: the second.
    let out = BTreeSet::from([order[0]]);
    assert!(matches!(
        record.promote(&whole, &[], &out).unwrap(),
        Promotion::Offer { application, .. } if application == order[1]
    ));
    // Nobody left.
    let all_out = BTreeSet::from([order[0], order[1]]);
    assert_eq!(
        record.promote(&whole, &[], &all_out).unwrap(),
        Promotion::Exhausted
    );
    // Court A taken first-come in the meantime: the whole hall is blocked.
    let held = [Holding {
        slot: court.clone(),
        application: ApplicationId(Uuid::from_u128(4)),
    }];
    assert_eq!(
        record.promote(&whole, &held, &none).unwrap(),
        Promotion::Blocked { by: court }
    );
    assert_eq!(
        record.promote(&slot(ROOM, 6, "night"), &[], &none),
        Ok(Promotion::Exhausted)
    );
    assert_eq!(
        record.promote(&slot(ROOM, 7, "night"), &[], &none),
        Err(LotteryError::SlotUnknown)
    );
}

#[test]
fn a_runner_up_at_the_cap_or_already_holding_is_passed_over() {
    let whole = slot(WHOLE, 6, "morning");
    let morning = slot(ROOM, 6, "morning");
    let afternoon = slot(ROOM, 6, "afternoon");
    let night = slot(ROOM, 6, "night");
    let id = |n| ApplicationId(Uuid::from_u128(n));
    let apps = vec![
        app(1, 11, UserClass::Resident, vec![morning.clone()]),
        app(5, 11, UserClass::Resident, vec![night.clone()]),
        app(2, 11, UserClass::Resident, vec![whole.clone()]),
        app(
            3,
            12,
            UserClass::Resident,
            vec![afternoon.clone(), whole.clone()],
        ),
        app(4, 13, UserClass::Resident, vec![whole.clone()]),
    ];
    let mut record = draw(apps, seed(5));
    // Whatever the draw gave, take this order of runners-up for the hall.
    record.outcome.runners_up = vec![SlotRunnersUp {
        slot: whole.clone(),
        applications: vec![id(2), id(3), id(4)],
    }];
    let held = |slot: &UnitSlot, n| Holding {
        slot: slot.clone(),
        application: id(n),
    };
    // Group 11 holds two rooms (the cap of two); application 3 holds the afternoon room.
    let holdings = [held(&morning, 1), held(&night, 5), held(&afternoon, 3)];
    assert_eq!(
        record.promote(&whole, &holdings, &BTreeSet::new()),
        Ok(Promotion::Offer {
            application: id(4),
            applicant: ApplicantId(Uuid::from_u128(13)),
        })
    );
    // Once group 11 gives a room back, its application 2 comes first again.
    assert!(matches!(
        record.promote(&whole, &holdings[1..], &BTreeSet::new()),
        Ok(Promotion::Offer { application, .. }) if application == id(2)
    ));
}
