// The node's web client: accounts, rooms, chat and calls. Two peer
// connections per call: "pub" (we offer, the node answers) and "sub" (the node
// offers whenever the room's tracks change, we answer). See docs/PROTOCOL.md.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem('accessToken'),
  refresh: sessionStorage.getItem('refreshToken'),
  user: JSON.parse(sessionStorage.getItem('user') || 'null'),
  room: null,
  ws: null,
  wsReady: null,
  pending: new Map(),
  nextId: 1,
  local: null,
  screen: null,
  pub: null,
  sub: null,
  subChain: Promise.resolve(),
  inCall: false,
  participants: new Map(), // userId -> participant
  streams: new Map(),      // stream id -> { stream, tile }
  trackStream: new Map(),  // remote track -> stream id
  muted: false,
  cameraOff: false,
  hand: false,
};

async function api(method, path, body) {
  const headers = { 'content-type': 'application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (res.status === 401 && state.refresh && !path.startsWith('/api/auth/')) {
    if (await refreshTokens()) return api(method, path, body);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(json?.error?.message || `HTTP ${res.status}`);
  return json;
}

async function refreshTokens() {
  const res = await fetch('/api/auth/refresh', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: state.refresh }),
  });
  if (!res.ok) { signOut(); return false; }
  saveSession(await res.json());
  return true;
}

function saveSession(s) {
  state.signingOut = false;
  state.token = s.accessToken;
  state.refresh = s.refreshToken;
  state.user = s.user;
  sessionStorage.setItem('accessToken', s.accessToken);
  sessionStorage.setItem('refreshToken', s.refreshToken);
  sessionStorage.setItem('user', JSON.stringify(s.user));
}

function signOut() {
  state.signingOut = true;
  state.ws?.close(1000);
  sessionStorage.clear();
  state.token = state.refresh = state.user = null;
  show('auth');
}

function show(section) {
  for (const id of ['auth', 'lobby', 'room']) $(id).hidden = id !== section;
  $('who').textContent = state.user ? `Signed in as ${state.user.username}` : '';
}

// ---- WebSocket ----

function connectWs() {
  if (state.wsReady) return state.wsReady;
  state.wsReady = new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    state.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'authenticate', token: state.token }));
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === 'authenticated') resolve(ws);
      if (msg.type === 'auth_error') reject(new Error(msg.message));
      onMessage(msg);
    };
    ws.onclose = (e) => {
      if (state.ws === ws) { state.ws = null; state.wsReady = null; }
      reject(new Error(e.reason || 'connection closed'));
      for (const p of state.pending.values()) p.reject(new Error('connection closed'));
      state.pending.clear();
      if (state.room && !state.signingOut) reconnect();
    };
  });
  return state.wsReady;
}

// The socket dropped: come back within the node's 15 s resume window, take
// the room again and the call place back (the media never stopped).
async function reconnect() {
  if (state.reconnecting) return;
  state.reconnecting = true;
  const deadline = Date.now() + 14000;
  if (state.inCall) setStatus('Reconnecting…');
  try {
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        if (!(await refreshTokens())) return;
        await connectWs();
        await request({ type: 'join_room', roomId: state.room.id });
        if (state.inCall) {
          const joined = await request({ type: 'call_join', roomId: state.room.id, resumeToken: state.resumeToken });
          for (const p of joined.participants) state.participants.set(p.userId, p);
          setStatus('In call');
        }
        return;
      } catch (e) {
        if (/gone/.test(e.message)) break; // the node no longer holds our place
      }
    }
    if (state.inCall) leaveCall('Connection lost');
  } finally {
    state.reconnecting = false;
  }
}

function request(msg) {
  const id = state.nextId++;
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ ...msg, id }));
  });
}

function send(msg) {
  if (state.ws) state.ws.send(JSON.stringify(msg));
}

function onMessage(msg) {
  if (msg.id && state.pending.has(msg.id)) {
    const p = state.pending.get(msg.id);
    state.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new Error(msg.message)); else p.resolve(msg);
  }
  switch (msg.type) {
    case 'new_message': if (state.room && msg.message.roomId === state.room.id) addMessage(msg.message); break;
    case 'typing': $('typing').textContent = msg.typing ? `${msg.username} is typing…` : ''; break;
    case 'call_subscribe_offer': if (state.inCall) onSubscribeOffer(msg); break;
    case 'participant_joined': case 'participant_updated':
      if (state.inCall) { state.participants.set(msg.participant.userId, msg.participant); updateBadges(); }
      break;
    case 'participant_left': removeParticipant(msg.userId); break;
    case 'call_ended': leaveCall('The host ended the call'); break;
    case 'error': if (!msg.id) setStatus(msg.message); break;
  }
}

// ---- rooms and chat ----

async function loadRooms() {
  const { rooms } = await api('GET', '/api/rooms');
  const list = $('rooms');
  list.replaceChildren(...rooms.map((r) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.textContent = `${r.name} (${r.memberCount})`;
    b.onclick = () => openRoom(r.code);
    li.append(b);
    return li;
  }));
}

