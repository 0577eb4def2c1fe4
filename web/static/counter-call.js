// The remote counter's call page: joins the consultation room through the signalling
// WebSocket (docs/signalling.md) and shows everyone's camera, screen and document camera.
// The page carries a join grant in data attributes; a lost connection fetches a fresh grant
// and joins again by itself. No inline script (the CSP forbids it): everything is here.
(() => {
  'use strict';
  const root = document.getElementById('call');
  if (!root || !window.RTCPeerConnection || !window.WebSocket) {
    return;
  }
  const data = root.dataset;
  const config = {
    room: data.room,
    role: data.role,
    participant: data.participant,
    grant: data.grant,
    signal: data.signal,
    ice: JSON.parse(data.ice || '[]'),
    csrf: data.csrf,
    // Tests (and a city that must go through its TURN relay) force relayed media.
    relay: new URLSearchParams(location.search).get('relay') === '1',
  };
  const text = (key) => data['t' + key] || '';
  const $ = (id) => document.getElementById(id);
  const statusLine = $('call-status');
  const videos = $('call-videos');
  const chatLog = $('call-chat-log');
  root.hidden = false;

  let ws = null;
  let pc = null;
  let chat = null;
  let local = new MediaStream();
  let screen = null;
  // The document camera or a photo of a page: one video labelled `document`, whose transceiver
  // is reused (the SFU takes a bounded number of videos per participant).
  let documentStream = null;
  let documentTransceiver = null;
  let documentRedraw = null;
  let ended = false;
  let nextId = 1;
  let chain = Promise.resolve();
  let retryDelay = 1000;
  let joinStartedAt = 0;
  let joinMs = null;
  const pending = new Map();
  const midOwners = new Map();
  const labels = new Map();
  const names = new Map();

  const say = (message) => {
    statusLine.textContent = message;
  };

  // What the test harness (and a support desk's console) can read: the connection and a
  // summary of what arrives from each other participant.
  window.madoguchiCall = {
    get pc() { return pc; },
    get participants() { return Array.from(names.keys()); },
    async inbound() {
      if (!pc) return [];
      const stats = await pc.getStats();
      const out = [];
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp') {
          out.push({ kind: s.kind, mid: s.mid, publisher: midOwners.get(s.mid) || null,
            packets: s.packetsReceived || 0, lost: s.packetsLost || 0,
            frames: s.framesDecoded || 0, bytes: s.bytesReceived || 0 });
        }
      });
      return out;
    },
  };

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
    }
  }

  function request(frame) {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      send({ ...frame, id });
    });
  }

  function tile(key, label, kind) {
    let figure = videos.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!figure) {
      figure = document.createElement('figure');
      figure.className = 'call-tile';
      figure.dataset.key = key;
      const media = document.createElement(kind === 'audio' ? 'audio' : 'video');
      media.autoplay = true;
      media.playsInline = true;
      figure.appendChild(media);
      const caption = document.createElement('figcaption');
      figure.appendChild(caption);
      if (kind === 'audio') {
        figure.hidden = true;
      }
      videos.appendChild(figure);
    }
    figure.querySelector('figcaption').textContent = label;
    return figure;
  }

  function roleName(role) {
    if (!role) return '';
    return text('Role' + role.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')) || role;
  }

  function captionOf(publisher, trackId) {
    const who = roleName(names.get(publisher) || '');
    const what = labels.get(publisher + ' ' + trackId);
    return what ? `${who}（${text('Label' + what.charAt(0).toUpperCase() + what.slice(1))}）` : who;
  }

  function attach(event) {
    const mid = event.transceiver && event.transceiver.mid;
    const owner = midOwners.get(mid) || { publisher: '', trackId: '' };
    const key = `${owner.publisher} ${mid}`;
    const figure = tile(key, captionOf(owner.publisher, owner.trackId), event.track.kind);
    figure.dataset.publisher = owner.publisher;
    figure.dataset.trackId = owner.trackId;
    const media = figure.querySelector('video, audio');
    media.srcObject = new MediaStream([event.track]);
    event.track.addEventListener('ended', () => figure.remove());
    event.track.addEventListener('mute', () => { figure.dataset.muted = '1'; });
    event.track.addEventListener('unmute', () => { delete figure.dataset.muted; });
  }

  function refreshCaptions() {
    videos.querySelectorAll('figure[data-publisher]').forEach((figure) => {
      figure.querySelector('figcaption').textContent =
        captionOf(figure.dataset.publisher, figure.dataset.trackId);
    });
  }

  function appendChat(from, message) {
    const item = document.createElement('li');
    const who = document.createElement('span');
    who.className = 'call-chat-from';
    who.textContent = from === config.participant ? text('You') : roleName(names.get(from) || '');
    item.appendChild(who);
    item.appendChild(document.createTextNode(' ' + message));
    chatLog.appendChild(item);
  }

  async function applyOffer(frame) {
    for (const track of frame.tracks || []) {
      midOwners.set(track.mid, { publisher: track.publisher, trackId: track.track_id });
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: frame.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    send({ type: 'answer', request_id: frame.request_id, sdp: answer.sdp });
    // Gone publishers' tiles leave with their transceivers.
    const live = new Set(Array.from(midOwners.keys()).filter((mid) =>
      (frame.tracks || []).some((t) => t.mid === mid)));
    videos.querySelectorAll('figure[data-key]').forEach((figure) => {
      const mid = figure.dataset.key.split(' ').pop();
      if (figure.dataset.key !== 'self' && !live.has(mid)) figure.remove();
    });
  }

  async function handle(frame) {
    if (frame.reply_to != null && pending.has(frame.reply_to)) {
      const resolve = pending.get(frame.reply_to);
      pending.delete(frame.reply_to);
      if (frame.type === 'answer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
      }
      resolve(frame);
      return;
    }
    switch (frame.type) {
      case 'joined':
        await pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
        retryDelay = 1000;
        for (const l of frame.labels || []) labels.set(l.participant + ' ' + l.track_id, l.label);
        for (const track of local.getVideoTracks()) {
          send({ type: 'track', track_id: track.id, label: 'camera' });
        }
        say(text('Joined'));
        break;
      case 'offer':
        await applyOffer(frame);
        break;
      case 'connected':
        say(text('Connected'));
        break;
      case 'connection_failed':
        say(text('Reconnecting'));
        break;
      case 'participants':
        names.clear();
        for (const p of frame.participants) names.set(p.participant, p.role);
        refreshCaptions();
        break;
      case 'track':
        labels.set(frame.participant + ' ' + frame.track_id, frame.label);
        refreshCaptions();
        break;
      case 'chat':
        appendChat(frame.from, frame.text);
        break;
      case 'room':
        if (frame.room && frame.room.state === 'ended') finish(text('Ended'));
        else say(text('RoomChanged'));
        break;
      case 'closed':
        if (frame.reason === 'replaced') finish(text('Replaced'));
        else if (frame.reason === 'room_ended') finish(text('Ended'));
        break;
      case 'error':
        say(frame.message || text('Error'));
        if (frame.fatal && (frame.code === 'room_ended' || frame.code === 'forbidden')) {
          finish(frame.message);
        }
        break;
      default:
        break;
    }
  }

  function finish(message) {
    ended = true;
    say(message);
    if (ws) ws.close();
    if (pc) pc.close();
    local.getTracks().forEach((t) => t.stop());
    root.querySelectorAll('.call-controls button, .call-staff button').forEach((b) => { b.disabled = true; });
    // A branch kiosk is ready for the next resident by itself.
    if (data.kiosk === '1') setTimeout(() => { location.href = '/kiosk'; }, 10000);
  }

  // Every ten seconds: what reaches this participant, for the specialist's console.
  async function reportQuality() {
    if (!pc || !ws || ws.readyState !== WebSocket.OPEN) return;
    const stats = await pc.getStats();
    let received = 0;
    let lost = 0;
    let freezes = 0;
    let frames = 0;
    let roundTrip = null;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        received += s.packetsReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
        freezes += s.freezeCount || 0;
        frames += s.framesDecoded || 0;
      } else if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime != null) {
        roundTrip = Math.round(s.currentRoundTripTime * 1000);
      }
    });
    if (joinMs === null && frames > 0) joinMs = Math.round(performance.now() - joinStartedAt);
    const report = { type: 'stats', packets_received: received, packets_lost: lost, freezes };
    if (joinMs !== null) report.join_ms = joinMs;
    if (roundTrip !== null) report.round_trip_ms = roundTrip;
    send(report);
  }
  setInterval(() => { reportQuality().catch(() => {}); }, 10000);

  async function connect() {
    joinStartedAt = performance.now();
    joinMs = null;
    pc = new RTCPeerConnection({ iceServers: config.ice, iceTransportPolicy: config.relay ? 'relay' : 'all' });
    chat = pc.createDataChannel('chat');
    for (const track of local.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [local] });
    }
    pc.ontrack = attach;
    pc.onicecandidate = (event) => {
      if (event.candidate) send({ type: 'candidate', candidate: event.candidate.toJSON() });
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // The room's media node, which may be another host than this page's.
    const url = new URL(config.signal, location.href);
    if (url.protocol === 'https:') url.protocol = 'wss:';
    if (url.protocol === 'http:') url.protocol = 'ws:';
    ws = new WebSocket(url);
    ws.addEventListener('open', () => {
      send({ type: 'join', grant: config.grant, sdp: pc.localDescription.sdp });
    });
    ws.addEventListener('message', (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      chain = chain.then(() => handle(frame)).catch((e) => say(text('Error') + ' ' + e));
    });
    ws.addEventListener('close', () => {
      if (!ended) reconnect();
    });
  }

  // A lost socket or network: a fresh grant, a new connection, the same room.
  async function reconnect() {
    say(text('Reconnecting'));
    if (pc) pc.close();
    stopDocumentTracks();
    documentTransceiver = null;
    const stopDocumentButton = $('call-document-stop');
    if (stopDocumentButton) stopDocumentButton.hidden = true;
    pending.clear();
    await new Promise((r) => setTimeout(r, retryDelay));
    retryDelay = Math.min(retryDelay * 2, 15000);
    try {
      const body = new URLSearchParams({ csrf_token: config.csrf, role: config.role });
      const response = await fetch(`/counter/rooms/${config.room}/grant`, { method: 'POST', body, credentials: 'same-origin' });
      if (response.status === 409) { finish(text('Ended')); return; }
      if (!response.ok) { reconnect(); return; }
      const fresh = await response.json();
      config.grant = fresh.token;
      config.ice = fresh.ice_servers || config.ice;
      // A lost media node's rooms move: the fresh grant names where the room is now.
      config.signal = fresh.signal_url || config.signal;
      await connect();
    } catch {
      reconnect();
    }
  }

  async function renegotiate() {
    for (let attempt = 0; attempt < 5; attempt++) {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const reply = await request({ type: 'offer', sdp: offer.sdp });
      if (reply.type === 'answer') return true;
      await pc.setLocalDescription({ type: 'rollback' });
      await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
    return false;
  }

  function toggle(button, tracks) {
    const on = button.getAttribute('aria-pressed') !== 'true';
    tracks.forEach((t) => { t.enabled = !on; });
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  // Shows `stream` (a second camera, or a photo drawn on a canvas) as the document video.
  async function shareDocument(stream) {
    stopDocumentTracks();
    documentStream = stream;
    const track = stream.getVideoTracks()[0];
    if (documentTransceiver && pc && pc.getTransceivers().includes(documentTransceiver)) {
      await documentTransceiver.sender.replaceTrack(track);
      documentTransceiver.direction = 'sendonly';
    } else {
      documentTransceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      // The others know the video by the id it was first announced with, whatever it shows.
      documentTransceiver.announcedId = track.id;
    }
    send({ type: 'track', track_id: documentTransceiver.announcedId, label: 'document' });
    await renegotiate();
    const stop = $('call-document-stop');
    if (stop) stop.hidden = false;
  }

  function stopDocumentTracks() {
    if (documentRedraw) { clearInterval(documentRedraw); documentRedraw = null; }
    if (documentStream) documentStream.getTracks().forEach((t) => t.stop());
    documentStream = null;
  }

  async function stopDocument() {
    stopDocumentTracks();
    if (documentTransceiver && pc && pc.getTransceivers().includes(documentTransceiver)) {
      await documentTransceiver.sender.replaceTrack(null);
      documentTransceiver.direction = 'inactive';
      await renegotiate();
    }
    const stop = $('call-document-stop');
    if (stop) stop.hidden = true;
  }

  // The cameras this device has, for choosing the document camera (their names show once the
  // page may use the camera).
  async function listCameras(select) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const cameras = devices.filter((d) => d.kind === 'videoinput');
    const inUse = local.getVideoTracks().map((t) => t.getSettings().deviceId);
    select.textContent = '';
    cameras.forEach((camera, index) => {
      const option = document.createElement('option');
      option.value = camera.deviceId;
      option.textContent = camera.label || `${text('LabelCamera')} ${index + 1}`;
      // The camera not already showing the face is the likely document camera.
      if (!inUse.includes(camera.deviceId) && !select.dataset.chosen) {
        option.selected = true;
        select.dataset.chosen = '1';
      }
      select.appendChild(option);
    });
  }

  // A photo of a page, drawn on a canvas that is sent as the document video (redrawn every
  // second so someone joining later sees it too).
  async function photoStream(file) {
    const image = await createImageBitmap(file);
    // At most 1280 px on the longer side, and at least 320 px (a tiny image is enlarged: video
    // encoders want a sensible size).
    const longer = Math.max(image.width, image.height, 1);
    const scale = Math.min(1280 / longer, Math.max(1, 320 / longer));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(16, Math.round(image.width * scale));
    canvas.height = Math.max(16, Math.round(image.height * scale));
    const context = canvas.getContext('2d');
    const draw = () => context.drawImage(image, 0, 0, canvas.width, canvas.height);
    draw();
    const stream = canvas.captureStream(2);
    return { stream, draw };
  }

  function wireDocument() {
    const select = $('call-document-device');
    const camera = $('call-document');
    const photo = $('call-photo');
    const stop = $('call-document-stop');
    if (!camera && !photo) return;
    if (select) listCameras(select).catch(() => {});
    if (camera) {
      camera.addEventListener('click', async () => {
        let stream;
        try {
          const deviceId = select && select.value;
          stream = await navigator.mediaDevices.getUserMedia({
            video: deviceId ? { deviceId: { exact: deviceId } } : true,
          });
        } catch {
          say(text('DocumentFailed'));
          return;
        }
        await shareDocument(stream);
      });
    }
    if (photo) {
      photo.addEventListener('change', async () => {
        const file = photo.files && photo.files[0];
        if (!file) return;
        try {
          const { stream, draw } = await photoStream(file);
          await shareDocument(stream);
          documentRedraw = setInterval(draw, 1000);
        } catch {
          say(text('DocumentFailed'));
        }
        photo.value = '';
      });
    }
    if (stop) stop.addEventListener('click', () => { stopDocument().catch(() => {}); });
  }

  function wire() {
    const mic = $('call-mute');
    if (mic) mic.addEventListener('click', () => toggle(mic, local.getAudioTracks()));
    const cam = $('call-camera');
    if (cam) cam.addEventListener('click', () => toggle(cam, local.getVideoTracks()));
    const share = $('call-share');
    if (share && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
      share.addEventListener('click', async () => {
        if (screen) return;
        try {
          screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
        } catch {
          say(text('ShareFailed'));
          return;
        }
        const track = screen.getVideoTracks()[0];
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [screen] });
        send({ type: 'track', track_id: track.id, label: 'screen' });
        await renegotiate();
        track.addEventListener('ended', async () => {
          transceiver.direction = 'inactive';
          screen = null;
          await renegotiate();
        });
      });
    } else if (share) {
      share.hidden = true;
    }
    wireDocument();
    const leave = $('call-leave');
    if (leave) leave.addEventListener('click', () => { send({ type: 'leave' }); finish(text('Left')); });
    const end = $('call-end');
    if (end) {
      end.addEventListener('click', async () => {
        if (!window.confirm(text('EndConfirm'))) return;
        const reply = await request({ type: 'end' });
        if (reply.type === 'error') say(reply.message);
      });
    }
    root.querySelectorAll('form[data-change]').forEach((form) => {
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const fields = Object.fromEntries(new FormData(form).entries());
        const reply = await request({ type: form.dataset.change, ...fields });
        say(reply.type === 'error' ? reply.message : text('Done'));
      });
    });
    const chatForm = $('call-chat-form');
    if (chatForm) {
      chatForm.addEventListener('submit', (event) => {
        event.preventDefault();
        const input = $('call-chat-input');
        const message = input.value.trim();
        if (!message || !chat || chat.readyState !== 'open') return;
        chat.send(message);
        appendChat(config.participant, message);
        input.value = '';
      });
    }
  }

  async function start() {
    wire();
    say(text('Starting'));
    try {
      local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      const self = tile('self', text('You'), 'video');
      const video = self.querySelector('video');
      video.muted = true;
      video.srcObject = local;
    } catch {
      // Without a camera or microphone the resident still sees and hears the others.
      say(text('MediaFailed'));
      local = new MediaStream();
    }
    await connect();
  }

  start();
})();
