//! Rendering a reservation notice from the data as it is when the delivery job runs, and
//! sending it on the job's one channel.

use super::{ReservationDelivery, base_url_for, from_notify, retry};
use crate::{Scope, UseCaseResult};
use madoguchi_notify::{
    Bilingual, Channel, FanOut, NotifyReservation, Recipient, ReservationEvent, ReservationFacts,
};
use madoguchi_storage::{
    AccountStore, BookingStore, LineStore, OrgStore, ReservationNoticeEvent, ReservationStatus,
    StorageError, TenantStore,
};

/// The storage a delivery reads: the reservation and its slot and service, the office, the
/// city, the account, and the city's LINE channel and the resident's link.
pub trait NoticeStores: BookingStore + AccountStore + OrgStore + TenantStore + LineStore {}

impl<T> NoticeStores for T where
    T: BookingStore + AccountStore + OrgStore + TenantStore + LineStore + ?Sized
{
}

/// What a delivery works with besides the scope.
pub struct NoticeDeps<'a, S: ?Sized> {
    pub store: &'a S,
    /// The mail notifier (LINE goes through each city's own channel, built when sending).
    pub notifiers: &'a FanOut,
    /// The installation's public URL, for the link to the reservation's page.
    pub public_url: &'a str,
}

/// The message for `delivery`, or `None` when there is nothing to tell any more (the
/// reservation or the account is gone, an offer was already taken or ran out).
pub async fn current_notice<S: NoticeStores + ?Sized>(
    d: &NoticeDeps<'_, S>,
    scope: &Scope,
    delivery: &ReservationDelivery,
) -> UseCaseResult<Option<NotifyReservation>> {
    let tenant_id = scope.tenant;
    let store = d.store;
    let reservation = match store.reservation(tenant_id, delivery.reservation_id).await {
        Ok(reservation) => reservation,
        Err(StorageError::NotFound) => return Ok(None),
        Err(other) => return Err(retry(other)),
    };
    let Some(account_id) = reservation.account_id else {
        return Ok(None);
    };
    let account = match store.account(tenant_id, account_id).await {
        Ok(account) => account,
        Err(StorageError::NotFound) => return Ok(None),
        Err(other) => return Err(retry(other)),
    };
    let event = match delivery.event {
        ReservationNoticeEvent::Confirmed => ReservationEvent::Confirmed,
        ReservationNoticeEvent::Changed => ReservationEvent::Changed,
        ReservationNoticeEvent::Cancelled { by_staff } => ReservationEvent::Cancelled {
            by_staff,
            reason: reservation.cancel_reason.clone(),
        },
        ReservationNoticeEvent::WaitlistPromoted => ReservationEvent::WaitlistPromoted,
        ReservationNoticeEvent::WaitlistOffer => {
            match (reservation.status, reservation.hold_expires_at) {
                (ReservationStatus::Held, Some(respond_by)) => {
                    ReservationEvent::WaitlistOffer { respond_by }
                }
                // Taken or run out before it was sent: nothing to offer.
                _ => return Ok(None),
            }
        }
        ReservationNoticeEvent::Reminder { .. } => ReservationEvent::Reminder,
    };
    let slot = store
        .slot(tenant_id, reservation.slot_id)
        .await
        .map_err(retry)?;
    let service = store
        .service(tenant_id, reservation.service_id)
        .await
        .map_err(retry)?;
    let office = store
        .office(tenant_id, slot.office_id)
        .await
        .map_err(retry)?;
    let tenants = store.list_tenants().await.map_err(retry)?;
    let Some(tenant) = tenants.into_iter().find(|t| t.id == tenant_id) else {
        return Ok(None);
    };
    let facts = ReservationFacts {
        tenant_id,
        reservation_id: reservation.id,
        reference: Some(reservation.reference),
        service: Bilingual::new(service.name_ja, service.name_en),
        office: Bilingual::new(office.name_ja, office.name_en),
        city: Bilingual::new(tenant.name_ja, tenant.name_en),
        start: slot.starts_at,
        end: slot.ends_at,
        manage_url: format!(
            "{}/my/reservations/{}",
            base_url_for(d.public_url, tenant.host.as_deref()),
            reservation.id
        ),
        sequence: 0,
    };
    Ok(Some(NotifyReservation {
        delivery_id: delivery.delivery_id,
        // LINE deliveries take the resident's current link when sent.
        recipient: Recipient {
            email: (delivery.channel == Channel::Email).then(|| account.email.as_str().to_owned()),
            line_user_id: None,
            lang: account.locale,
        },
        event,
        facts,
        channel: Some(delivery.channel),
    }))
}

/// Renders `delivery` from current data and sends it; nothing when there is nothing to tell.
/// Transient failures (the database, the provider) are retried, permanent ones fail.
pub async fn deliver<S: NoticeStores + ?Sized>(
    d: &NoticeDeps<'_, S>,
    scope: &Scope,
    delivery: &ReservationDelivery,
) -> UseCaseResult<()> {
    let Some(notice) = current_notice(d, scope, delivery).await? else {
        return Ok(());
    };
    // LINE goes through the tenant's own official account, read when the job runs.
    if delivery.channel == Channel::Line {
        return crate::line::deliver_notice(d.store, scope, &notice).await;
    }
    notice
        .deliver(d.notifiers, scope.now())
        .await
        .map_err(from_notify)
}
