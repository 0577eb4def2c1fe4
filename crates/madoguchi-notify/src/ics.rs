//! RFC 5545 calendar files: one event for a reservation (attached to mail as an iTIP
//! `REQUEST` or `CANCEL`), and the feed of a resident's reservations for a calendar
//! subscription. Pure: the caller passes the current instant (`DTSTAMP`).
//!
//! Times are written in UTC (`20261203T010000Z`), so no `VTIMEZONE` is needed and every client
//! shows them on its own clock. TEXT values are escaped (`\\`, `\;`, `\,`, `\n`), lines end in
//! CRLF and are folded at 75 octets without ever splitting a UTF-8 character, because the
//! summary and place are Japanese (3 octets a character).

use madoguchi_domain::ReservationId;
use time::OffsetDateTime;

/// Identifies the product that wrote the file (RFC 5545 §3.7.3).
pub const PRODID: &str = "-//Madoguchi//Madoguchi Reservations//JA";

/// The longest a content line may be, in octets, without its CRLF (RFC 5545 §3.1).
pub const LINE_MAX_OCTETS: usize = 75;

/// How often subscribed clients should fetch the feed again.
pub const FEED_REFRESH: &str = "PT1H";

/// The iTIP method of a single-event calendar (RFC 5546).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Add or update the event.
    Request,
    /// Remove the event.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }

    /// The MIME type of a calendar file with this method, for a mail attachment.
    pub fn content_type(self) -> String {
        format!("text/calendar; charset=utf-8; method={}", self.as_str())
    }
}

/// Whether the reservation still stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    Confirmed,
    Cancelled,
}

/// One reservation as a calendar event. Holds no personal data: service, place, times and the
/// link to the resident's own reservation page (which `Debug` leaves out, in case it carries a
/// token).
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable for the life of the reservation, see [`uid`].
    pub uid: String,
    /// The reservation's revision: 0 when booked, one more for each change of time or place.
    /// A cancellation is written with `sequence + 1`, so calendars apply it over the last
    /// version they saw.
    pub sequence: u32,
    /// When this file was written (`DTSTAMP`).
    pub stamp: OffsetDateTime,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// The page where the resident manages the reservation (`URL`, an absolute http(s) URI).
    pub url: Option<String>,
    pub status: EventStatus,
    /// The text of a display alarm one day before the start; `None` for no alarm. Never
    /// written on a cancelled event.
    pub reminder: Option<String>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("uid", &self.uid)
            .field("sequence", &self.sequence)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Event {
    /// The `SEQUENCE` written: bumped by one for a cancellation.
    pub fn written_sequence(&self) -> u32 {
        match self.status {
            EventStatus::Confirmed => self.sequence,
            EventStatus::Cancelled => self.sequence.saturating_add(1),
        }
    }

    /// The iTIP method that carries this event on its own.
    pub fn method(&self) -> Method {
        match self.status {
            EventStatus::Confirmed => Method::Request,
            EventStatus::Cancelled => Method::Cancel,
        }
    }
}

/// `<reservation id>@<host>`: globally unique and the same in every file about the
/// reservation, so clients update or remove the event they already have. A host that is not a
/// plain DNS name is replaced by `madoguchi.invalid`.
pub fn uid(reservation: ReservationId, host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let plain = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let host = if plain {
        host.as_str()
    } else {
        "madoguchi.invalid"
    };
    format!("{reservation}@{host}")
}

/// A calendar with the single event, for a mail attachment: `METHOD:REQUEST` for a standing
/// reservation, `METHOD:CANCEL` (with `STATUS:CANCELLED` and the bumped `SEQUENCE`) for a
/// cancelled one.
pub fn invitation(event: &Event) -> String {
    let mut out = Writer::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.line(&format!("PRODID:{PRODID}"));
    out.line("CALSCALE:GREGORIAN");
    out.line(&format!("METHOD:{}", event.method().as_str()));
    out.event(event);
    out.line("END:VCALENDAR");
    out.0
}

/// The feed of a resident's reservations, for a calendar subscription (`webcal://`). It has no
/// `METHOD` (it is published, not an invitation); cancelled reservations stay in it as
/// `STATUS:CANCELLED`, so subscribed clients drop the event they already had.
pub fn feed(name: &str, events: &[Event]) -> String {
    let mut out = Writer::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.line(&format!("PRODID:{PRODID}"));
    out.line("CALSCALE:GREGORIAN");
    // RFC 7986 names, and the older X- names that Apple and Google Calendar read.
    out.line(&format!("NAME:{}", escape_text(name)));
    out.line(&format!("X-WR-CALNAME:{}", escape_text(name)));
    out.line(&format!("REFRESH-INTERVAL;VALUE=DURATION:{FEED_REFRESH}"));
    out.line(&format!("X-PUBLISHED-TTL:{FEED_REFRESH}"));
    for event in events {
        out.event(event);
    }
    out.line("END:VCALENDAR");
    out.0
}

