//! The words residents read about their reservations: subject, text and calendar file for each
//! [`ReservationEvent`], in plain, polite Japanese (many readers are elderly) or in English.
//! Pure: the caller passes the current instant.
//!
//! The text suits every channel (mail body, LINE message): it names the city, says what
//! happened first, then the reservation (what, when, where) and the page to manage it.

use crate::ics::{self, EventStatus};
use crate::when;
use madoguchi_domain::{Lang, ReservationId, ReservationRef, TenantId};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use time::OffsetDateTime;

/// A staff member's cancellation reason is cut to this many characters in a message.
pub const REASON_MAX_CHARS: usize = 400;

/// A name in both languages, e.g. of a service, an office or a city.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    pub ja: String,
    #[serde(default)]
    pub en: String,
}

impl Bilingual {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The name in `lang`; English falls back to Japanese when it has no English name.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.en.trim().is_empty() => &self.en,
            _ => &self.ja,
        }
    }
}

/// What happened to a reservation that the resident should hear about.
///
/// Serialized with a `kind` tag: `{"kind":"cancelled","by_staff":true,"reason":"…"}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReservationEvent {
    /// Booked (or a hold confirmed).
    Confirmed,
    /// Time or place changed; the facts hold the new ones.
    Changed,
    /// Cancelled by the resident, or by staff (then with the reason they gave).
    Cancelled {
        by_staff: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A waiting-list request became a reservation on its own.
    WaitlistPromoted,
    /// A place is free for someone on the waiting list, who must take it by `respond_by`.
    WaitlistOffer {
        #[serde(with = "time::serde::rfc3339")]
        respond_by: OffsetDateTime,
    },
    /// The reservation is soon (sent the day before).
    Reminder,
}

impl ReservationEvent {
    /// A stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ReservationEvent::Confirmed => "confirmed",
            ReservationEvent::Changed => "changed",
            ReservationEvent::Cancelled { .. } => "cancelled",
            ReservationEvent::WaitlistPromoted => "waitlist_promoted",
            ReservationEvent::WaitlistOffer { .. } => "waitlist_offer",
            ReservationEvent::Reminder => "reminder",
        }
    }
}

impl std::fmt::Debug for ReservationEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A staff member's free-text reason may name people: it is left out.
        match self {
            ReservationEvent::Cancelled { by_staff, reason } => f
                .debug_struct("Cancelled")
                .field("by_staff", by_staff)
                .field("reason", &reason.as_ref().map(|_| "[redacted]"))
                .finish(),
            ReservationEvent::WaitlistOffer { respond_by } => f
                .debug_struct("WaitlistOffer")
                .field("respond_by", respond_by)
                .finish(),
            other => f.write_str(other.kind()),
        }
    }
}

/// What a message says about a reservation. Holds no personal data: the server fills it from
/// the reservation, its slot, service, office and tenant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationFacts {
    pub tenant_id: TenantId,
    pub reservation_id: ReservationId,
    /// The reservation number the resident reads out to the office (予約番号). `None` only in
    /// messages queued before reservations had numbers.
    #[serde(default)]
    pub reference: Option<ReservationRef>,
    pub service: Bilingual,
    pub office: Bilingual,
    pub city: Bilingual,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// The absolute URL of the resident's page for this reservation (check, change, cancel).
    /// Its host also names the calendar event (`UID`).
    pub manage_url: String,
    /// The reservation's revision: 0 when booked, one more each time its time or place
    /// changes. Calendars replace an event only by a higher (or equal) `SEQUENCE`.
    #[serde(default)]
    pub sequence: u32,
}

impl std::fmt::Debug for ReservationFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The manage URL may carry an access token.
        f.debug_struct("ReservationFacts")
            .field("tenant_id", &self.tenant_id)
            .field("reservation_id", &self.reservation_id)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl ReservationFacts {
    /// The host of the manage URL (without port or user info), for the calendar `UID`.
    fn host(&self) -> &str {
        let rest = self
            .manage_url
            .trim()
            .split_once("://")
            .map_or("", |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        host_port.split(':').next().unwrap_or_default()
    }
}

/// A message ready for any channel. `ics` is an RFC 5545 calendar (`METHOD:REQUEST` or
/// `METHOD:CANCEL`, see [`ics::method_of`]) for channels that can attach it.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// The municipality it is sent for (the mail outbox keeps each tenant's mail apart).
    pub tenant_id: Option<TenantId>,
    pub subject: String,
    pub text: String,
    pub ics: Option<String>,
    /// The same on every attempt of one delivery, so a retried LINE push is not shown twice
    /// (`X-Line-Retry-Key`). Set by the job, see [`crate::NotifyReservation`].
    pub delivery_id: Option<uuid::Uuid>,
}

