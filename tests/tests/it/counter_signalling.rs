//! The remote counter end to end with headless WebRTC peers: a called resident answers into a
//! room, the resident and the department's specialist join through the real WebSocket
//! signalling and exchange media through the node's SFU; a transfer hands the room to another
//! department whose specialist joins while the resident stays connected; ending the room
//! closes everyone's call and finishes the ticket. Foreign, expired and forged grants, and
//! malformed or flooding messages, are refused with specific codes while the call goes on.

use madoguchi_counter::{GrantClaims, ParticipantRole};
use madoguchi_domain::{AccountKind, Email, Role, RoomId};
use madoguchi_testpeer::{PeerOptions, Publish, TestPeer, wait_for, wait_for_mesh};
use madoguchi_tests::app::TestApp;
use madoguchi_tests::clients::api_call as call;
use madoguchi_tests::clients::*;
use madoguchi_tests::on_both_backends;
use madoguchi_tests::signal_ws::WsSignalling;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

on_both_backends!(
    a_transfer_hands_the_room_over_without_the_resident_rejoining,
    transfer_without_rejoin
);
on_both_backends!(
    bad_grants_and_bad_messages_are_refused_and_the_call_goes_on,
    refusals_leave_the_call_alone
);

/// Everything a call needs: the room a called resident answered into, and who is who.
pub(crate) struct Called {
    pub(crate) room: String,
    pub(crate) ticket: String,
    pub(crate) resident: String,
    pub(crate) resident_email: String,
    pub(crate) hq: String,
    pub(crate) admin: String,
    /// A department other than the room's (the transfer's target).
    pub(crate) other_department: String,
}

