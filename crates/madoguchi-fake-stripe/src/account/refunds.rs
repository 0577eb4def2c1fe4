//! The fake account's refunds: creating one (`POST /v1/refunds`), booking it on its charge, and
//! the test control that settles a refund waiting for the payer's bank details.

use super::*;

impl Account {
    /// `POST /v1/refunds`.
    pub fn create_refund(
        &mut self,
        p: &Params,
        cause: &Cause,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        let pi = match (p.get("payment_intent"), p.get("charge")) {
            (Some(pi), _) => pi.to_owned(),
            (None, Some(ch)) => self
                .charges
                .get(ch)
                .map(|c| str_of(c, "payment_intent").to_owned())
                .ok_or_else(|| ApiError::no_such("charge", ch))?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "parameter_missing",
                    None,
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ));
            }
        };
        let intent = self
            .intents
            .get(&pi)
            .ok_or_else(|| ApiError::no_such("payment_intent", &pi))?;
        let charge_id = intent["latest_charge"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let charge = self
            .charges
            .get(&charge_id)
            .cloned()
            .filter(|c| c["paid"] == true);
        let (Some(charge), "succeeded") = (charge, str_of(intent, "status")) else {
            return Err(ApiError::invalid(
                "charge_not_refundable",
                None,
                format!("This PaymentIntent ({pi}) does not have a successful charge to refund."),
            ));
        };
        let captured = charge["amount"].as_i64().unwrap_or_default();
        let refunded = charge["amount_refunded"].as_i64().unwrap_or_default();
        let remaining = captured - refunded;
        let amount = match p.get("amount") {
            None => remaining,
            Some(raw) => raw.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    Some("amount"),
                    "Invalid positive integer",
                )
            })?,
        };
        if amount <= 0 {
            return Err(ApiError::invalid(
                "parameter_invalid_integer",
                Some("amount"),
                "Invalid positive integer",
            ));
        }
        if amount > remaining {
            return Err(ApiError::invalid(
                "amount_too_large",
                Some("amount"),
                format!(
                    "Refund amount (¥{amount}) is greater than unrefunded amount on charge (¥{remaining})"
                ),
            ));
        }
        let method = charge["payment_method_details"]["type"]
            .as_str()
            .unwrap_or("card")
            .to_owned();
        let id = new_id("re");
        let mut re = crate::fixtures::refund();
        // Konbini has no card to send the money back to: Stripe e-mails the payer for bank
        // details and the refund waits in `requires_action` until they answer.
        let (status, next_action) = if method == "konbini" {
            (
                "requires_action",
                json!({ "type": "display_details", "display_details": {
                    "email_sent": { "email_sent_at": now.unix_timestamp(), "email_sent_to": charge["receipt_email"].as_str().unwrap_or_default() },
                    "expires_at": now.unix_timestamp() + 45 * 86_400 } }),
            )
        } else {
            ("succeeded", Value::Null)
        };
        for (key, value) in [
            ("id", json!(id)),
            ("amount", json!(amount)),
            ("balance_transaction", json!(new_id("txn"))),
            ("charge", json!(charge_id)),
            ("created", json!(now.unix_timestamp())),
            ("currency", charge["currency"].clone()),
            (
                "destination_details",
                if method == "card" {
                    json!({ "type": "card", "card": { "type": "refund", "reference": null,
                            "reference_status": "pending", "reference_type": "acquirer_reference_number" } })
                } else {
                    json!({ "type": method })
                },
            ),
            ("metadata", json!(p.map("metadata"))),
            ("payment_intent", json!(pi)),
            ("reason", json!(p.get("reason"))),
            ("status", json!(status)),
            ("next_action", next_action),
        ] {
            set(&mut re, key, value);
        }
        self.refunds.insert(id.clone(), re.clone());
        self.refunds_created += 1;
        self.emit("refund.created", re.clone(), cause, now);
        if status == "succeeded" {
            self.book_refund(&id, cause, now);
        }
        Ok(re)
    }

    /// Adds a succeeded refund to its charge and tells (`charge.refunded`).
    fn book_refund(&mut self, refund_id: &str, cause: &Cause, now: OffsetDateTime) {
        let Some(re) = self.refunds.get(refund_id).cloned() else {
            return;
        };
        let charge_id = str_of(&re, "charge").to_owned();
        if let Some(ch) = self.charges.get_mut(&charge_id) {
            let total = ch["amount_refunded"].as_i64().unwrap_or_default()
                + re["amount"].as_i64().unwrap_or_default();
            let amount = ch["amount"].as_i64().unwrap_or_default();
            set(ch, "amount_refunded", json!(total));
            set(ch, "refunded", json!(total >= amount));
            if let Some(list) = ch["refunds"]["data"].as_array_mut() {
                list.insert(0, re.clone());
            }
            let count = ch["refunds"]["data"].as_array().map_or(0, Vec::len);
            ch["refunds"]["total_count"] = json!(count);
            let ch = ch.clone();
            self.emit("charge.refunded", ch, cause, now);
        }
    }

    /// A refund waiting for the payer's bank details is paid out (or fails).
    pub fn settle_refund(
        &mut self,
        refund_id: &str,
        succeed: bool,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        let cause = Cause::default();
        let re = self
            .refunds
            .get_mut(refund_id)
            .ok_or_else(|| format!("no refund {refund_id}"))?;
        if !matches!(str_of(re, "status"), "pending" | "requires_action") {
            return Err(format!("refund {refund_id} is {}", str_of(re, "status")));
        }
        set(
            re,
            "status",
            json!(if succeed { "succeeded" } else { "failed" }),
        );
        set(re, "next_action", Value::Null);
        if !succeed {
            set(re, "failure_reason", json!("expired_or_canceled_card"));
        }
        let re = re.clone();
        self.emit("refund.updated", re.clone(), &cause, now);
        if succeed {
            self.book_refund(refund_id, &cause, now);
        } else {
            self.emit("refund.failed", re, &cause, now);
        }
        Ok(())
    }
}