async function openRoom(idOrCode) {
  const { room } = await api('POST', `/api/rooms/${encodeURIComponent(idOrCode)}/join`);
  state.room = room;
  $('room-title').textContent = room.name;
  $('room-code-show').textContent = room.code;
  $('messages').replaceChildren();
  show('room');
  await connectWs();
  const joined = await request({ type: 'join_room', roomId: room.id });
  joined.messages.forEach(addMessage);
}

function addMessage(m) {
  const li = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.senderName;
  li.append(who, document.createTextNode(m.content));
  $('messages').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

// ---- calls ----

function setStatus(text) { $('call-status').textContent = text; }

function newPc() {
  return new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: state.iceServers || [] });
}

async function joinCall() {
  setStatus('Starting camera…');
  state.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  addTile(`me`, state.local, `${state.user.username} (you)`, true);
  await connectWs();
  const joined = await request({ type: 'call_join', roomId: state.room.id });
  state.inCall = true;
  state.resumeToken = joined.resumeToken;
  state.iceServers = joined.iceServers;
  for (const p of joined.participants) state.participants.set(p.userId, p);
  state.pub = newPc();
  for (const track of state.local.getTracks())
    state.pub.addTransceiver(track, { direction: 'sendonly', streams: [state.local] });
  await publish();
  setStatus('In call');
  for (const id of ['mute', 'camera', 'screen', 'hand', 'leave-call', 'end-call']) $(id).disabled = false;
  $('join-call').disabled = true;
}

async function publish() {
  const offer = await state.pub.createOffer();
  await state.pub.setLocalDescription(offer);
  const tracks = state.pub.getTransceivers()
    .filter((t) => t.sender.track)
    .map((t) => ({ mid: t.mid, source: state.screen && t.sender.track === state.screen.getVideoTracks()[0] ? 'screen' : (t.sender.track.kind === 'audio' ? 'mic' : 'camera') }));
  const answer = await request({ type: 'call_publish', roomId: state.room.id, sdp: state.pub.localDescription.sdp, tracks });
  await state.pub.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
}

function onSubscribeOffer(msg) {
  state.subChain = state.subChain.then(async () => {
    if (!state.sub) {
      state.sub = newPc();
      state.sub.ontrack = (e) => {
        const stream = e.streams[0];
        if (!stream) return;
        state.trackStream.set(e.track, stream.id);
        const uid = Number(/^u(\d+)/.exec(stream.id)?.[1]);
        const name = state.participants.get(uid)?.username || `user ${uid}`;
        if (!state.streams.has(stream.id)) addTile(stream.id, stream, stream.id.endsWith('-screen') ? `${name} (screen)` : name, false);
      };
    }
    await state.sub.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    const answer = await state.sub.createAnswer();
    await state.sub.setLocalDescription(answer);
    send({ type: 'call_subscribe_answer', roomId: state.room.id, sdp: state.sub.localDescription.sdp, version: msg.version });
  }).catch((e) => setStatus(`Subscribe failed: ${e.message}`));
}

function addTile(id, stream, label, local) {
  const tile = document.createElement('div');
  tile.className = 'tile';
  tile.dataset.stream = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = local;
  video.srcObject = stream;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = label;
  const badges = document.createElement('span');
  badges.className = 'badges';
  tile.append(video, name, badges);
  $('tiles').append(tile);
  state.streams.set(id, { stream, tile });
}

function removeParticipant(userId) {
  state.participants.delete(userId);
  for (const [id, s] of state.streams) {
    if (id.startsWith(`u${userId}-`)) { s.tile.remove(); state.streams.delete(id); }
  }
}

function updateBadges() {
  for (const [id, s] of state.streams) {
    const uid = Number(/^u(\d+)/.exec(id)?.[1]);
    const p = state.participants.get(uid);
    if (!p) continue;
    s.tile.querySelector('.badges').textContent =
      `${p.handRaised ? '✋' : ''}${p.audioMuted ? ' 🔇' : ''}${p.videoMuted ? ' 📷✕' : ''}`;
  }
}

// reason set: the node ended our place in the call, there is nothing to tell it.
function leaveCall(reason) {
  if (state.inCall && !reason) send({ type: 'call_leave', roomId: state.room.id });
  state.inCall = false;
  state.pub?.close(); state.sub?.close();
  state.pub = state.sub = null;
  state.subChain = Promise.resolve();
  state.local?.getTracks().forEach((t) => t.stop());
  state.screen?.getTracks().forEach((t) => t.stop());
  state.local = state.screen = null;
  $('tiles').replaceChildren();
  state.streams.clear();
  state.participants.clear();
  for (const id of ['mute', 'camera', 'screen', 'hand', 'leave-call', 'end-call']) $(id).disabled = true;
  $('join-call').disabled = false;
  setStatus(reason || 'Left the call');
}