/// The `hq@` specialist's department gets a queue; a resident takes a number, is called and
/// answers.
pub(crate) async fn called_into_room(app: &TestApp) -> anyhow::Result<Called> {
    let admin = admin_token(app).await?;
    let hq = staff_token(app, Role::HqStaff).await?;
    let hq_account = app
        .storage
        .account_by_email(
            app.tenant.id,
            AccountKind::Staff,
            &Email::parse(&app.login(Role::HqStaff).email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    let department = app.storage.roles(app.tenant.id, hq_account.id).await?[0]
        .department_id
        .ok_or_else(|| anyhow::anyhow!("hq@ has no department"))?;
    let other_department = app
        .storage
        .list_departments(app.tenant.id)
        .await?
        .into_iter()
        .find(|d| d.id != department)
        .ok_or_else(|| anyhow::anyhow!("the demo city has one department"))?
        .id
        .to_string();
    let (status, queue) = call(
        app,
        Method::POST,
        "/api/v1/counter/queues",
        &admin,
        Some(json!({"department_id": department, "prefix": "R", "name_ja": "リモート相談", "name_en": "Remote"})),
    )
    .await?;
    assert_eq!(status, 201, "{queue}");
    let queue = queue["id"].as_str().unwrap_or_default().to_owned();
    let resident_account = resident(app).await?;
    let resident = resident_account.token.clone();
    let (status, ticket) = call(
        app,
        Method::POST,
        &format!("/api/v1/counter/queues/{queue}/tickets"),
        &resident,
        Some(json!({})),
    )
    .await?;
    assert_eq!(status, 201, "{ticket}");
    let ticket = ticket["id"].as_str().unwrap_or_default().to_owned();
    let (status, called) = call(
        app,
        Method::POST,
        &format!("/api/v1/counter/queues/{queue}/call-next"),
        &hq,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{called}");
    // Answering opens the room; answering again (a reloaded page) gives the same one.
    let answer = format!("/api/v1/counter/tickets/{ticket}/answer");
    let (status, answered) = call(app, Method::POST, &answer, &resident, None).await?;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["ticket"]["status"], "in_call");
    assert_eq!(answered["room"]["state"], "live");
    assert_eq!(answered["room"]["department_id"], department.to_string());
    let (_, again) = call(app, Method::POST, &answer, &resident, None).await?;
    assert_eq!(again["room"]["id"], answered["room"]["id"]);
    // The specialist cannot answer for the resident.
    assert_eq!(call(app, Method::POST, &answer, &hq, None).await?.0, 404);
    Ok(Called {
        room: answered["room"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ticket,
        resident,
        resident_email: resident_account.email,
        hq,
        admin,
        other_department,
    })
}

/// A grant for `role` in the room: (token, participant).
async fn grant(
    app: &TestApp,
    room: &str,
    token: &str,
    role: &str,
) -> anyhow::Result<(u16, String, String)> {
    let (status, body) = call(
        app,
        Method::POST,
        &format!("/api/v1/counter/rooms/{room}/grants"),
        token,
        Some(json!({"role": role})),
    )
    .await?;
    Ok((
        status,
        body["token"].as_str().unwrap_or_default().to_owned(),
        body["participant"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Joins the room through the signalling as the grant's holder, sending `publish`.
async fn join(
    app: &TestApp,
    room: &str,
    grant_token: &str,
    participant: &str,
    publish: &[Publish],
) -> anyhow::Result<(Arc<WsSignalling>, TestPeer)> {
    let signalling = WsSignalling::connect(&app.url, room, grant_token).await?;
    let mut peer =
        TestPeer::join(signalling.clone(), participant, &PeerOptions::new(publish)).await?;
    peer.start_writers();
    Ok((signalling, peer))
}

async fn transfer_without_rejoin(app: TestApp) -> anyhow::Result<()> {
    app.start_media().await?;
    let called = called_into_room(&app).await?;
    let room = called.room.as_str();

    // Roles are checked: the resident cannot be the specialist, the specialist not the resident.
    assert_eq!(
        grant(&app, room, &called.resident, "specialist").await?.0,
        403
    );
    assert_eq!(grant(&app, room, &called.hq, "resident").await?.0, 403);
    let (status, _, _) = grant(&app, room, &called.resident, "chair").await?;
    assert_eq!(status, 422, "an unknown role");

    // The call page carries each one's grant for their role.
    let resident_page = resident_client(&app, &called.resident_email)
        .await?
        .get(app.at(&format!("/counter/rooms/{room}")))
        .send()
        .await?;
    assert_eq!(resident_page.status(), 200);
    let policy = resident_page.headers()["permissions-policy"]
        .to_str()?
        .to_owned();
    assert!(policy.contains("camera=(self)"), "{policy}");
    assert!(
        resident_page
            .text()
            .await?
            .contains(r#"data-role="resident""#)
    );
    let hq_page = staff_client(&app, Role::HqStaff)
        .await?
        .get(app.at(&format!("/counter/rooms/{room}")))
        .send()
        .await?;
    assert_eq!(hq_page.status(), 200);
    let hq_page = hq_page.text().await?;
    assert!(hq_page.contains(r#"data-role="specialist""#));
    assert!(
        hq_page.contains(r#"id="call-transfer""#),
        "the specialist may hand over"
    );

    let (status, token, resident_id) = grant(&app, room, &called.resident, "resident").await?;
    assert_eq!(status, 201);
    let (resident_ws, resident) = join(
        &app,
        room,
        &token,
        &resident_id,
        &[Publish::Audio, Publish::Video],
    )
    .await?;
    let (status, token, hq_id) = grant(&app, room, &called.hq, "specialist").await?;
    assert_eq!(status, 201);
    let (hq_ws, hq) = join(
        &app,
        room,
        &token,
        &hq_id,
        &[Publish::Audio, Publish::Video],
    )
    .await?;
    let peers = vec![resident, hq];
    wait_for_mesh(&peers, 50).await?;
    // The SFU forwards each one's two tracks to the other; /metrics reads these figures.
    let stats = app
        .state
        .media
        .sfu()
        .ok_or_else(|| anyhow::anyhow!("no SFU"))?
        .stats()
        .await?;
    assert_eq!(
        (stats.rooms, stats.participants, stats.forwarded_streams),
        (1, 2, 4)
    );
    assert_eq!(app.state.media.connected(), (1, 2));
    app.state.media.record_metrics().await;
    // The resident's browser reports what reaches it; the specialist's console shows it.
    let reply = resident_ws
        .request(json!({"type": "stats", "packets_received": 995, "packets_lost": 5, "freezes": 1, "join_ms": 1234}))
        .await?;
    assert_eq!(reply["type"], "ok", "{reply}");
    let reply = resident_ws
        .request(json!({"type": "stats", "packets_received": -1}))
        .await?;
    assert_eq!(reply["code"], "signalling_invalid", "{reply}");
    let console = staff_client(&app, Role::HqStaff)
        .await?
        .get(app.at("/staff/counter"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        console.contains("受信損失 0.5%・映像の停止 1 回"),
        "{console}"
    );
    assert!(console.contains("（接続まで 1.2 秒）"));
    let [resident, hq] =
        <[TestPeer; 2]>::try_from(peers).map_err(|_| anyhow::anyhow!("two peers"))?;

    // Everyone learns who is in the room, and what a track shows.
    resident_ws
        .wait_frame("both participants listed", |f| {
            f["type"] == "participants" && f["participants"].as_array().map(Vec::len) == Some(2)
        })
        .await?;
    let camera = "camera-of-the-specialist";
    let reply = hq_ws
        .request(json!({"type": "track", "track_id": camera, "label": "camera"}))
        .await?;
    assert_eq!(reply["type"], "ok", "{reply}");
    resident_ws
        .wait_frame("the specialist's camera labelled", |f| {
            f["type"] == "track" && f["participant"] == hq_id.as_str() && f["label"] == "camera"
        })
        .await?;

    // A transfer to a department that does not exist is refused, the room unchanged.
    let reply = hq_ws
        .request(json!({"type": "transfer", "department_id": uuid::Uuid::now_v7()}))
        .await?;
    assert_eq!(
        (reply["code"].as_str(), reply["field"].as_str()),
        (Some("validation_failed"), Some("department_id")),
        "{reply}"
    );
    // The resident may not transfer or end.
    let reply = resident_ws
        .request(json!({"type": "transfer", "department_id": called.other_department}))
        .await?;
    assert_eq!(reply["code"], "forbidden", "{reply}");
    let reply = resident_ws.request(json!({"type": "end"})).await?;
    assert_eq!(reply["code"], "forbidden", "{reply}");

    // The specialist hands the resident to the other department.
    let reply = hq_ws
        .request(json!({"type": "transfer", "department_id": called.other_department}))
        .await?;
    assert_eq!(reply["type"], "ok", "{reply}");
    resident_ws
        .wait_frame("the room's new department", |f| {
            f["type"] == "room" && f["room"]["department_id"] == called.other_department.as_str()
        })
        .await?;
    // The old department's specialist no longer has a part in the room (not disclosed: 404).
    assert_eq!(grant(&app, room, &called.hq, "specialist").await?.0, 404);
    let reply = hq_ws.request(json!({"type": "end"})).await?;
    assert_eq!(reply["code"], "forbidden", "{reply}");

    // The new department's specialist (the administrator may serve any) joins; the resident,
    // still on the same connection, receives them and they the resident.
    let (status, token, admin_id) = grant(&app, room, &called.admin, "specialist").await?;
    assert_eq!(status, 201);
    let (admin_ws, admin) = join(
        &app,
        room,
        &token,
        &admin_id,
        &[Publish::Audio, Publish::Video],
    )
    .await?;
    for send in &admin.sends {
        wait_for("the resident to receive the new specialist", || {
            resident.received_from(send.ssrc).received >= 50
        })
        .await?;
    }
    for send in &resident.sends {
        wait_for("the new specialist to receive the resident", || {
            admin.received_from(send.ssrc).received >= 50
        })
        .await?;
    }
    hq.leave().await?;

    // Ending closes everyone's call and finishes the ticket; the room cannot be joined again.
    let reply = admin_ws.request(json!({"type": "end"})).await?;
    assert_eq!(reply["type"], "ok", "{reply}");
    resident_ws
        .wait_frame("the call closed", |f| {
            f["type"] == "closed" && f["reason"] == "room_ended"
        })
        .await?;
    let (_, ticket) = call(
        &app,
        Method::GET,
        &format!("/api/v1/counter/tickets/{}", called.ticket),
        &called.resident,
        None,
    )
    .await?;
    assert_eq!(
        (ticket["status"].as_str(), ticket["outcome"].as_str()),
        (Some("finished"), Some("done")),
        "{ticket}"
    );
    let (_, view) = call(
        &app,
        Method::GET,
        &format!("/api/v1/counter/rooms/{room}"),
        &called.resident,
        None,
    )
    .await?;
    assert_eq!(view["state"], "ended");
    let (status, _, _) = grant(&app, room, &called.resident, "resident").await?;
    assert_eq!(status, 409, "room_ended");
    drop((resident, admin));

    // Joins, leaves, the transfer and the end are in the audit log.
    let audit = app
        .storage
        .list_audit(
            app.tenant.id,
            &madoguchi_storage::AuditFilter {
                action_prefix: Some("counter.".to_owned()),
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
    for action in [
        "counter.answered",
        "counter.joined",
        "counter.left",
        "counter.transferred",
        "counter.room_ended",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
    Ok(())
}

async fn refusals_leave_the_call_alone(app: TestApp) -> anyhow::Result<()> {
    app.start_media().await?;
    let called = called_into_room(&app).await?;
    let room = called.room.as_str();
    let (_, resident_token, resident_id) = grant(&app, room, &called.resident, "resident").await?;
    let (_, hq_token, hq_id) = grant(&app, room, &called.hq, "specialist").await?;

    // A grant for this room presented at another room's socket.
    let other_room = uuid::Uuid::now_v7().to_string();
    let stranger = WsSignalling::connect(&app.url, &other_room, &resident_token).await?;
    let reply = stranger
        .request(json!({"type": "join", "grant": resident_token, "sdp": "v=0"}))
        .await?;
    assert_eq!(
        (reply["code"].as_str(), reply["fatal"].as_bool()),
        (Some("grant_invalid"), Some(true)),
        "{reply}"
    );
    // A forged one (its signature changed) and an expired one.
    let mut forged = resident_token.clone();
    forged.pop();
    forged.push(if resident_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let socket = WsSignalling::connect(&app.url, room, &forged).await?;
    let reply = socket
        .request(json!({"type": "join", "grant": forged, "sdp": "v=0"}))
        .await?;
    assert_eq!(reply["code"], "grant_invalid", "{reply}");
    let now = time::OffsetDateTime::now_utc();
    let expired = GrantClaims {
        tenant: app.tenant.id,
        room: RoomId(uuid::Uuid::parse_str(room)?),
        role: ParticipantRole::Resident,
        identity: resident_id.clone(),
        iat: (now - time::Duration::minutes(20)).unix_timestamp(),
        exp: (now - time::Duration::minutes(11)).unix_timestamp(),
    };
    let expired = app.state.grant_keys.sign(&expired)?;
    let socket = WsSignalling::connect(&app.url, room, &expired).await?;
    let reply = socket
        .request(json!({"type": "join", "grant": expired, "sdp": "v=0"}))
        .await?;
    assert_eq!(reply["code"], "grant_expired", "{reply}");
    // Something other than `join` first.
    let socket = WsSignalling::connect(&app.url, room, &resident_token).await?;
    let reply = socket
        .request(json!({"type": "offer", "sdp": "v=0"}))
        .await?;
    assert_eq!(reply["code"], "signalling_invalid", "{reply}");

    let (resident_ws, resident) =
        join(&app, room, &resident_token, &resident_id, &[Publish::Video]).await?;
    let (hq_ws, hq) = join(&app, room, &hq_token, &hq_id, &[Publish::Video]).await?;
    let peers = vec![resident, hq];
    wait_for_mesh(&peers, 30).await?;

    // Garbage of every kind: each gets its own code, and the socket stays open.
    let cases = [
        (json!({"type": "dance"}), "signalling_invalid"),
        (
            json!({"type": "offer", "sdp": "this is not SDP"}),
            "sdp_invalid",
        ),
        (
            json!({"type": "candidate", "candidate": {"candidate": "candidate:garbage"}}),
            "candidate_invalid",
        ),
        (
            json!({"type": "answer", "request_id": 999_999, "sdp": "v=0"}),
            "sdp_invalid",
        ),
        (
            json!({"type": "track", "track_id": "", "label": "camera"}),
            "validation_failed",
        ),
        (
            json!({"type": "track", "track_id": "x", "label": "hologram"}),
            "signalling_invalid",
        ),
        (
            json!({"type": "join", "grant": resident_token, "sdp": "v=0"}),
            "signalling_invalid",
        ),
        (
            json!({"type": "invite_interpreter", "account_id": uuid::Uuid::now_v7(), "language": "en"}),
            "forbidden",
        ),
    ];
    for (frame, code) in cases {
        let reply = resident_ws.request(frame.clone()).await?;
        assert_eq!(reply["code"], code, "{frame} → {reply}");
        assert_eq!(reply["fatal"], false, "{frame} → {reply}");
    }
    resident_ws.send_raw(Message::Text("{not json".into()))?;
    resident_ws.send_raw(Message::Binary(vec![0u8, 1, 2].into()))?;
    resident_ws
        .wait_frame("the garbage refused", |f| f["code"] == "signalling_invalid")
        .await?;
    // The specialist's invitation checks its interpreter: not a staff account, a bad language.
    let reply = hq_ws
        .request(json!({"type": "invite_interpreter", "account_id": uuid::Uuid::now_v7(), "language": "en"}))
        .await?;
    assert_eq!(reply["field"], "account_id", "{reply}");
    let reply = hq_ws
        .request(json!({"type": "invite_interpreter", "account_id": uuid::Uuid::now_v7(), "language": "English"}))
        .await?;
    assert_eq!(reply["field"], "language", "{reply}");

    // A flood is slowed down, not fatal when it stops.
    for _ in 0..150 {
        resident_ws.send_raw(Message::Text(
            json!({"type": "track", "track_id": "flood", "label": "camera"})
                .to_string()
                .into(),
        ))?;
    }
    resident_ws
        .wait_frame("the flood limited", |f| f["code"] == "rate_limited")
        .await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let reply = resident_ws
        .request(json!({"type": "track", "track_id": "after", "label": "document"}))
        .await?;
    assert_eq!(reply["type"], "ok", "{reply}");

    // Media still flows both ways.
    let before: Vec<u64> = peers
        .iter()
        .flat_map(|receiver| {
            peers
                .iter()
                .filter(move |s| s.id != receiver.id)
                .flat_map(move |sender| {
                    sender
                        .sends
                        .iter()
                        .map(move |send| receiver.received_from(send.ssrc).received)
                })
        })
        .collect();
    wait_for_mesh(&peers, before.iter().copied().max().unwrap_or(0) + 30).await?;
    Ok(())
}