/// The method of a calendar written by [`invitation`], read back from its `METHOD` line.
pub fn method_of(calendar: &str) -> Option<Method> {
    calendar.split("\r\n").find_map(|line| match line {
        "METHOD:REQUEST" => Some(Method::Request),
        "METHOD:CANCEL" => Some(Method::Cancel),
        _ => None,
    })
}

/// An instant as an RFC 5545 UTC DATE-TIME: `20261203T010000Z`.
pub fn utc_stamp(instant: OffsetDateTime) -> String {
    let t = instant.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma get a backslash,
/// every line break (CRLF, LF or CR) becomes `\n`, and other control characters, which TEXT
/// may not hold, are dropped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line (without its CRLF) so that no physical line is longer than
/// [`LINE_MAX_OCTETS`]: a CRLF and one space are inserted before the character that would
/// overflow. The space counts towards the next line's octets. Characters are never split.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 64 * 3);
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > LINE_MAX_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out
}

/// A URI value: only absolute http(s) URIs, without whitespace or control characters, are
/// written.
fn clean_uri(uri: &str) -> Option<&str> {
    let uri = uri.trim();
    let absolute = uri.starts_with("https://") || uri.starts_with("http://");
    let clean = !uri.chars().any(|c| c.is_whitespace() || c.is_control());
    (absolute && clean).then_some(uri)
}

/// Collects folded content lines, each ended by CRLF.
#[derive(Default)]
struct Writer(String);

impl Writer {
    fn line(&mut self, line: &str) {
        self.0.push_str(&fold(line));
        self.0.push_str("\r\n");
    }

    fn text(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{}", escape_text(value)));
    }

    fn event(&mut self, event: &Event) {
        self.line("BEGIN:VEVENT");
        self.text("UID", &event.uid);
        self.line(&format!("SEQUENCE:{}", event.written_sequence()));
        self.line(&format!("DTSTAMP:{}", utc_stamp(event.stamp)));
        self.line(&format!("DTSTART:{}", utc_stamp(event.start)));
        self.line(&format!("DTEND:{}", utc_stamp(event.end)));
        self.text("SUMMARY", &event.summary);
        self.text("LOCATION", &event.location);
        self.text("DESCRIPTION", &event.description);
        if let Some(url) = event.url.as_deref().and_then(clean_uri) {
            self.line(&format!("URL:{url}"));
        }
        let status = match event.status {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
        };
        self.line(&format!("STATUS:{status}"));
        // An appointment blocks the resident's time.
        self.line("TRANSP:OPAQUE");
        if let (EventStatus::Confirmed, Some(reminder)) = (event.status, &event.reminder) {
            self.line("BEGIN:VALARM");
            self.line("ACTION:DISPLAY");
            self.line("TRIGGER;RELATED=START:-P1D");
            self.text("DESCRIPTION", reminder);
            self.line("END:VALARM");
        }
        self.line("END:VEVENT");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(status: EventStatus) -> Event {
        Event {
            uid: uid(ReservationId::new(), "madoguchi-shi.example.jp"),
            sequence: 2,
            stamp: datetime!(2026-11-20 05:00 UTC),
            start: datetime!(2026-12-03 01:00 UTC),
            end: datetime!(2026-12-03 01:30 UTC),
            summary: "がん検診（胃がん・大腸がん）".into(),
            location: "中央保健センター 2階, 検診室".into(),
            description: "ご予約の確認・取り消し: https://x.example/r/1\n持ち物; 保険証".into(),
            url: Some("https://madoguchi-shi.example.jp/my/reservations/1".into()),
            status,
            reminder: Some("明日はがん検診のご予約の日です".into()),
        }
    }

    /// Undoes the folding: a CRLF followed by one space disappears.
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn text_values_escape_backslash_semicolon_comma_and_newlines() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(
            escape_text("時間:10時"),
            "時間:10時",
            "a colon is not escaped"
        );
        assert_eq!(
            escape_text("bell\u{7}"),
            "bell",
            "control characters are dropped"
        );
    }

