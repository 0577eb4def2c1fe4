//! Stable error codes shared by the API, the pages and the command line.
//!
//! A code never changes meaning once released: clients and the city's help desk key on it.
//! Each code carries its message in Japanese and English, so every layer answers in the
//! user's language without its own translation table.

use crate::Lang;
use serde::{Deserialize, Serialize};

/// Every error a user can be shown. `as_str` is the wire form (`snake_case`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Input
    ValidationFailed,
    Required,
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidEmail,
    InvalidDisplayName,
    PasswordTooShort,
    PasswordTooLong,
    PasswordTooCommon,
    PasswordContainsEmail,
    InvalidOrgCode,
    InvalidOrgName,
    InvalidRoleScope,
    InvalidTenantSlug,
    ControlCharacter,
    TextTooLong,
    DateOutOfRange,
    UnknownQuestion,
    AnswerRequired,
    AnswerNotText,
    AnswerNotYesNo,
    AnswerUnknownOption,
    AnswerNotInteger,
    AnswerNotDate,
    AnswerOutOfRange,
    // State
    EmailTaken,
    OrgCodeTaken,
    TokenInvalid,
    EmailNotVerified,
    Conflict,
    LastAdmin,
    /// A capability this build does not have cannot be turned on.
    CapabilityNotBuilt,
    // Access
    InvalidCredentials,
    AccountLocked,
    RateLimited,
    Unauthenticated,
    Forbidden,
    CsrfFailed,
    TenantUnknown,
    // Reservations
    SlotFull,
    BookingNotOpen,
    BookingClosed,
    BookingDayClosed,
    IneligibleAge,
    IneligibleSex,
    IneligibleNonResident,
    BirthDateRequired,
    PersonalLimitReached,
    HoldExpired,
    CancellationDeadlinePassed,
    ReservationNotActive,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    InvalidServiceRules,
    InvalidHolidayFile,
    BookingSuspended,
    WaitlistUnavailable,
    WaitlistSeatsLeft,
    AlreadyBooked,
    AlreadyWaiting,
    ChangeToOtherService,
    ChangeDeadlinePassed,
    // Payments
    AmountNotPositive,
    AmountOverLimit,
    CurrencyNotJpy,
    InvalidRevenueCategory,
    ReceivableClosed,
    ReceivableAlreadyPaid,
    ReceivableHasPayments,
    PaymentMethodNotOffered,
    TaxNotPayableAtCounter,
    PaymentExceedsOutstanding,
    PaymentInProgress,
    MixedPaymentMethods,
    InstalmentsNotAllowed,
    SlipNumberRequired,
    InvalidSlipNumber,
    RefundExceedsPaid,
    RefundSelfApproval,
    RefundNotPending,
    PaymentNotRefundable,
    WebhookSignatureInvalid,
    PaymentProviderUnavailable,
    /// An exemption from a booking's fee that the applicant does not meet (an age).
    ExemptionNotEligible,
    /// A hold kept for a fee cannot be confirmed before the fee is paid.
    PaymentRequired,
    // Remote counter
    /// The queue takes no tickets now (closed by staff, or outside its hours).
    QueueClosed,
    /// All of today's numbers (999) of the queue are taken.
    QueueFullToday,
    /// Another queue of the city already uses this letter.
    QueuePrefixTaken,
    /// A department has one queue, and this one has it already.
    QueueExists,
    /// The ticket has moved on (called by someone else, answered, finished).
    TicketStateConflict,
    /// The consultation's room has ended; a new ticket starts a new one.
    RoomEnded,
    /// A join grant that is forged, mangled, or names another room.
    GrantInvalid,
    /// A join grant whose ten minutes have passed: ask for a fresh one.
    GrantExpired,
    /// A signalling message that is not one of the protocol's, or whose SDP or candidate does
    /// not parse.
    SignallingInvalid,
    /// The media server cannot take the call now (not running, or full).
    MediaUnavailable,
    /// A booked remote consultation checked in before its join window opens.
    JoinNotOpenYet,
    /// A booked remote consultation checked in after its join window closed.
    JoinClosed,
    /// A reservation that is not a confirmed remote consultation cannot be checked in.
    NotJoinable,
    // Convenience-store slips
    /// The city has no convenience-store settings (its company code) yet.
    SlipsNotConfigured,
    /// A slip must be under ¥300,000 (the stores' limit for one payment).
    SlipAmountTooLarge,
    /// Every receivable of the cycle already has its slip, or none is open.
    SlipNothingToIssue,
    /// A slip is reissued at most nine times (the barcode's reissue digit).
    SlipReissueLimit,
    /// The receivable is paid, cancelled or written off, or never had a slip.
    SlipNotReissuable,
    // Facilities
    /// The unit (or its whole, or one of its parts) is already booked at an overlapping time.
    FacilityUnitTaken,
    /// The facility booking no longer holds its unit (expired, cancelled or taken back).
    FacilityBookingNotHolding,
    /// The lottery was drawn already: no more applications, no second draw.
    LotteryDrawn,
    /// The applicant already filed as many applications as the lottery allows.
    LotteryOverCap,
    /// An application was filed while the draw ran: draw again.
    LotteryInputsChanged,
    // Routing
    NotFound,
    MethodNotAllowed,
    // Server
    Internal,
    Unavailable,
}