impl std::fmt::Debug for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("tenant_id", &self.tenant_id)
            .field("text_chars", &self.text.chars().count())
            .field("ics", &self.ics.is_some())
            .field("delivery_id", &self.delivery_id)
            .finish_non_exhaustive()
    }
}

/// One reservation in a resident's subscription feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    pub facts: ReservationFacts,
    /// Cancelled reservations stay in the feed for a while, so subscribed calendars drop them.
    #[serde(default)]
    pub cancelled: bool,
}

/// The message about `event` for a resident who reads `lang`.
pub fn render(
    event: &ReservationEvent,
    facts: &ReservationFacts,
    lang: Lang,
    now: OffsetDateTime,
) -> Notification {
    let city = facts.city.get(lang);
    let service = facts.service.get(lang);
    let office = facts.office.get(lang);
    let headline = headline(event, lang);
    let subject = match lang {
        Lang::Ja => format!("[{city}] {headline}：{service}"),
        Lang::En => format!("[{city}] {headline}: {service}"),
    };

    let mut text = String::new();
    let _ = match lang {
        Lang::Ja => writeln!(text, "{city}からのお知らせです。\n"),
        Lang::En => writeln!(text, "A message from {city}.\n"),
    };
    let _ = writeln!(text, "{}\n", lead(event, lang));
    if let ReservationEvent::Cancelled {
        by_staff: true,
        reason: Some(reason),
    } = event
    {
        let reason = clean_reason(reason);
        if !reason.is_empty() {
            let _ = match lang {
                Lang::Ja => writeln!(text, "取り消しの理由：{reason}\n"),
                Lang::En => writeln!(text, "Reason: {reason}\n"),
            };
        }
    }
    let heading = match (event, lang) {
        (ReservationEvent::WaitlistOffer { .. }, Lang::Ja) => "■空きが出た予約枠",
        (ReservationEvent::WaitlistOffer { .. }, Lang::En) => "The free place",
        (ReservationEvent::Cancelled { .. }, Lang::Ja) => "■取り消したご予約",
        (ReservationEvent::Cancelled { .. }, Lang::En) => "The cancelled reservation",
        (_, Lang::Ja) => "■ご予約の内容",
        (_, Lang::En) => "Your reservation",
    };
    let period = when::period(lang, facts.start, facts.end);
    let _ = match lang {
        Lang::Ja => writeln!(text, "{heading}"),
        Lang::En => writeln!(text, "{heading}"),
    };
    if let Some(reference) = facts.reference {
        let _ = match lang {
            Lang::Ja => writeln!(text, "　予約番号：{reference}"),
            Lang::En => writeln!(text, "  Reservation number: {reference}"),
        };
    }
    let _ = match lang {
        Lang::Ja => writeln!(
            text,
            "　内容：{service}\n　日時：{period}\n　場所：{office}\n"
        ),
        Lang::En => writeln!(
            text,
            "  Service: {service}\n  Date and time: {period}\n  Place: {office}\n"
        ),
    };
    if let Some(advice) = advice(event, lang) {
        let _ = writeln!(text, "{advice}\n");
    }
    let _ = writeln!(text, "{}\n{}\n", link_label(event, lang), facts.manage_url);
    let _ = match lang {
        Lang::Ja => write!(
            text,
            "ご不明な点は、{office}へお問い合わせください。\n{city}\n"
        ),
        Lang::En => write!(
            text,
            "If you have any questions, please contact {office}.\n{city}\n"
        ),
    };

    let ics = match event {
        ReservationEvent::WaitlistOffer { .. } => None,
        ReservationEvent::Cancelled { .. } => Some(ics::invitation(&calendar_event(
            facts,
            lang,
            EventStatus::Cancelled,
            now,
        ))),
        _ => Some(ics::invitation(&calendar_event(
            facts,
            lang,
            EventStatus::Confirmed,
            now,
        ))),
    };

    Notification {
        tenant_id: Some(facts.tenant_id),
        subject,
        text,
        ics,
        delivery_id: None,
    }
}

