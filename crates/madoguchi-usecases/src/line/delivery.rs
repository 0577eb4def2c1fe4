//! The LINE side of reservation notices: whether a resident's notices also go by LINE, and
//! sending one through the city's channel as it is when the job runs.

use crate::notices::{from_notify, retry};
use crate::{Scope, UseCaseError, UseCaseResult};
use madoguchi_domain::AccountId;
use madoguchi_notify::{Channel, FanOut, LineConfig, LineNotifier, NotifyReservation};
use madoguchi_storage::{BookingStore, LineStore, StorageError};
use std::sync::Arc;

/// Whether `account`'s reservation notices also go by LINE: the city has LINE switched on and
/// the resident linked it. Read when a notice is fanned out; a storage failure retries the job.
pub async fn notices_go_by_line<S: LineStore + ?Sized>(
    store: &S,
    scope: &Scope,
    account: AccountId,
) -> UseCaseResult<bool> {
    let enabled = store
        .line_channel(scope.tenant)
        .await
        .map_err(retry)?
        .is_some_and(|c| c.enabled);
    if !enabled {
        return Ok(false);
    }
    Ok(store
        .line_link(scope.tenant, account)
        .await
        .map_err(retry)?
        .is_some())
}

/// Delivers a LINE notice: with the tenant's channel as it is now, to the resident's current
/// link. A channel switched off or a link removed since the job was queued drops the notice
/// (the resident or the city chose so); send failures are retried like mail.
pub async fn deliver_notice<S: LineStore + BookingStore + ?Sized>(
    store: &S,
    scope: &Scope,
    notice: &NotifyReservation,
) -> UseCaseResult<()> {
    let tenant = scope.tenant;
    let channel = match store.line_channel(tenant).await.map_err(retry)? {
        Some(channel) if channel.enabled => channel,
        _ => {
            tracing::info!(tenant_id = %tenant, delivery_id = %notice.delivery_id, "LINE is off; notice dropped");
            return Ok(());
        }
    };
    let account = match store.reservation(tenant, notice.facts.reservation_id).await {
        Ok(reservation) => reservation.account_id,
        Err(StorageError::NotFound) => None,
        Err(other) => return Err(retry(other)),
    };
    let link = match account {
        Some(account) => store.line_link(tenant, account).await.map_err(retry)?,
        None => None,
    };
    let Some(link) = link else {
        tracing::info!(tenant_id = %tenant, delivery_id = %notice.delivery_id, "no LINE link any more; notice dropped");
        return Ok(());
    };
    let config = LineConfig::new(channel.channel_access_token.clone())
        .with_base_url(channel.api_base_url.clone());
    let notifier = LineNotifier::new(config).map_err(UseCaseError::internal)?;
    let notifiers = FanOut::new().with_line(Arc::new(notifier));
    let mut current = notice.clone();
    current.channel = Some(Channel::Line);
    current.recipient.email = None;
    current.recipient.line_user_id = Some(link.line_user_id);
    current
        .deliver(&notifiers, scope.now())
        .await
        .map_err(from_notify)
}