// Test and automation hook: what this page receives, per remote participant.
window.sfu = {
  async stats() {
    const out = {};
    if (!state.sub) return out;
    for (const r of state.sub.getReceivers()) {
      const sid = state.trackStream.get(r.track);
      if (!sid) continue;
      const uid = /^u(\d+)/.exec(sid)[1];
      const report = await r.getStats();
      for (const s of report.values()) {
        out[uid] ??= { framesDecoded: 0, audioPackets: 0, videoPackets: 0, ssrcs: [], remoteOutbound: 0 };
        // The node's sender reports about this stream.
        if (s.type === 'remote-outbound-rtp') out[uid].remoteOutbound++;
        if (s.type !== 'inbound-rtp') continue;
        out[uid].ssrcs.push(s.ssrc);
        if (s.kind === 'video') { out[uid].framesDecoded += s.framesDecoded || 0; out[uid].videoPackets += s.packetsReceived || 0; }
        if (s.kind === 'audio') out[uid].audioPackets += s.packetsReceived || 0;
      }
    }
    return out;
  },
  // What the node reports back about our published tracks (its receiver
  // reports), and the SSRCs we publish with.
  async publishStats() {
    const out = { remoteInbound: 0, packetsLost: 0, roundTripTime: null, ssrcs: [] };
    if (!state.pub) return out;
    for (const s of (await state.pub.getStats()).values()) {
      if (s.type === 'outbound-rtp') out.ssrcs.push(s.ssrc);
      if (s.type !== 'remote-inbound-rtp') continue;
      out.remoteInbound++;
      out.packetsLost += s.packetsLost || 0;
      if (s.roundTripTime !== undefined) out.roundTripTime = s.roundTripTime;
    }
    return out;
  },
  tiles: () => [...state.streams.keys()],
  joinRoom: openRoom,
  joinCall,
  leaveCall,
  endCall: () => request({ type: 'call_end', roomId: state.room.id }),
  status: () => $('call-status').textContent,
};

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  $('auth-form').onsubmit = async (e) => {
    e.preventDefault();
    try {
      saveSession(await api('POST', '/api/auth/login', { email: $('email').value, password: $('password').value }));
      show('lobby'); loadRooms();
    } catch (err) { $('auth-error').textContent = err.message; }
  };
  $('register').onclick = async () => {
    try {
      saveSession(await api('POST', '/api/auth/register', { email: $('email').value, username: $('username').value, password: $('password').value }));
      show('lobby'); loadRooms();
    } catch (err) { $('auth-error').textContent = err.message; }
  };
  $('create-form').onsubmit = async (e) => {
    e.preventDefault();
    try { const { room } = await api('POST', '/api/rooms', { name: $('room-name').value }); await openRoom(room.code); }
    catch (err) { $('lobby-error').textContent = err.message; }
  };
  $('join-form').onsubmit = async (e) => {
    e.preventDefault();
    try { await openRoom($('room-code').value.trim()); } catch (err) { $('lobby-error').textContent = err.message; }
  };
  $('join-call').onclick = () => joinCall().catch((e) => setStatus(`Could not join: ${e.message}`));
  $('leave-call').onclick = () => leaveCall();
  $('end-call').onclick = () => request({ type: 'call_end', roomId: state.room.id }).catch((e) => setStatus(e.message));
  $('back').onclick = () => { leaveCall(); send({ type: 'leave_room', roomId: state.room.id }); show('lobby'); loadRooms(); };
  $('mute').onclick = () => {
    state.muted = !state.muted;
    state.local.getAudioTracks().forEach((t) => { t.enabled = !state.muted; });
    send({ type: state.muted ? 'mute' : 'unmute', roomId: state.room.id, kind: 'audio' });
    $('mute').textContent = state.muted ? 'Unmute' : 'Mute';
  };
  $('camera').onclick = () => {
    state.cameraOff = !state.cameraOff;
    state.local.getVideoTracks().forEach((t) => { t.enabled = !state.cameraOff; });
    send({ type: state.cameraOff ? 'mute' : 'unmute', roomId: state.room.id, kind: 'video' });
    $('camera').textContent = state.cameraOff ? 'Camera on' : 'Camera off';
  };
  $('hand').onclick = () => {
    state.hand = !state.hand;
    send({ type: state.hand ? 'raise_hand' : 'lower_hand', roomId: state.room.id });
    $('hand').textContent = state.hand ? 'Lower hand' : 'Raise hand';
  };
  $('screen').onclick = async () => {
    if (state.screen) return;
    try {
      state.screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
      state.pub.addTransceiver(state.screen.getVideoTracks()[0], { direction: 'sendonly', streams: [state.screen] });
      await publish();
    } catch (e) { setStatus(`Screen share failed: ${e.message}`); }
  };
  let typingTimer = null;
  $('chat-input').oninput = () => {
    if (!typingTimer) send({ type: 'typing_start', roomId: state.room.id });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingTimer = null; send({ type: 'typing_stop', roomId: state.room.id }); }, 2000);
  };
  $('chat-form').onsubmit = async (e) => {
    e.preventDefault();
    const content = $('chat-input').value;
    if (!content.trim()) return;
    $('chat-input').value = '';
    try { await request({ type: 'send_message', roomId: state.room.id, content }); } catch (err) { setStatus(err.message); }
  };
  if (state.token && state.user) { show('lobby'); loadRooms().catch(() => signOut()); } else show('auth');
});