/// The calendar a resident subscribes to ("my reservations"), in `lang`. The events have the
/// same `UID` as the files attached to the mail, so a calendar that has both keeps one event.
pub fn my_reservations_feed(
    city: &Bilingual,
    lang: Lang,
    entries: &[FeedEntry],
    now: OffsetDateTime,
) -> String {
    let name = match lang {
        Lang::Ja => format!("{} ご予約", city.get(lang)),
        Lang::En => format!("{} reservations", city.get(lang)),
    };
    let events: Vec<ics::Event> = entries
        .iter()
        .map(|entry| {
            let status = if entry.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            };
            calendar_event(&entry.facts, lang, status, now)
        })
        .collect();
    ics::feed(&name, &events)
}

/// The calendar event of a reservation.
pub fn calendar_event(
    facts: &ReservationFacts,
    lang: Lang,
    status: EventStatus,
    now: OffsetDateTime,
) -> ics::Event {
    let city = facts.city.get(lang);
    let service = facts.service.get(lang);
    let office = facts.office.get(lang);
    let url = &facts.manage_url;
    let number = match (facts.reference, lang) {
        (Some(reference), Lang::Ja) => format!("予約番号：{reference}\n"),
        (Some(reference), Lang::En) => format!("Reservation number: {reference}\n"),
        (None, _) => String::new(),
    };
    let description = match (status, lang) {
        (EventStatus::Confirmed, Lang::Ja) => {
            format!("{city}のご予約です。\n{number}ご予約の確認・変更・取り消し：{url}")
        }
        (EventStatus::Confirmed, Lang::En) => {
            format!("Your reservation with {city}.\n{number}Check, change or cancel: {url}")
        }
        (EventStatus::Cancelled, Lang::Ja) => {
            format!("このご予約は取り消されました。\n{number}{city}\n{url}")
        }
        (EventStatus::Cancelled, Lang::En) => {
            format!("This reservation with {city} has been cancelled.\n{number}{url}")
        }
    };
    let clock = when::clock(facts.start);
    let reminder = match lang {
        Lang::Ja => format!("明日{clock}から「{service}」のご予約があります（{office}）"),
        Lang::En => format!("Tomorrow at {clock}: {service} at {office}"),
    };
    ics::Event {
        uid: ics::uid(facts.reservation_id, facts.host()),
        sequence: facts.sequence,
        stamp: now,
        start: facts.start,
        end: facts.end,
        summary: service.to_owned(),
        location: office.to_owned(),
        description,
        url: Some(facts.manage_url.clone()),
        status,
        reminder: Some(reminder),
    }
}

fn headline(event: &ReservationEvent, lang: Lang) -> &'static str {
    match (event, lang) {
        (ReservationEvent::Confirmed, Lang::Ja) => "ご予約を受け付けました",
        (ReservationEvent::Confirmed, Lang::En) => "Reservation confirmed",
        (ReservationEvent::Changed, Lang::Ja) => "ご予約の内容が変わりました",
        (ReservationEvent::Changed, Lang::En) => "Reservation changed",
        (
            ReservationEvent::Cancelled {
                by_staff: false, ..
            },
            Lang::Ja,
        ) => "ご予約を取り消しました",
        (ReservationEvent::Cancelled { by_staff: true, .. }, Lang::Ja) => {
            "ご予約の取り消しについてのお知らせ"
        }
        (ReservationEvent::Cancelled { .. }, Lang::En) => "Reservation cancelled",
        (ReservationEvent::WaitlistPromoted, Lang::Ja) => "キャンセル待ちのご予約が確定しました",
        (ReservationEvent::WaitlistPromoted, Lang::En) => {
            "Your place from the waiting list is confirmed"
        }
        (ReservationEvent::WaitlistOffer { .. }, Lang::Ja) => "キャンセル待ちの枠に空きが出ました",
        (ReservationEvent::WaitlistOffer { .. }, Lang::En) => "A place is free for you",
        (ReservationEvent::Reminder, Lang::Ja) => "ご予約の日が近づいています",
        (ReservationEvent::Reminder, Lang::En) => "Reminder of your reservation",
    }
}