    #[test]
    fn folding_never_splits_a_japanese_character() {
        // "SUMMARY:" is 8 octets; then 3-octet characters. 8 + 22 * 3 = 74, so the 23rd
        // character (77 octets) must move to the next line whole.
        let line = format!("SUMMARY:{}", "予約".repeat(60));
        let folded = fold(&line);
        for physical in folded.split("\r\n") {
            assert!(
                physical.len() <= LINE_MAX_OCTETS,
                "{} octets",
                physical.len()
            );
        }
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(lines[0].len(), 74);
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        assert_eq!(unfold(&folded), line);
    }

    #[test]
    fn folding_handles_mixed_widths_exactly_at_the_limit() {
        // 75 ASCII octets fit on one line; the 76th folds.
        let exact = "X".repeat(75);
        assert_eq!(fold(&exact), exact);
        let over = "X".repeat(76);
        assert_eq!(fold(&over), format!("{}\r\n X", "X".repeat(75)));
        // A 4-octet character (emoji) that would end at octet 76 moves whole.
        let emoji = format!("{}🍎", "X".repeat(72));
        assert_eq!(fold(&emoji), format!("{}\r\n 🍎", "X".repeat(72)));
    }

    #[test]
    fn every_line_of_a_calendar_ends_in_crlf_and_fits() {
        let ics = invitation(&event(EventStatus::Confirmed));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "no bare LF");
        for line in ics.split("\r\n") {
            assert!(line.len() <= LINE_MAX_OCTETS, "too long: {line}");
        }
        let unfolded = unfold(&ics);
        assert!(unfolded.contains("LOCATION:中央保健センター 2階\\, 検診室\r\n"));
        assert!(unfolded.contains("\\n持ち物\\; 保険証\r\n"));
    }

    #[test]
    fn a_confirmed_reservation_is_a_request_with_an_alarm_a_day_before() {
        let event = event(EventStatus::Confirmed);
        let ics = unfold(&invitation(&event));
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("STATUS:CONFIRMED\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\n"));
        assert!(ics.contains("DTSTART:20261203T010000Z\r\n"));
        assert!(ics.contains("DTEND:20261203T013000Z\r\n"));
        assert!(ics.contains("DTSTAMP:20261120T050000Z\r\n"));
        assert!(ics.contains(&format!("UID:{}\r\n", event.uid)));
        assert!(ics.contains("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=START:-P1D\r\n"));
        assert_eq!(method_of(&invitation(&event)), Some(Method::Request));
    }

    #[test]
    fn a_cancellation_is_a_cancel_with_a_higher_sequence_and_no_alarm() {
        let confirmed = event(EventStatus::Confirmed);
        let cancelled = Event {
            status: EventStatus::Cancelled,
            ..confirmed.clone()
        };
        let ics = unfold(&invitation(&cancelled));
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(ics.contains("SEQUENCE:3\r\n"), "bumped from 2");
        assert!(
            ics.contains(&format!("UID:{}\r\n", confirmed.uid)),
            "same UID"
        );
        assert!(!ics.contains("VALARM"));
        assert_eq!(method_of(&invitation(&cancelled)), Some(Method::Cancel));
    }

    #[test]
    fn a_feed_holds_many_events_and_no_method() {
        let events = vec![
            event(EventStatus::Confirmed),
            event(EventStatus::Confirmed),
            event(EventStatus::Cancelled),
        ];
        let ics = feed("まどぐち市, ご予約", &events);
        assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 3);
        assert_eq!(ics.matches("END:VEVENT\r\n").count(), 3);
        assert!(!ics.contains("METHOD:"));
        assert_eq!(method_of(&ics), None);
        assert!(ics.contains("X-WR-CALNAME:まどぐち市\\, ご予約\r\n"));
        assert!(ics.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    }

    #[test]
    fn the_uid_is_the_reservation_at_the_host() {
        let id = ReservationId::new();
        assert_eq!(
            uid(id, "Madoguchi.Example.JP"),
            format!("{id}@madoguchi.example.jp")
        );
        assert_eq!(uid(id, "bad host/x"), format!("{id}@madoguchi.invalid"));
    }

    #[test]
    fn only_absolute_http_urls_are_written() {
        let mut e = event(EventStatus::Confirmed);
        e.url = Some("javascript:alert(1)".into());
        assert!(!invitation(&e).contains("URL:"));
        e.url = Some("https://x.example/a\r\nATTACH:evil".into());
        assert!(!invitation(&e).contains("ATTACH"));
    }

    #[test]
    fn utc_stamps_convert_from_any_offset() {
        let tokyo = datetime!(2026-12-03 10:00 +9);
        assert_eq!(utc_stamp(tokyo), "20261203T010000Z");
    }
}