impl ErrorCode {
    /// The stable wire form, e.g. `email_taken`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationFailed => "validation_failed",
            Required => "required",
            MalformedJson => "malformed_json",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            InvalidEmail => "invalid_email",
            InvalidDisplayName => "invalid_display_name",
            PasswordTooShort => "password_too_short",
            PasswordTooLong => "password_too_long",
            PasswordTooCommon => "password_too_common",
            PasswordContainsEmail => "password_contains_email",
            InvalidOrgCode => "invalid_org_code",
            InvalidOrgName => "invalid_org_name",
            InvalidRoleScope => "invalid_role_scope",
            InvalidTenantSlug => "invalid_tenant_slug",
            ControlCharacter => "control_character",
            TextTooLong => "text_too_long",
            DateOutOfRange => "date_out_of_range",
            UnknownQuestion => "unknown_question",
            AnswerRequired => "answer_required",
            AnswerNotText => "answer_not_text",
            AnswerNotYesNo => "answer_not_yes_no",
            AnswerUnknownOption => "answer_unknown_option",
            AnswerNotInteger => "answer_not_integer",
            AnswerNotDate => "answer_not_date",
            AnswerOutOfRange => "answer_out_of_range",
            EmailTaken => "email_taken",
            OrgCodeTaken => "org_code_taken",
            TokenInvalid => "token_invalid",
            EmailNotVerified => "email_not_verified",
            Conflict => "conflict",
            LastAdmin => "last_admin",
            CapabilityNotBuilt => "capability_not_built",
            InvalidCredentials => "invalid_credentials",
            AccountLocked => "account_locked",
            RateLimited => "rate_limited",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            CsrfFailed => "csrf_failed",
            TenantUnknown => "tenant_unknown",
            SlotFull => "slot_full",
            BookingNotOpen => "booking_not_open",
            BookingClosed => "booking_closed",
            BookingDayClosed => "booking_day_closed",
            IneligibleAge => "ineligible_age",
            IneligibleSex => "ineligible_sex",
            IneligibleNonResident => "ineligible_non_resident",
            BirthDateRequired => "birth_date_required",
            PersonalLimitReached => "personal_limit_reached",
            HoldExpired => "hold_expired",
            CancellationDeadlinePassed => "cancellation_deadline_passed",
            ReservationNotActive => "reservation_not_active",
            InvalidIdempotencyKey => "invalid_idempotency_key",
            IdempotencyKeyReused => "idempotency_key_reused",
            InvalidServiceRules => "invalid_service_rules",
            InvalidHolidayFile => "invalid_holiday_file",
            BookingSuspended => "booking_suspended",
            WaitlistUnavailable => "waitlist_unavailable",
            WaitlistSeatsLeft => "waitlist_seats_left",
            AlreadyBooked => "already_booked",
            AlreadyWaiting => "already_waiting",
            ChangeToOtherService => "change_to_other_service",
            ChangeDeadlinePassed => "change_deadline_passed",
            AmountNotPositive => "amount_not_positive",
            AmountOverLimit => "amount_over_limit",
            CurrencyNotJpy => "currency_not_jpy",
            InvalidRevenueCategory => "invalid_revenue_category",
            ReceivableClosed => "receivable_closed",
            ReceivableAlreadyPaid => "receivable_already_paid",
            ReceivableHasPayments => "receivable_has_payments",
            PaymentMethodNotOffered => "payment_method_not_offered",
            TaxNotPayableAtCounter => "tax_not_payable_at_counter",
            PaymentExceedsOutstanding => "payment_exceeds_outstanding",
            PaymentInProgress => "payment_in_progress",
            MixedPaymentMethods => "mixed_payment_methods",
            InstalmentsNotAllowed => "instalments_not_allowed",
            SlipNumberRequired => "slip_number_required",
            InvalidSlipNumber => "invalid_slip_number",
            RefundExceedsPaid => "refund_exceeds_paid",
            RefundSelfApproval => "refund_self_approval",
            RefundNotPending => "refund_not_pending",
            PaymentNotRefundable => "payment_not_refundable",
            WebhookSignatureInvalid => "webhook_signature_invalid",
            PaymentProviderUnavailable => "payment_provider_unavailable",
            ExemptionNotEligible => "exemption_not_eligible",
            PaymentRequired => "payment_required",
            QueueClosed => "queue_closed",
            QueueFullToday => "queue_full_today",
            QueuePrefixTaken => "queue_prefix_taken",
            QueueExists => "queue_exists",
            TicketStateConflict => "ticket_state_conflict",
            RoomEnded => "room_ended",
            GrantInvalid => "grant_invalid",
            GrantExpired => "grant_expired",
            SignallingInvalid => "signalling_invalid",
            MediaUnavailable => "media_unavailable",
            JoinNotOpenYet => "join_not_open_yet",
            JoinClosed => "join_closed",
            NotJoinable => "not_joinable",
            SlipsNotConfigured => "slips_not_configured",
            SlipAmountTooLarge => "slip_amount_too_large",
            SlipNothingToIssue => "slip_nothing_to_issue",
            SlipReissueLimit => "slip_reissue_limit",
            SlipNotReissuable => "slip_not_reissuable",
            FacilityUnitTaken => "facility_unit_taken",
            FacilityBookingNotHolding => "facility_booking_not_holding",
            LotteryDrawn => "lottery_drawn",
            LotteryOverCap => "lottery_over_cap",
            LotteryInputsChanged => "lottery_inputs_changed",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Internal => "internal",
            Unavailable => "unavailable",
        }
    }

    /// The message shown to a user in `lang`. Messages say what to do next where possible.
    pub fn message(self, lang: Lang) -> &'static str {
        use ErrorCode::*;
        let (ja, en) = match self {
            ValidationFailed => (
                "入力内容に誤りがあります。各項目をご確認ください。",
                "Some of the information entered is not valid. Please check each field.",
            ),
            Required => ("入力してください。", "Please fill this in."),
            MalformedJson => (
                "リクエストの JSON を読み取れませんでした。",
                "The request body is not valid JSON.",
            ),
            UnsupportedMediaType => (
                "この形式のデータは受け付けていません。",
                "This content type is not accepted.",
            ),
            PayloadTooLarge => (
                "送信されたデータが大きすぎます。",
                "The request body is too large.",
            ),
            InvalidEmail => (
                "メールアドレスの形式が正しくありません。",
                "The email address is not valid.",
            ),
            InvalidDisplayName => (
                "お名前は1文字以上100文字以内で入力してください。",
                "Please enter a name of 1 to 100 characters.",
            ),
            PasswordTooShort => (
                "パスワードは12文字以上にしてください。",
                "The password must be at least 12 characters long.",
            ),
            PasswordTooLong => (
                "パスワードは128文字以内にしてください。",
                "The password must be at most 128 characters long.",
            ),
            PasswordTooCommon => (
                "推測されやすいパスワードです。よく使われる語や単純な並びを避けてください。",
                "This password is too easy to guess. Avoid common words and simple sequences.",
            ),
            PasswordContainsEmail => (
                "パスワードにメールアドレスを含めないでください。",
                "The password must not contain your email address.",
            ),
            InvalidOrgCode => (
                "コードは英小文字・数字・ハイフンの2〜32文字で入力してください。",
                "Codes are 2 to 32 lowercase letters, digits or hyphens.",
            ),
            InvalidOrgName => (
                "名称は1文字以上100文字以内で入力してください。",
                "Please enter a name of 1 to 100 characters.",
            ),
            InvalidRoleScope => (
                "この役割には所属（事業所・課）の指定が必要です。",
                "This role needs an office or department scope.",
            ),
            InvalidTenantSlug => (
                "自治体コードは英小文字・数字・ハイフンの2〜32文字です。",
                "Tenant codes are 2 to 32 lowercase letters, digits or hyphens.",
            ),
            ControlCharacter => (
                "入力に使えない制御文字（NUL や文字の向きを変える記号など）が含まれています。",
                "The input contains a control character (such as NUL or a text-direction override) that is not allowed.",
            ),
            TextTooLong => (
                "入力が長すぎます。短くしてください。",
                "The input is too long. Please shorten it.",
            ),
            DateOutOfRange => (
                "日付は1900年から2200年までの範囲で指定してください。",
                "Dates must be between the years 1900 and 2200.",
            ),
            UnknownQuestion => (
                "この予約にない質問への回答が含まれています。",
                "The answers include a question this service does not ask.",
            ),
            AnswerRequired => ("この質問にお答えください。", "Please answer this question."),
            AnswerNotText => (
                "文章で入力してください。",
                "Please answer this question with text.",
            ),
            AnswerNotYesNo => (
                "「はい」か「いいえ」を選んでください。",
                "Please answer yes or no.",
            ),
            AnswerUnknownOption => (
                "選択肢の中から選んでください。",
                "Please choose one of the options.",
            ),
            AnswerNotInteger => (
                "数字（整数）で入力してください。",
                "Please enter a whole number.",
            ),
            AnswerNotDate => (
                "日付を選ぶか、2026-04-01 の形で入力してください。",
                "Please choose a date or enter it as 2026-04-01.",
            ),
            AnswerOutOfRange => (
                "受け付けられる範囲の外です。範囲をご確認ください。",
                "This is outside the range accepted. Please check the range.",
            ),
            EmailTaken => (
                "このメールアドレスは既に登録されています。ログインするか、パスワードを再設定してください。",
                "This email address is already registered. Sign in or reset your password.",
            ),
            OrgCodeTaken => (
                "このコードは既に使われています。",
                "This code is already in use.",
            ),
            TokenInvalid => (
                "リンクの有効期限が切れているか、既に使用されています。もう一度お手続きください。",
                "This link has expired or was already used. Please start again.",
            ),
            EmailNotVerified => (
                "メールアドレスの確認が済んでいません。届いたメールのリンクを開いてください。",
                "Your email address is not verified yet. Please open the link in the mail we sent.",
            ),
            Conflict => (
                "他の操作と重なったため処理できませんでした。もう一度お試しください。",
                "This conflicted with another change. Please try again.",
            ),
            LastAdmin => (
                "この方は最後の管理者です。先に別の職員を管理者にしてください。",
                "This is the last administrator. Make another staff member an administrator first.",
            ),
            CapabilityNotBuilt => (
                "この機能は、このバージョンにはまだありません。",
                "This capability is not in this version yet.",
            ),
            InvalidCredentials => (
                "メールアドレスまたはパスワードが正しくありません。",
                "The email address or password is incorrect.",
            ),
            AccountLocked => (
                "ログインの失敗が続いたため、一時的にロックしています。しばらくしてからお試しください。",
                "Too many failed sign-ins. The account is locked for a while; please try again later.",
            ),
            RateLimited => (
                "短時間に多くのリクエストがありました。しばらくしてからお試しください。",
                "Too many requests. Please wait a moment and try again.",
            ),
            Unauthenticated => ("ログインしてください。", "Please sign in."),
            Forbidden => (
                "この操作を行う権限がありません。",
                "You do not have permission to do this.",
            ),
            CsrfFailed => (
                "フォームの有効期限が切れました。ページを再読み込みしてもう一度送信してください。",
                "The form has expired. Please reload the page and submit again.",
            ),
            TenantUnknown => (
                "この自治体は登録されていません。",
                "This municipality is not registered.",
            ),
            SlotFull => (
                "この枠は満員です。別の日時をお選びいただくか、キャンセル待ちをご利用ください。",
                "This time is fully booked. Please choose another time or join the waiting list.",
            ),
            BookingNotOpen => (
                "この枠の予約受付はまだ始まっていません。",
                "Booking for this time has not opened yet.",
            ),
            BookingClosed => (
                "この枠の予約受付は終了しました。",
                "Booking for this time has closed.",
            ),
            BookingDayClosed => (
                "この日は休業日のため予約できません。",
                "This day is closed; booking is not possible.",
            ),
            IneligibleAge => (
                "この予約は対象年齢の方のみお申し込みいただけます。",
                "This service is only for people within its age range.",
            ),
            IneligibleSex => (
                "この予約はお申し込みの対象外です（対象の性別をご確認ください）。",
                "You are not eligible for this service (please check who it is for).",
            ),
            IneligibleNonResident => (
                "この予約は市内にお住まいの方のみお申し込みいただけます。",
                "This service is for residents of the city only.",
            ),
            BirthDateRequired => (
                "この予約には生年月日の入力が必要です。",
                "Your date of birth is needed for this service.",
            ),
            PersonalLimitReached => (
                "この予約はお一人あたりの上限回数に達しています。",
                "You have reached the limit of bookings for this service.",
            ),
            HoldExpired => (
                "仮押さえの有効期限が切れました。もう一度予約してください。",
                "Your hold has expired. Please book again.",
            ),
            CancellationDeadlinePassed => (
                "キャンセル期限を過ぎています。担当窓口へお電話ください。",
                "The cancellation deadline has passed. Please call the office.",
            ),
            ReservationNotActive => (
                "この予約は既にキャンセル済みか、終了しています。",
                "This reservation was already cancelled or has ended.",
            ),
            InvalidIdempotencyKey => (
                "Idempotency-Key は1〜100文字の英数字・記号で指定してください。",
                "The Idempotency-Key must be 1 to 100 visible ASCII characters.",
            ),
            IdempotencyKeyReused => (
                "この Idempotency-Key は別の内容の予約に使われています。新しいキーで申し込んでください。",
                "This Idempotency-Key was used for a different booking request. Use a new key.",
            ),
            InvalidServiceRules => (
                "予約ルールの設定が正しくありません。",
                "The booking rules of this service are not valid.",
            ),
            InvalidHolidayFile => (
                "祝日ファイルを読み取れませんでした。示された行を直して、もう一度お送りください。",
                "The holiday file could not be read. Please correct the line shown and send it again.",
            ),
            BookingSuspended => (
                "無断キャンセルが続いたため、オンライン予約を一時停止しています。担当窓口へお電話ください。",
                "Online booking is suspended after repeated missed appointments. Please call the office.",
            ),
            WaitlistUnavailable => (
                "この予約にはキャンセル待ちがありません。別の日時をお選びください。",
                "This service has no waiting list. Please choose another time.",
            ),
            WaitlistSeatsLeft => (
                "この枠にはまだ空きがあります。キャンセル待ちではなく、そのまま予約してください。",
                "This time still has places. Please book it directly instead of waiting.",
            ),
            AlreadyBooked => (
                "この枠は既に予約済みです。",
                "You already have a booking at this time.",
            ),
            AlreadyWaiting => (
                "この枠のキャンセル待ちに既に登録されています。",
                "You are already on the waiting list for this time.",
            ),
            ChangeToOtherService => (
                "別の種類の予約へは変更できません。取り消してから予約し直してください。",
                "A booking cannot be changed to another service. Please cancel and book again.",
            ),
            ChangeDeadlinePassed => (
                "変更期限を過ぎています。担当窓口へお電話ください。",
                "The deadline for changes has passed. Please call the office.",
            ),
            AmountNotPositive => (
                "金額は1円以上で入力してください。",
                "The amount must be at least 1 yen.",
            ),
            AmountOverLimit => (
                "金額が上限を超えています。",
                "The amount is over the limit.",
            ),
            CurrencyNotJpy => (
                "日本円以外の通貨は取り扱えません。",
                "Only Japanese yen is accepted.",
            ),
            InvalidRevenueCategory => (
                "歳入科目の指定が正しくありません。",
                "The revenue category is not valid.",
            ),
            ReceivableClosed => (
                "この調定は取消または不納欠損済みのため、納付できません。",
                "This receivable was cancelled or written off and cannot be paid.",
            ),
            ReceivableAlreadyPaid => (
                "この調定は既に納付済みです。",
                "This receivable has already been paid.",
            ),
            ReceivableHasPayments => (
                "納付済みの金額があるため取り消せません。先に還付してください。",
                "Payments were received for this receivable: refund them before cancelling it.",
            ),
            PaymentMethodNotOffered => (
                "この支払方法はここではご利用いただけません。",
                "This payment method is not offered here.",
            ),
            TaxNotPayableAtCounter => (
                "税金は窓口のキャッシュレス端末では納付できません。現金またはeL-QRでお支払いください。",
                "Taxes cannot be paid with the counter's cashless terminal. Please pay in cash or with eL-QR.",
            ),
            PaymentExceedsOutstanding => (
                "未納額を超える支払いはできません（チャージはできません）。",
                "A payment cannot exceed the amount still owed (no top-up).",
            ),
            PaymentInProgress => (
                "この調定には手続き中の支払いがあります。完了するまでお待ちください。",
                "A payment for this receivable is already in progress. Please wait for it to finish.",
            ),
            MixedPaymentMethods => (
                "1回の支払いで現金とキャッシュレスなど複数の方法は併用できません。",
                "One payment takes one method: cash and cashless cannot be combined.",
            ),
            InstalmentsNotAllowed => (
                "クレジットカードは一括払いのみご利用いただけます。",
                "Cards can only be used for a single lump-sum payment.",
            ),
            SlipNumberRequired => (
                "端末の伝票番号を入力してください。",
                "Enter the terminal's slip number.",
            ),
            InvalidSlipNumber => (
                "伝票番号は英数字20文字以内で入力してください。",
                "The slip number must be up to 20 letters and digits.",
            ),
            RefundExceedsPaid => (
                "還付額が支払額を超えています。",
                "The refund is larger than what was paid.",
            ),
            RefundSelfApproval => (
                "自分が申請した還付は承認できません。別の会計担当者が承認してください。",
                "You cannot approve a refund you requested. Another finance officer must approve it.",
            ),
            RefundNotPending => (
                "この還付は既に処理済みか、この操作ができない状態です。",
                "This refund has already been decided or cannot take this step.",
            ),
            PaymentNotRefundable => (
                "完了していない支払いは還付できません。",
                "Only a completed payment can be refunded.",
            ),
            WebhookSignatureInvalid => (
                "署名が正しくないか、有効期限を過ぎています。",
                "The signature is invalid or too old.",
            ),
            PaymentProviderUnavailable => (
                "決済サービスに接続できませんでした。時間をおいてお試しください。",
                "The payment service could not be reached. Please try again later.",
            ),
            ExemptionNotEligible => (
                "この免除の対象ではありません。生年月日をご確認いただくか、別のお支払い方法を選んでください。",
                "You do not qualify for this exemption. Check your date of birth or choose another way to pay.",
            ),
            PaymentRequired => (
                "料金のお支払いが済んでいないため、予約を確定できません。お支払いを済ませてください。",
                "The fee has not been paid, so the reservation cannot be confirmed. Please pay first.",
            ),
            QueueClosed => (
                "この窓口は、ただいま受付を停止しています。受付時間内にお越しいただくか、予約をご利用ください。",
                "This counter is not taking tickets right now. Please come back during its hours or book an appointment.",
            ),
            QueueFullToday => (
                "本日の受付番号はすべて発行しました。明日以降にお越しいただくか、予約をご利用ください。",
                "All of today's numbers have been issued. Please come back another day or book an appointment.",
            ),
            QueuePrefixTaken => (
                "この記号は、ほかの窓口で使われています。別の英大文字を選んでください。",
                "Another counter already uses this letter. Please choose another capital letter.",
            ),
            QueueExists => (
                "この課の窓口は、すでにあります。",
                "This department already has a counter queue.",
            ),
            TicketStateConflict => (
                "この受付番号は、すでに呼び出されたか終了しています。画面を更新してください。",
                "This ticket has already been called or has ended. Please refresh the page.",
            ),
            RoomEnded => (
                "この相談は終了しています。あらためて相談するときは、新しく受付番号を取ってください。",
                "This consultation has ended. To consult again, please take a new ticket.",
            ),
            GrantInvalid => (
                "通話に参加するための情報が正しくありません。画面を読み込み直してください。",
                "The information for joining the call is not valid. Please reload the page.",
            ),
            GrantExpired => (
                "通話に参加するための情報の有効期限が切れました。画面を読み込み直してください。",
                "The information for joining the call has expired. Please reload the page.",
            ),
            SignallingInvalid => (
                "通話の接続に必要なデータを読み取れませんでした。ブラウザーを最新にして、もう一度お試しください。",
                "The data needed to connect the call could not be read. Please update your browser and try again.",
            ),
            MediaUnavailable => (
                "ただいま通話をつなげません。しばらくしてから、もう一度お試しください。",
                "The call cannot be connected right now. Please try again in a little while.",
            ),
            JoinNotOpenYet => (
                "まだ参加できません。ご予約の開始10分前から参加できます。",
                "You cannot join yet. You can join from 10 minutes before your appointment.",
            ),
            JoinClosed => (
                "このご予約の参加受付は終了しました。窓口へお問い合わせいただくか、改めてご予約ください。",
                "Joining this appointment has closed. Please contact the office or book again.",
            ),
            NotJoinable => (
                "このご予約はオンライン相談ではないか、取り消し済みのため参加できません。",
                "This reservation is not an online consultation, or it was cancelled, so it cannot be joined.",
            ),
            SlipsNotConfigured => (
                "コンビニ納付書の設定（収納企業コード）がまだ登録されていません。管理者にお問い合わせください。",
                "Convenience-store slips are not set up yet (no company code). Please ask an administrator.",
            ),
            SlipAmountTooLarge => (
                "30万円以上はコンビニ納付書で納付できません。窓口または口座振替をご利用ください。",
                "Amounts of ¥300,000 or more cannot be paid with a convenience-store slip. Please pay at the counter or by bank transfer.",
            ),
            SlipNothingToIssue => (
                "発行する納付書はありません。この期の調定はすべて発行済みか、未納のものがありません。",
                "There are no slips to issue: every receivable of this cycle already has one, or none is outstanding.",
            ),
            SlipReissueLimit => (
                "この納付書はこれ以上再発行できません（再発行は9回まで）。窓口でお支払いください。",
                "This slip cannot be reissued again (at most nine times). Please pay at the counter.",
            ),
            SlipNotReissuable => (
                "この調定は納付済み・取消済みか、納付書が発行されていないため、再発行できません。",
                "This receivable is paid, cancelled, or never had a slip, so no slip can be reissued.",
            ),
            FacilityUnitTaken => (
                "その時間帯は、この施設（または全面・一部の区画）がすでに予約されています。別の時間帯か区画をお選びください。",
                "This unit (or the whole or a part of it) is already booked at that time. Please choose another time or unit.",
            ),
            FacilityBookingNotHolding => (
                "この施設予約は、期限切れ・取消済み・行政使用のため、すでに枠を確保していません。",
                "This facility booking no longer holds its time: it expired, was cancelled or was taken for city use.",
            ),
            LotteryDrawn => (
                "この抽選はすでに抽選済みです。申込や再抽選はできません。",
                "This lottery has been drawn already: no more applications, and no second draw.",
            ),
            LotteryOverCap => (
                "この抽選に申し込める件数の上限に達しています。",
                "You have already filed as many applications as this lottery allows.",
            ),
            LotteryInputsChanged => (
                "抽選中に申込が追加されました。もう一度抽選を実行してください。",
                "An application was filed while the draw ran. Please run the draw again.",
            ),
            NotFound => (
                "お探しのページは見つかりませんでした。",
                "The page you are looking for was not found.",
            ),
            MethodNotAllowed => (
                "この操作はこのアドレスでは利用できません。",
                "This method is not allowed at this address.",
            ),
            Internal => (
                "システムで問題が発生しました。時間をおいてお試しください。",
                "Something went wrong on our side. Please try again later.",
            ),
            Unavailable => (
                "ただいまサービスを利用できません。時間をおいてお試しください。",
                "The service is unavailable right now. Please try again later.",
            ),
        };
        match lang {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_serde_form() {
        for code in [
            ErrorCode::EmailTaken,
            ErrorCode::CsrfFailed,
            ErrorCode::PasswordTooCommon,
        ] {
            let json = serde_json_like(code);
            assert_eq!(json, code.as_str());
        }
    }

    fn serde_json_like(code: ErrorCode) -> String {
        // serde's snake_case renaming applied to the Debug name, which is what serde emits.
        let debug = format!("{code:?}");
        let mut out = String::new();
        for (i, c) in debug.chars().enumerate() {
            if c.is_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn every_message_exists_in_both_languages() {
        let m = ErrorCode::Forbidden;
        assert!(!m.message(Lang::Ja).is_empty());
        assert!(m.message(Lang::En).is_ascii());
    }
}
