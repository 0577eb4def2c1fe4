//! How a payment is made: the provider that takes it, the method the payer chose, the brand at
//! a counter terminal, and the channel (the clearing account its money passes through).
//!
//! One payment has exactly one method, so cash and cashless can never be mixed in one payment.

use serde::{Deserialize, Serialize};

/// Who takes the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Stripe,
    /// The built-in sandbox gateway: demos and tests, no real money.
    Sandbox,
    /// A city counter: its card / e-money / QR terminal or the cash register.
    Counter,
    /// The convenience-store collection agency (slips with a barcode).
    KonbiniAgency,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Sandbox => "sandbox",
            Provider::Counter => "counter",
            Provider::KonbiniAgency => "konbini_agency",
        }
    }

    pub fn parse(raw: &str) -> Option<Provider> {
        [
            Provider::Stripe,
            Provider::Sandbox,
            Provider::Counter,
            Provider::KonbiniAgency,
        ]
        .into_iter()
        .find(|p| p.as_str() == raw)
    }

    /// Online providers are called over the network and report back by webhook.
    pub fn is_online(self) -> bool {
        match self {
            Provider::Stripe | Provider::Sandbox => true,
            Provider::Counter | Provider::KonbiniAgency => false,
        }
    }
}

/// A brand accepted at a counter terminal (the model city's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Brand {
    Visa,
    Mastercard,
    Jcb,
    Amex,
    Id,
    Quicpay,
    /// 交通系電子マネー (Suica, PASMO, ICOCA …).
    Transit,
    Paypay,
    Dbarai,
    Aupay,
    RakutenPay,
    Merpay,
    YuchoPay,
}

/// The three kinds of counter terminal payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodFamily {
    Card,
    Emoney,
    Qr,
}

impl Brand {
    pub const ALL: [Brand; 13] = [
        Brand::Visa,
        Brand::Mastercard,
        Brand::Jcb,
        Brand::Amex,
        Brand::Id,
        Brand::Quicpay,
        Brand::Transit,
        Brand::Paypay,
        Brand::Dbarai,
        Brand::Aupay,
        Brand::RakutenPay,
        Brand::Merpay,
        Brand::YuchoPay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Jcb => "jcb",
            Brand::Amex => "amex",
            Brand::Id => "id",
            Brand::Quicpay => "quicpay",
            Brand::Transit => "transit",
            Brand::Paypay => "paypay",
            Brand::Dbarai => "dbarai",
            Brand::Aupay => "aupay",
            Brand::RakutenPay => "rakuten_pay",
            Brand::Merpay => "merpay",
            Brand::YuchoPay => "yucho_pay",
        }
    }

    pub fn parse(raw: &str) -> Option<Brand> {
        Brand::ALL.into_iter().find(|b| b.as_str() == raw)
    }

    pub fn family(self) -> MethodFamily {
        match self {
            Brand::Visa | Brand::Mastercard | Brand::Jcb | Brand::Amex => MethodFamily::Card,
            Brand::Id | Brand::Quicpay | Brand::Transit => MethodFamily::Emoney,
            Brand::Paypay
            | Brand::Dbarai
            | Brand::Aupay
            | Brand::RakutenPay
            | Brand::Merpay
            | Brand::YuchoPay => MethodFamily::Qr,
        }
    }

    /// The name printed on receipts and shown on pages (brand names are the same in both
    /// languages, but for 交通系).
    pub fn label(self, english: bool) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Jcb => "JCB",
            Brand::Amex => "American Express",
            Brand::Id => "iD",
            Brand::Quicpay => "QUICPay",
            Brand::Transit if english => "Transit IC",
            Brand::Transit => "交通系電子マネー",
            Brand::Paypay => "PayPay",
            Brand::Dbarai => "d払い",
            Brand::Aupay => "au PAY",
            Brand::RakutenPay => "楽天ペイ",
            Brand::Merpay => "メルペイ",
            Brand::YuchoPay => "ゆうちょPay",
        }
    }
}

/// What the payer used. Online methods go through Stripe or the sandbox; counter methods are
/// recorded by staff with the terminal's slip number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Card online, with 3-D Secure; Apple Pay and Google Pay are cards too.
    Card,
    /// PayPay online (a redirect to the PayPay app).
    Paypay,
    /// Stripe's konbini method: a payment code and voucher paid at a store before it expires.
    Konbini,
    /// A counter terminal payment of one brand.
    Counter(Brand),
    Cash,
    /// A convenience-store slip with a GS1-128 barcode, collected by the agency.
    KonbiniSlip,
}

impl Method {
    /// The stored form: `card`, `paypay`, `konbini`, `counter:visa`, `cash`, `konbini_slip`.
    pub fn to_stored(self) -> String {
        match self {
            Method::Card => "card".to_owned(),
            Method::Paypay => "paypay".to_owned(),
            Method::Konbini => "konbini".to_owned(),
            Method::Counter(brand) => format!("counter:{}", brand.as_str()),
            Method::Cash => "cash".to_owned(),
            Method::KonbiniSlip => "konbini_slip".to_owned(),
        }
    }