fn lead(event: &ReservationEvent, lang: Lang) -> String {
    match (event, lang) {
        (ReservationEvent::Confirmed, Lang::Ja) => "次のとおり、ご予約を受け付けました。".into(),
        (ReservationEvent::Confirmed, Lang::En) => "Your reservation is confirmed.".into(),
        (ReservationEvent::Changed, Lang::Ja) => {
            "ご予約の内容が、次のとおり変わりました。新しい日時と場所をご確認ください。".into()
        }
        (ReservationEvent::Changed, Lang::En) => {
            "Your reservation has been changed. Please check the new date, time and place.".into()
        }
        (
            ReservationEvent::Cancelled {
                by_staff: false, ..
            },
            Lang::Ja,
        ) => "次のご予約を取り消しました。".into(),
        (
            ReservationEvent::Cancelled {
                by_staff: false, ..
            },
            Lang::En,
        ) => "Your reservation below has been cancelled.".into(),
        (ReservationEvent::Cancelled { by_staff: true, .. }, Lang::Ja) => {
            "誠に申し訳ございませんが、こちらの都合により、次のご予約を取り消しました。".into()
        }
        (ReservationEvent::Cancelled { by_staff: true, .. }, Lang::En) => {
            "We are very sorry, but we have had to cancel your reservation below.".into()
        }
        (ReservationEvent::WaitlistPromoted, Lang::Ja) => {
            "キャンセル待ちをされていた予約枠に空きが出たため、次のとおりご予約が確定しました。"
                .into()
        }
        (ReservationEvent::WaitlistPromoted, Lang::En) => {
            "A place became free, so your waiting-list request is now a confirmed reservation."
                .into()
        }
        (ReservationEvent::WaitlistOffer { respond_by }, Lang::Ja) => format!(
            "キャンセル待ちをされていた予約枠に空きが出ました。\
             ご予約される場合は、{}までに、下のページからお手続きください。\
             期限を過ぎると、次にお待ちの方へご案内します。",
            when::instant(lang, *respond_by)
        ),
        (ReservationEvent::WaitlistOffer { respond_by }, Lang::En) => format!(
            "A place has become free at a time you were waiting for. To take it, please \
             confirm by {} on the page below. After that, we will offer it to the next person.",
            when::instant(lang, *respond_by)
        ),
        (ReservationEvent::Reminder, Lang::Ja) => {
            "ご予約の日が近づいてまいりましたので、お知らせします。".into()
        }
        (ReservationEvent::Reminder, Lang::En) => "This is a reminder of your reservation.".into(),
    }
}

/// What the resident can do next, if anything.
fn advice(event: &ReservationEvent, lang: Lang) -> Option<&'static str> {
    match (event, lang) {
        (
            ReservationEvent::Confirmed
            | ReservationEvent::Changed
            | ReservationEvent::WaitlistPromoted
            | ReservationEvent::Reminder,
            Lang::Ja,
        ) => Some(
            "ご都合が悪くなったときは、ほかの方がご利用になれるよう、お早めにお取り消しください。",
        ),
        (
            ReservationEvent::Confirmed
            | ReservationEvent::Changed
            | ReservationEvent::WaitlistPromoted
            | ReservationEvent::Reminder,
            Lang::En,
        ) => {
            Some("If you cannot come, please cancel early so that someone else can have the place.")
        }
        (ReservationEvent::Cancelled { by_staff: true, .. }, Lang::Ja) => {
            Some("ご迷惑をおかけして、申し訳ございません。")
        }
        (ReservationEvent::Cancelled { by_staff: true, .. }, Lang::En) => {
            Some("We apologise for the inconvenience.")
        }
        _ => None,
    }
}

fn link_label(event: &ReservationEvent, lang: Lang) -> &'static str {
    match (event, lang) {
        (ReservationEvent::Cancelled { .. }, Lang::Ja) => {
            "ご予約の状況の確認や、あらためてのご予約は、次のページからできます。"
        }
        (ReservationEvent::Cancelled { .. }, Lang::En) => {
            "To see your reservations or book again, go to:"
        }
        (ReservationEvent::WaitlistOffer { .. }, Lang::Ja) => "お手続きのページ：",
        (ReservationEvent::WaitlistOffer { .. }, Lang::En) => "To take the place, go to:",
        (_, Lang::Ja) => "ご予約の確認・変更・取り消しは、次のページからできます。",
        (_, Lang::En) => "To check, change or cancel your reservation, go to:",
    }
}

