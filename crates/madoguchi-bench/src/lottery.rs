//! `madoguchi bench lottery`: the monthly facility lottery at the size of a busy cycle, and a
//! rush on one hall.
//!
//! Setup (not timed): a facility of 22 units (two halls of two courts each, sixteen rooms), a
//! draw for August 2030 offering 2,000 unit-slots (unit × day × band), and 10,000 applications
//! of one to three choices each from 4,000 applicants (at most four each), filed one by one
//! through the store as residents would. Timed: the draw as the city runs it — read the draw,
//! its applications and its seed, draw (`AuditRecord::draw`), and store the record with every
//! application's place and win in one transaction. The ceiling, in the same run: the draw
//! alone, in memory. Reproducible: the draw redone from the stored inputs with the same seed
//! gives the stored record byte for byte, and `verify` accepts it.
//!
//! The rush: 500 clients book 50 overlapping ranges of one hall and its two courts at once
//! through the store; every pair of bookings left is checked for a whole/part overlap.

use crate::booking::open_db;
use madoguchi_domain::TenantId;
use madoguchi_facilities::{
    ApplicantId, Application, ApplicationId, AuditRecord, BandCode, ClassRules, FacilityBookingId,
    FacilityId, FacilityLayout, LotteryRules, Range, Seed, TimeRules, UnitId, UnitSlot, UserClass,
    ranges_overlap, verify,
};
use madoguchi_storage::{
    ActorKind, Facility, FacilityBookingStatus, NewAuditEntry, NewFacilityBooking, NewLottery,
    Storage, StorageError, now_utc,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

#[derive(clap::Args, Clone, Debug)]
pub struct LotteryArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Applications filed before the draw.
    #[arg(long, default_value_t = 10_000)]
    pub applications: usize,
    /// Unit-slots the draw offers (at most 22 units × 31 days × 3 bands = 2,046).
    #[arg(long, default_value_t = 2_000)]
    pub slots: usize,
    /// Clients of the rush on one hall.
    #[arg(long, default_value_t = 500)]
    pub rush_clients: usize,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// PostgreSQL connections of the app's pool.
    #[arg(long, default_value_t = madoguchi_storage_postgres::DEFAULT_MAX_CONNECTIONS)]
    pub pg_pool: u32,
}

/// A deterministic stream of numbers for the generated applications (not the draw's: the
/// draw's order comes from its seed alone).
struct Stream(u64);

