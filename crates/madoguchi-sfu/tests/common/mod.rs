//! What the SFU's tests share: starting an SFU on loopback, and joining its rooms with the
//! headless peers of `madoguchi-testpeer` over in-process signalling. Each test binary uses
//! part of it, hence the allowances below.

#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use madoguchi_sfu::{Grant, ParticipantId, RoomId, Sfu, SfuConfig, SfuHandle};
pub use madoguchi_testpeer::{
    Codecs, InProcess, LossyLink, PeerOptions, Publish, TestPeer, WAIT, prepare, wait_for,
    wait_for_mesh,
};

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,rtc_dtls::config=error")
            }),
        )
        .with_test_writer()
        .try_init();
}

pub fn start_sfu() -> SfuHandle {
    start_sfu_with(|_| {})
}

pub fn start_sfu_with(configure: impl FnOnce(&mut SfuConfig)) -> SfuHandle {
    init_tracing();
    let mut config = SfuConfig::new("127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    Sfu::start(config).expect("the SFU starts")
}

pub fn room(name: &str) -> RoomId {
    RoomId::new(name).unwrap()
}

/// In-process signalling for `id` in `room`, with every right.
pub fn signalling(sfu: &SfuHandle, room: &RoomId, id: &str) -> Arc<InProcess> {
    Arc::new(InProcess::new(
        sfu.clone(),
        room.clone(),
        ParticipantId::new(id).unwrap(),
        Grant::FULL,
    ))
}

/// Join `room` publishing `publish`, and wait until connected with the chat channel open.
pub async fn join(
    sfu: &SfuHandle,
    room: &RoomId,
    id: &str,
    publish: &[Publish],
) -> anyhow::Result<TestPeer> {
    join_with_options(sfu, room, id, &PeerOptions::new(publish)).await
}

pub async fn join_with_options(
    sfu: &SfuHandle,
    room: &RoomId,
    id: &str,
    options: &PeerOptions,
) -> anyhow::Result<TestPeer> {
    Ok(TestPeer::join(signalling(sfu, room, id), id, options).await?)
}

/// Join as a browser with other payload types would.
pub async fn join_with(
    sfu: &SfuHandle,
    room: &RoomId,
    id: &str,
    publish: &[Publish],
    codecs: Codecs,
) -> anyhow::Result<TestPeer> {
    let mut options = PeerOptions::new(publish);
    options.codecs = codecs;
    join_with_options(sfu, room, id, &options).await
}

/// Join through `link`: the peer is told the link's address instead of the SFU's.
pub async fn join_via(
    sfu: &SfuHandle,
    room: &RoomId,
    id: &str,
    publish: &[Publish],
    link: &LossyLink,
) -> anyhow::Result<TestPeer> {
    let mut options = PeerOptions::new(publish);
    options.candidate_rewrite = Some((
        format!(" {} typ host", sfu.advertised_addr().port()),
        format!(" {} typ host", link.addr.port()),
    ));
    join_with_options(sfu, room, id, &options).await
}