    pub fn from_stored(raw: &str) -> Option<Method> {
        match raw {
            "card" => Some(Method::Card),
            "paypay" => Some(Method::Paypay),
            "konbini" => Some(Method::Konbini),
            "cash" => Some(Method::Cash),
            "konbini_slip" => Some(Method::KonbiniSlip),
            other => other
                .strip_prefix("counter:")
                .and_then(Brand::parse)
                .map(Method::Counter),
        }
    }

    pub fn is_cash(self) -> bool {
        matches!(self, Method::Cash)
    }

    /// Which provider may take a payment made this way.
    pub fn fits(self, provider: Provider) -> bool {
        match self {
            Method::Card | Method::Paypay | Method::Konbini => provider.is_online(),
            Method::Counter(_) | Method::Cash => provider == Provider::Counter,
            Method::KonbiniSlip => provider == Provider::KonbiniAgency,
        }
    }

    /// The clearing account a payment of this method passes through at `provider`.
    pub fn channel(self, provider: Provider) -> Channel {
        match (provider, self) {
            (Provider::Stripe, _) => Channel::Stripe,
            (Provider::Sandbox, _) => Channel::Sandbox,
            (Provider::KonbiniAgency, _) => Channel::Konbini,
            (Provider::Counter, Method::Counter(brand)) => match brand.family() {
                MethodFamily::Card => Channel::CounterCard,
                MethodFamily::Emoney => Channel::CounterEmoney,
                MethodFamily::Qr => Channel::CounterQr,
            },
            (Provider::Counter, _) => Channel::Cash,
        }
    }

    /// How the method reads on a receipt or a page.
    pub fn label(self, english: bool) -> String {
        let family = |brand: Brand| match (brand.family(), english) {
            (MethodFamily::Card, false) => "クレジットカード",
            (MethodFamily::Card, true) => "Card",
            (MethodFamily::Emoney, false) => "電子マネー",
            (MethodFamily::Emoney, true) => "E-money",
            (MethodFamily::Qr, false) => "QRコード決済",
            (MethodFamily::Qr, true) => "QR payment",
        };
        match (self, english) {
            (Method::Card, false) => "クレジットカード".to_owned(),
            (Method::Card, true) => "Card".to_owned(),
            (Method::Paypay, _) => "PayPay".to_owned(),
            (Method::Konbini, false) => "コンビニ払い".to_owned(),
            (Method::Konbini, true) => "Convenience store".to_owned(),
            (Method::Counter(brand), false) => {
                format!("{}（{}）", family(brand), brand.label(false))
            }
            (Method::Counter(brand), true) => format!("{} ({})", family(brand), brand.label(true)),
            (Method::Cash, false) => "現金".to_owned(),
            (Method::Cash, true) => "Cash".to_owned(),
            (Method::KonbiniSlip, false) => "コンビニ収納（納付書）".to_owned(),
            (Method::KonbiniSlip, true) => "Convenience-store slip".to_owned(),
        }
    }
}

/// Where money sits between the payer and the bank: one clearing account per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Stripe,
    Sandbox,
    CounterCard,
    CounterEmoney,
    CounterQr,
    Cash,
    Konbini,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Stripe,
        Channel::Sandbox,
        Channel::CounterCard,
        Channel::CounterEmoney,
        Channel::CounterQr,
        Channel::Cash,
        Channel::Konbini,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stripe => "stripe",
            Channel::Sandbox => "sandbox",
            Channel::CounterCard => "counter_card",
            Channel::CounterEmoney => "counter_emoney",
            Channel::CounterQr => "counter_qr",
            Channel::Cash => "cash",
            Channel::Konbini => "konbini",
        }
    }

    pub fn parse(raw: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_survives_its_stored_form() {
        let mut all = vec![
            Method::Card,
            Method::Paypay,
            Method::Konbini,
            Method::Cash,
            Method::KonbiniSlip,
        ];
        all.extend(Brand::ALL.into_iter().map(Method::Counter));
        for m in all {
            assert_eq!(Method::from_stored(&m.to_stored()), Some(m), "{m:?}");
        }
        assert_eq!(Method::from_stored("counter:bitcoin"), None);
    }

    #[test]
    fn counter_brands_land_in_their_family_clearing_account() {
        assert_eq!(
            Method::Counter(Brand::Jcb).channel(Provider::Counter),
            Channel::CounterCard
        );
        assert_eq!(
            Method::Counter(Brand::Transit).channel(Provider::Counter),
            Channel::CounterEmoney
        );
        assert_eq!(
            Method::Counter(Brand::Paypay).channel(Provider::Counter),
            Channel::CounterQr
        );
        assert_eq!(Method::Cash.channel(Provider::Counter), Channel::Cash);
        assert_eq!(Method::Card.channel(Provider::Stripe), Channel::Stripe);
    }

    #[test]
    fn online_methods_do_not_fit_the_counter_and_back() {
        assert!(!Method::Card.fits(Provider::Counter));
        assert!(!Method::Cash.fits(Provider::Stripe));
        assert!(Method::Counter(Brand::Visa).fits(Provider::Counter));
        assert!(Method::Konbini.fits(Provider::Sandbox));
    }

    #[test]
    fn labels_name_family_and_brand() {
        assert_eq!(
            Method::Counter(Brand::Visa).label(false),
            "クレジットカード（Visa）"
        );
        assert_eq!(
            Method::Counter(Brand::Transit).label(true),
            "E-money (Transit IC)"
        );
    }
}