impl Stream {
    fn next(&mut self, below: usize) -> usize {
        let digest = Sha256::digest(self.0.to_be_bytes());
        self.0 += 1;
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(head) % below.max(1) as u64) as usize
    }
}

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: now_utc(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

fn unit(n: u128) -> UnitId {
    UnitId(Uuid::from_u128(0xfac0_0000 + n))
}

/// Two halls (units 0 and 3) of two courts each (1, 2 and 4, 5), and rooms 6 to 21.
fn facility() -> anyhow::Result<Facility> {
    let mut units = Vec::new();
    for hall in [0u128, 3] {
        units.push(serde_json::json!({"id": unit(hall), "name_ja": format!("ホール{hall}"), "name_en": format!("Hall {hall}"), "capacity_people": 300}));
        for court in [hall + 1, hall + 2] {
            units.push(serde_json::json!({"id": unit(court), "name_ja": format!("コート{court}"), "name_en": format!("Court {court}"), "capacity_people": 150, "parent": unit(hall)}));
        }
    }
    for room in 6..22u128 {
        units.push(serde_json::json!({"id": unit(room), "name_ja": format!("会議室{room}"), "name_en": format!("Room {room}"), "capacity_people": 30}));
    }
    let layout: FacilityLayout = serde_json::from_value(serde_json::json!({ "units": units }))?;
    let rates = serde_json::json!({"base": {"per": "band", "yen": {"morning": 2000, "afternoon": 2500, "night": 3000}}});
    let fees: Vec<_> = (0..22u128)
        .map(|n| serde_json::json!({"unit": unit(n), "city": rates}))
        .collect();
    Ok(Facility {
        id: FacilityId::new(),
        code: "bench-centre".into(),
        name_ja: "ベンチ市民センター".into(),
        name_en: "Bench Civic Centre".into(),
        office: None,
        layout,
        time_rules: TimeRules::default_bands().map_err(|e| anyhow::anyhow!("{e}"))?,
        fee_table: serde_json::from_value(serde_json::json!({
            "revenue_category": "facility_fee", "units": fees, "outside_percent": 150
        }))?,
        refund_rule: serde_json::from_value(serde_json::json!({"tiers": []}))?,
    })
}

fn offered(count: usize) -> anyhow::Result<Vec<UnitSlot>> {
    let mut slots = Vec::new();
    for day in 1..=31u8 {
        for band in ["morning", "afternoon", "night"] {
            for n in 0..22u128 {
                slots.push(UnitSlot {
                    date: time::Date::from_calendar_date(2030, time::Month::August, day)?,
                    band: BandCode::parse(band).map_err(|e| anyhow::anyhow!("{e}"))?,
                    unit: unit(n),
                });
            }
        }
    }
    anyhow::ensure!(
        count <= slots.len(),
        "--slots must be at most {}",
        slots.len()
    );
    slots.truncate(count);
    Ok(slots)
}

/// The draw as the city runs it; answers the stored record's bytes.
async fn draw(
    storage: &Arc<dyn Storage>,
    t: TenantId,
    id: Uuid,
    layout: &FacilityLayout,
) -> anyhow::Result<Vec<u8>> {
    let opened = storage.lottery(t, id).await?;
    let applications = storage.lottery_applications(t, id).await?;
    let seed = storage.lottery_seed(t, id).await?;
    let record = AuditRecord::draw(
        opened.rules,
        layout.clone(),
        opened.slots,
        applications.into_iter().map(|f| f.application).collect(),
        seed,
    )?;
    let drawn = storage
        .record_lottery_draw(t, id, &record, now_utc(), &audit("lottery.drawn"))
        .await?;
    drawn
        .drawn
        .map(|d| d.bytes)
        .ok_or_else(|| anyhow::anyhow!("the draw was not stored"))
}

/// 500 clients on one hall and its courts: how many booked, and how many pairs overlap.
async fn rush(
    storage: &Arc<dyn Storage>,
    t: TenantId,
    facility: &Facility,
    clients: usize,
) -> anyhow::Result<(usize, usize, f64)> {
    let day = time::macros::datetime!(2030-09-01 09:00:00 +09:00).to_offset(time::UtcOffset::UTC);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let storage = storage.clone();
            let layout = facility.layout.clone();
            let facility_id = facility.id;
            tokio::spawn(async move {
                // 50 ranges: starts every 15 minutes from 09:00, one to two hours long.
                let range = n % 50;
                let start = day + time::Duration::minutes(15 * range as i64);
                let used = Range::new(
                    start,
                    start + time::Duration::minutes(60 + 30 * (n % 3) as i64),
                )
                .ok_or_else(|| anyhow::anyhow!("range"))?;
                let occupied = Range::new(used.start(), used.end() + time::Duration::minutes(30))
                    .ok_or_else(|| anyhow::anyhow!("range"))?;
                let target = unit([0u128, 1, 2][n % 3]);
                let new = NewFacilityBooking {
                    id: FacilityBookingId::new(),
                    facility: facility_id,
                    unit: target,
                    occupied_units: layout
                        .occupied_units(target)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .into_iter()
                        .collect(),
                    date: time::macros::date!(2030 - 09 - 01),
                    used,
                    occupied,
                    holder: None,
                    holder_name: format!("団体{n}"),
                    class: UserClass::Resident,
                    fee_yen: 2_000,
                    status: FacilityBookingStatus::Provisional,
                    pay_by: Some(now_utc() + time::Duration::days(7)),
                    at: now_utc(),
                };
                match storage
                    .book_facility(t, &new, &audit("facility.booked"))
                    .await
                {
                    Ok(_) => anyhow::Ok(true),
                    Err(StorageError::FacilityRule(_)) => anyhow::Ok(false),
                    Err(other) => Err(other.into()),
                }
            })
        })
        .collect();
    let mut booked = 0;
    for task in tasks {
        if task.await?? {
            booked += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let window = Range::new(
        day - time::Duration::hours(1),
        day + time::Duration::hours(24),
    )
    .ok_or_else(|| anyhow::anyhow!("window"))?;
    let held = storage.facility_bookings(t, facility.id, window).await?;
    anyhow::ensure!(held.len() == booked, "{} held, {booked} booked", held.len());
    let mut double = 0;
    for (i, a) in held.iter().enumerate() {
        for b in &held[i + 1..] {
            if facility.layout.conflicts(a.unit, b.unit) && ranges_overlap(&a.occupied, &b.occupied)
            {
                double += 1;
            }
        }
    }
    Ok((booked, double, seconds))
}

pub async fn run(args: LotteryArgs) -> anyhow::Result<()> {
    let db = open_db(&args.backend, &args.postgres_admin_url, args.pg_pool).await?;
    let storage = db.storage.clone();
    storage.migrate().await?;
    let tenant = storage
        .create_tenant(&madoguchi_storage::NewTenant {
            slug: madoguchi_domain::TenantSlug::parse("bench-lottery")
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            name_ja: "ベンチ市".into(),
            name_en: "Bench City".into(),
            host: None,
        })
        .await?;
    let t = tenant.id;
    let facility = facility()?;
    storage
        .save_facility(t, &facility, now_utc(), &audit("facility.saved"))
        .await?;
    let slots = offered(args.slots)?;
    let mut rules_spec = LotteryRules::standard(&ClassRules::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .spec()
        .clone();
    rules_spec.applications_max_per_applicant = 4;
    let rules = LotteryRules::new(rules_spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut seed_bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed_bytes);
    let seed = Seed::from_bytes(seed_bytes);
    let id = Uuid::now_v7();
    storage
        .open_lottery(
            t,
            &NewLottery {
                id,
                facility: facility.id,
                use_month: "2030-08".into(),
                rules: rules.clone(),
                slots: slots.clone(),
                seed,
                at: now_utc(),
            },
            &audit("lottery.opened"),
        )
        .await?;
    eprintln!(
        "filing {} applications for {} unit-slots on {} …",
        args.applications,
        slots.len(),
        args.backend
    );
    let applicants = (args.applications * 2 / 5).max(1);
    let mut stream = Stream(1);
    let mut per_applicant = vec![0u16; applicants];
    let setup = Instant::now();
    for n in 0..args.applications {
        // The next applicant with room under the cap, from a pseudo-random start.
        let mut who = stream.next(applicants);
        while per_applicant[who] >= 4 {
            who = (who + 1) % applicants;
        }
        per_applicant[who] += 1;
        let mut choices: Vec<UnitSlot> = Vec::new();
        for _ in 0..1 + stream.next(3) {
            let pick = slots[stream.next(slots.len())].clone();
            if !choices.contains(&pick) {
                choices.push(pick);
            }
        }
        let application = Application {
            id: ApplicationId::new(),
            applicant: ApplicantId(Uuid::from_u128(0xa000_0000 + who as u128)),
            class: if n % 10 == 0 {
                UserClass::Outside
            } else {
                UserClass::Resident
            },
            choices,
        };
        storage
            .file_lottery_application(
                t,
                id,
                &application,
                None,
                4,
                now_utc(),
                &audit("lottery.applied"),
            )
            .await?;
    }
    eprintln!("filed in {:.1} s; drawing …", setup.elapsed().as_secs_f64());

    // The ceiling: the draw alone, in memory, on the same inputs.
    let inputs: Vec<Application> = storage
        .lottery_applications(t, id)
        .await?
        .into_iter()
        .map(|f| f.application)
        .collect();
    let started = Instant::now();
    let in_memory = AuditRecord::draw(
        rules.clone(),
        facility.layout.clone(),
        slots.clone(),
        inputs.clone(),
        seed,
    )?;
    let ceiling_ms = started.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    let stored = draw(&storage, t, id, &facility.layout).await?;
    let draw_ms = started.elapsed().as_secs_f64() * 1000.0;

    // Reproducible: the same inputs and seed, drawn in memory above, give the stored bytes;
    // verify() agrees.
    let reproducible = in_memory.to_bytes() == stored && verify(&stored).is_ok();
    let won = in_memory.outcome.winners.len();

    eprintln!(
        "rushing {} clients on one hall and its courts …",
        args.rush_clients
    );
    let (booked, double, rush_s) = rush(&storage, t, &facility, args.rush_clients).await?;

    println!(
        "lottery on {}: {} applications for {} unit-slots, {won} won",
        args.backend,
        args.applications,
        slots.len()
    );
    println!(
        "  draw:     {draw_ms:.0} ms (read the inputs, draw, store the record and every place)"
    );
    println!("  ceiling:  {ceiling_ms:.0} ms (the draw alone, in memory)");
    println!(
        "  record:   {} bytes, reproducible: {reproducible}",
        stored.len()
    );
    println!(
        "  rush:     {} clients on 50 overlapping ranges of a hall and its courts: {booked} booked, {double} double bookings, {rush_s:.2} s",
        args.rush_clients
    );
    println!(
        "{}",
        serde_json::json!({
            "backend": args.backend,
            "applications": args.applications,
            "slots": slots.len(),
            "draw_ms": draw_ms.round(),
            "reproducible": reproducible,
        })
    );
    db.remove().await;
    anyhow::ensure!(reproducible, "the draw was not reproducible");
    anyhow::ensure!(double == 0, "{double} double bookings");
    Ok(())
}