/// The reason as shown: trimmed, without control characters other than line breaks, and cut to
/// [`REASON_MAX_CHARS`].
fn clean_reason(reason: &str) -> String {
    let cleaned: String = reason
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    if cleaned.chars().count() <= REASON_MAX_CHARS {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(REASON_MAX_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ics::{Method, method_of};
    use time::macros::datetime;

    fn facts() -> ReservationFacts {
        ReservationFacts {
            tenant_id: TenantId::new(),
            reservation_id: ReservationId::new(),
            reference: ReservationRef::parse("K7QX-3MPA"),
            service: Bilingual::new("がん検診", "Cancer screening"),
            office: Bilingual::new("中央保健センター", "Central Health Centre"),
            city: Bilingual::new("まどぐち市", "Madoguchi City"),
            start: datetime!(2026-12-03 01:00 UTC),
            end: datetime!(2026-12-03 01:30 UTC),
            manage_url: "https://madoguchi-shi.example.jp:8443/my/reservations/1?x=y".into(),
            sequence: 0,
        }
    }

    fn now() -> OffsetDateTime {
        datetime!(2026-11-20 05:00 UTC)
    }

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn a_confirmation_in_japanese_shows_the_tokyo_date_with_the_weekday() {
        let n = render(&ReservationEvent::Confirmed, &facts(), Lang::Ja, now());
        assert_eq!(n.subject, "[まどぐち市] ご予約を受け付けました：がん検診");
        assert!(n.text.starts_with("まどぐち市からのお知らせです。"));
        assert!(
            n.text.contains("日時：2026年12月3日（木）10:00〜10:30"),
            "{}",
            n.text
        );
        assert!(n.text.contains("場所：中央保健センター"));
        assert!(
            n.text
                .contains("https://madoguchi-shi.example.jp:8443/my/reservations/1?x=y")
        );
        let ics = n.ics.expect("a confirmation carries a calendar file");
        assert_eq!(method_of(&ics), Some(Method::Request));
        assert!(unfold(&ics).contains("SUMMARY:がん検診\r\n"));
    }

    #[test]
    fn the_reservation_number_is_in_the_text_and_the_calendar_file_never_a_uuid() {
        let f = facts();
        for lang in [Lang::Ja, Lang::En] {
            let n = render(&ReservationEvent::Confirmed, &f, lang, now());
            assert!(n.text.contains("K7QX-3MPA"), "{}", n.text);
            assert!(
                !n.text.contains(&f.reservation_id.to_string()),
                "{}",
                n.text
            );
            let ics = unfold(n.ics.as_deref().unwrap_or_default());
            assert!(ics.contains("K7QX-3MPA"), "{ics}");
        }
        let n = render(&ReservationEvent::Confirmed, &f, Lang::Ja, now());
        assert!(n.text.contains("予約番号：K7QX-3MPA"), "{}", n.text);
    }

    #[test]
    fn a_confirmation_in_english_shows_jst() {
        let n = render(&ReservationEvent::Confirmed, &facts(), Lang::En, now());
        assert_eq!(
            n.subject,
            "[Madoguchi City] Reservation confirmed: Cancer screening"
        );
        assert!(
            n.text.contains("Thu 3 Dec 2026, 10:00–10:30 (JST)"),
            "{}",
            n.text
        );
        assert!(unfold(n.ics.as_deref().unwrap_or_default()).contains("SUMMARY:Cancer screening"));
    }

    #[test]
    fn english_falls_back_to_the_japanese_name() {
        let mut f = facts();
        f.office = Bilingual::new("北支所", "");
        let n = render(&ReservationEvent::Reminder, &f, Lang::En, now());
        assert!(n.text.contains("Place: 北支所"));
    }

    #[test]
    fn a_staff_cancellation_apologises_gives_the_reason_and_cancels_the_calendar_event() {
        let event = ReservationEvent::Cancelled {
            by_staff: true,
            reason: Some("会場の設備点検のため".into()),
        };
        let mut f = facts();
        f.sequence = 1;
        let n = render(&event, &f, Lang::Ja, now());
        assert!(n.subject.contains("取り消し"));
        assert!(n.text.contains("申し訳ございません"));
        assert!(n.text.contains("取り消しの理由：会場の設備点検のため"));
        let ics = unfold(n.ics.as_deref().unwrap_or_default());
        assert_eq!(method_of(&ics), Some(Method::Cancel));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\n"));
        assert!(!ics.contains("VALARM"));
    }

    #[test]
    fn a_residents_own_cancellation_neither_apologises_nor_gives_a_reason() {
        let event = ReservationEvent::Cancelled {
            by_staff: false,
            reason: Some("ignored".into()),
        };
        let n = render(&event, &facts(), Lang::Ja, now());
        assert_eq!(n.subject, "[まどぐち市] ご予約を取り消しました：がん検診");
        assert!(!n.text.contains("申し訳") && !n.text.contains("ignored"));
    }

    #[test]
    fn a_waiting_list_offer_gives_the_deadline_and_no_calendar_file() {
        let event = ReservationEvent::WaitlistOffer {
            respond_by: datetime!(2026-12-01 08:00 UTC),
        };
        let n = render(&event, &facts(), Lang::Ja, now());
        assert!(
            n.text.contains("2026年12月1日（火）17:00までに"),
            "{}",
            n.text
        );
        assert!(n.ics.is_none());
        let en = render(&event, &facts(), Lang::En, now());
        assert!(en.text.contains("by Tue 1 Dec 2026, 17:00 (JST)"));
    }

    #[test]
    fn every_event_renders_in_both_languages_with_the_same_uid() {
        let events = [
            ReservationEvent::Confirmed,
            ReservationEvent::Changed,
            ReservationEvent::Cancelled {
                by_staff: false,
                reason: None,
            },
            ReservationEvent::WaitlistPromoted,
            ReservationEvent::Reminder,
        ];
        let f = facts();
        let uid = format!("UID:{}@madoguchi-shi.example.jp\r\n", f.reservation_id);
        for event in &events {
            for lang in [Lang::Ja, Lang::En] {
                let n = render(event, &f, lang, now());
                assert!(!n.subject.is_empty() && n.text.ends_with('\n'));
                assert_eq!(n.tenant_id, Some(f.tenant_id));
                assert!(unfold(n.ics.as_deref().unwrap_or_default()).contains(&uid));
            }
        }
    }

    #[test]
    fn a_long_reason_is_cut() {
        let reason = "あ".repeat(REASON_MAX_CHARS + 50);
        let event = ReservationEvent::Cancelled {
            by_staff: true,
            reason: Some(reason),
        };
        let n = render(&event, &facts(), Lang::Ja, now());
        assert!(
            n.text
                .contains(&format!("{}…", "あ".repeat(REASON_MAX_CHARS)))
        );
        assert!(!n.text.contains(&"あ".repeat(REASON_MAX_CHARS + 1)));
    }

    #[test]
    fn the_feed_holds_every_reservation_with_cancelled_ones_marked() {
        let entries = vec![
            FeedEntry {
                facts: facts(),
                cancelled: false,
            },
            FeedEntry {
                facts: facts(),
                cancelled: true,
            },
        ];
        let city = Bilingual::new("まどぐち市", "Madoguchi City");
        let feed = unfold(&my_reservations_feed(&city, Lang::Ja, &entries, now()));
        assert_eq!(feed.matches("BEGIN:VEVENT").count(), 2);
        assert!(feed.contains("X-WR-CALNAME:まどぐち市 ご予約\r\n"));
        assert!(feed.contains("STATUS:CANCELLED\r\n") && feed.contains("STATUS:CONFIRMED\r\n"));
        assert!(!feed.contains("METHOD:"));
    }

    #[test]
    fn events_and_facts_round_trip_through_json() {
        let event = ReservationEvent::Cancelled {
            by_staff: true,
            reason: Some("点検".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "cancelled");
        assert_eq!(
            serde_json::from_value::<ReservationEvent>(json).unwrap(),
            event
        );
        let offer = ReservationEvent::WaitlistOffer {
            respond_by: datetime!(2026-12-01 08:00 UTC),
        };
        let json = serde_json::to_value(&offer).unwrap();
        assert_eq!(json["respond_by"], "2026-12-01T08:00:00Z");
        let f = facts();
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["start"], "2026-12-03T01:00:00Z");
        assert_eq!(serde_json::from_value::<ReservationFacts>(json).unwrap(), f);
    }

    #[test]
    fn debug_output_hides_the_reason_the_link_and_the_text() {
        let event = ReservationEvent::Cancelled {
            by_staff: true,
            reason: Some("山田様の件".into()),
        };
        assert!(!format!("{event:?}").contains("山田"));
        let f = facts();
        assert!(!format!("{f:?}").contains("example.jp"));
        let n = render(&event, &f, Lang::Ja, now());
        let debug = format!("{n:?}");
        assert!(
            !debug.contains("山田") && !debug.contains("お知らせ"),
            "{debug}"
        );
    }
}
