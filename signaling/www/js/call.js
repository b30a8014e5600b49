// The call: two PeerConnections to the node ("pub": we offer our tracks, the
// node answers; "sub": the node offers everyone else's, we answer), tiles,
// controls that always show the true state, connection state with retry.
import { choices, constraints, fillSelect, initPrejoin, listDevices, showPrejoinPanel, stopPreview, takePreview } from './prejoin.js';
import { currentRoom } from './room.js';
import { session } from './session.js';
import { attachStream, clearTiles, ensureTile, removeTile, setActiveSpeaker, setSpeakerLayout, setTileState, tiles } from './tiles.js';
import { $, el, emit, on } from './util.js';
import { connect, request, send } from './ws.js';
import { CAMERA_ENCODINGS, requestLayers, resetLayerRequests, setSimulcastActive } from './layers.js';

const fresh = () => ({
  phase: 'idle', // idle | connecting | connected | reconnecting | failed | ended
  roomId: null, code: null, roomName: '', hostId: null,
  local: null, screen: null, screenTr: null, pub: null, sub: null, subChain: Promise.resolve(),
  sources: new Map(), // pub transceiver -> 'mic' | 'camera' | 'screen'
  participants: new Map(), trackStream: new Map(), cameraTr: null,
  muted: false, cameraOff: false, hand: false, listenOnly: false,
  resumeToken: null, iceServers: [], opts: null, timers: [], nodeSpeaker: false,
  dc: null, // data channels: {app, state} on the publish connection
});
export const call = fresh();
const inCall = () => ['connecting', 'connected', 'reconnecting'].includes(call.phase);

export function callState() {
  return { active: inCall(), roomId: call.roomId, code: call.code, roomName: call.roomName, phase: call.phase, leave: () => leaveCall() };
}

export function setStatus(text, failed = false) {
  $('call-status').textContent = text;
  $('call-status').classList.toggle('error', failed);
  $('retry-call').hidden = !failed;
}

export function showPrejoin() {
  $('call').hidden = true;
  renderControls();
  return showPrejoinPanel();
}

function newPc() {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: call.iceServers || [] });
  pc.addEventListener('connectionstatechange', () => {
    if (pc !== call.pub && pc !== call.sub) return;
    if (pc.connectionState === 'connected' && call.phase === 'connecting') connected();
    if (pc.connectionState === 'connected') iceRestarts.delete(pc);
    if (pc.connectionState === 'failed' && (iceRestarts.get(pc) || 0) >= ICE_RESTARTS_MAX) failCall('the media connection failed');
  });
  // A path that stopped working (a network change, a NAT binding gone):
  // restart ICE on the same PeerConnection; tracks and streams stay.
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc !== call.pub && pc !== call.sub) return;
    if (['connected', 'completed'].includes(pc.iceConnectionState)) iceRestarts.delete(pc);
    if (pc.iceConnectionState === 'failed') restartIce(pc);
    if (pc.iceConnectionState === 'disconnected') {
      call.timers.push(setTimeout(() => { if (pc.iceConnectionState === 'disconnected') restartIce(pc); }, ICE_DISCONNECTED_GRACE_MS));
    }
  });
  return pc;
}

const ICE_RESTARTS_MAX = 3; // in a row without connecting in between
const ICE_DISCONNECTED_GRACE_MS = 2000; // a short outage recovers by itself
const iceRestarts = new Map(); // pc -> restarts since it last connected
const iceRestarting = new Set();

// ICE restart with new credentials: the publish side offers with iceRestart,
// the subscribe side asks the node for a new offer (call_restart_ice).
export async function restartIce(pc) {
  if (!inCall() || !pc || iceRestarting.has(pc) || (pc !== call.pub && pc !== call.sub)) return;
  const n = (iceRestarts.get(pc) || 0) + 1;
  if (n > ICE_RESTARTS_MAX) return failCall('the media connection failed');
  iceRestarts.set(pc, n);
  iceRestarting.add(pc);
  try {
    if (pc === call.pub) await publish({ iceRestart: true });
    else await request({ type: 'call_restart_ice', roomId: call.roomId });
  } catch (e) {
    setStatus(`Reconnecting media failed: ${e.message}`);
  } finally {
    iceRestarting.delete(pc);
  }
}

function connected() {
  call.phase = 'connected';
  setStatus('In call');
  renderControls();
}

// opts: {listenOnly, muted, cameraOff, hasCamera, hasMic, audioId, videoId}, stream: from the preview.
export async function joinCall(opts = null, stream = null) {
  const room = currentRoom();
  if (!room) throw new Error('open a room first');
  if (inCall()) return;
  stream ??= takePreview();
  opts ??= { listenOnly: false, muted: false, cameraOff: false, hasCamera: true, hasMic: true };
  Object.assign(call, fresh(), { phase: 'connecting', roomId: room.id, code: room.code, roomName: room.name, hostId: room.hostId, opts });
  call.listenOnly = opts.listenOnly;
  $('prejoin').hidden = true;
  $('call').hidden = false;
  setStatus(opts.listenOnly ? 'Connecting…' : 'Starting camera and microphone…');
  renderControls();
  emit('call-changed');
  try {
    if (!opts.listenOnly) {
      call.local = stream && stream.getTracks().some((t) => t.readyState === 'live') ? stream : null;
      if (!call.local) {
        stream?.getTracks().forEach((t) => t.stop());
        try {
          call.local = await navigator.mediaDevices.getUserMedia(constraints(opts));
        } catch (e) {
          call.local = null;
          setStatus(`No camera or microphone (${e.name}): joining to listen only.`);
        }
      }
      if (!call.local || !call.local.getTracks().length) call.listenOnly = true;
    } else stream?.getTracks().forEach((t) => t.stop());
    if (call.phase !== 'connecting') return;
    ensureTile('me', { label: `${session.user.username} (you)`, userId: session.user.id, local: true });
    if (call.local) {
      attachStream('me', call.local);
      fillCallDevices();
    }
    await connect();
    const joined = await request({ type: 'call_join', roomId: room.id });
    onJoined(joined);
    call.muted = Boolean(opts.muted) || !call.local?.getAudioTracks().length;
    call.cameraOff = Boolean(opts.cameraOff) || !call.local?.getVideoTracks().length;
    if (call.local) {
      call.pub = newPc();
      openDataChannels();
      for (const track of call.local.getTracks()) {
        const init = { direction: 'sendonly', streams: [call.local] };
        if (track.kind === 'video') init.sendEncodings = CAMERA_ENCODINGS();
        const tr = call.pub.addTransceiver(track, init);
        call.sources.set(tr, track.kind === 'audio' ? 'mic' : 'camera');
        if (track.kind === 'video') call.cameraTr = tr;
      }
      call.local.getAudioTracks().forEach((t) => { t.enabled = !call.muted; });
      call.local.getVideoTracks().forEach((t) => { t.enabled = !call.cameraOff; });
      await publish();
      if (call.muted) await setSending('audio', false);
      if (call.cameraOff) await setSending('video', false);
      await updateSimulcast();
      if (call.local.getAudioTracks().length && call.muted) send({ type: 'mute', roomId: call.roomId, kind: 'audio' });
      if (call.local.getVideoTracks().length && call.cameraOff) send({ type: 'mute', roomId: call.roomId, kind: 'video' });
    }
    renderSelf();
    if (!call.pub) connected(); // nothing to send: the subscribe side connects when there is something to receive
    else if (call.phase === 'connecting') setStatus('Connecting media…');
    // A call whose media never comes up must not look joined.
    call.timers.push(setTimeout(() => {
      if (call.phase === 'connecting') failCall('the media connection timed out');
    }, 30000));
    call.timers.push(setInterval(pollSpeaker, 1000));
    call.timers.push(setInterval(askLayers, 1000));
    renderControls();
  } catch (e) {
    if (inCall()) failCall(e.message);
    throw e;
  }
}

// Data channels on the publish connection (docs/PROTOCOL.md, "Data
// channels"): "app" reliable and ordered, "state" unordered without
// retransmissions. The node relays each message to everyone else in the
// call, marked with the sender's user id; they arrive as 'sfu-data' events.
function openDataChannels() {
  const app = call.pub.createDataChannel('app');
  const state = call.pub.createDataChannel('state', { ordered: false, maxRetransmits: 0 });
  call.dc = { app, state };
  for (const ch of [app, state]) {
    ch.binaryType = 'arraybuffer';
    ch.onmessage = (e) => {
      let from;
      let data;
      if (typeof e.data === 'string') {
        const i = e.data.indexOf(':');
        from = Number(e.data.slice(0, i));
        data = e.data.slice(i + 1);
      } else {
        from = Number(new DataView(e.data).getBigInt64(0));
        data = e.data.slice(8);
      }
      window.dispatchEvent(new CustomEvent('sfu-data', { detail: { channel: ch.label, from, data } }));
    };
  }
}

// Reactions ride on "app" as {"type":"reaction","emoji":...}: shown on the
// sender's tile for a moment.
const REACTION_MS = 3000;

function showReaction(tileId, emoji) {
  const t = tiles.get(tileId);
  if (!t) return;
  const badge = el('span', { className: 'reaction', attrs: { role: 'img', 'aria-label': `reaction ${emoji}` } }, emoji);
  t.tile.append(badge);
  setTimeout(() => badge.remove(), REACTION_MS);
}

function onData(e) {
  const { channel, from, data } = e.detail;
  if (channel !== 'app' || typeof data !== 'string') return;
  let m;
  try {
    m = JSON.parse(data);
  } catch {
    return;
  }
  if (m?.type === 'reaction' && typeof m.emoji === 'string' && m.emoji.length <= 8) showReaction(`u${from}-camera`, m.emoji);
}

function react(emoji) {
  if (sendData(JSON.stringify({ type: 'reaction', emoji }))) showReaction('me', emoji);
}

/* Sends text or an ArrayBuffer to everyone else in the call; false when the channel is not open. */
export function sendData(data, channel = 'app') {
  const ch = call.dc?.[channel];
  if (!ch || ch.readyState !== 'open') return false;
  ch.send(data);
  return true;
}

function onJoined(joined) {
  if (joined.activeSpeaker !== undefined) {
    call.nodeSpeaker = true;
    setActiveSpeaker(joined.activeSpeaker ? speakerTile(joined.activeSpeaker) : null);
  }
  call.resumeToken = joined.resumeToken;
  call.iceServers = joined.iceServers || [];
  for (const p of joined.participants) upsertParticipant(p);
}

async function publish(options = {}) {
  const offer = await call.pub.createOffer(options);
  await call.pub.setLocalDescription(offer);
  const tracks = call.pub.getTransceivers()
    .filter((t) => t.sender.track && t.direction === 'sendonly' && t.mid !== null)
    .map((t) => ({
      mid: t.mid, source: call.sources.get(t) || (t.sender.track.kind === 'audio' ? 'mic' : 'camera'),
      ...(t.sender.track.kind === 'video' && t.sender.track.getSettings().height ? { height: t.sender.track.getSettings().height } : {}),
    }));
  const answer = await request({ type: 'call_publish', roomId: call.roomId, sdp: call.pub.localDescription.sdp, tracks });
  await call.pub.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
}

function onSubscribeOffer(msg) {
  call.subChain = call.subChain.then(async () => {
    if (!inCall() || msg.roomId !== call.roomId) return;
    if (!call.sub) {
      call.sub = newPc();
      call.sub.ontrack = (e) => {
        const stream = e.streams[0];
        if (!stream) return;
        call.trackStream.set(e.track, stream.id);
        const uid = Number(/^u(-?\d+)/.exec(stream.id)?.[1]);
        const name = call.participants.get(uid)?.username || `user ${uid}`;
        const screen = stream.id.endsWith('-screen');
        ensureTile(stream.id, { label: screen ? `${name} (screen)` : name, userId: uid, screen });
        attachStream(stream.id, stream);
        renderParticipant(uid);
      };
    }
    await call.sub.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    const answer = await call.sub.createAnswer();
    await call.sub.setLocalDescription(answer);
    send({ type: 'call_subscribe_answer', roomId: call.roomId, sdp: call.sub.localDescription.sdp, version: msg.version });
    dropEndedStreams();
    if (call.phase === 'connecting' && !call.pub && call.sub.connectionState === 'connected') connected();
  }).catch((e) => setStatus(`Receiving failed: ${e.message}`));
}

// Remote screen shares (and cameras) whose sections went inactive: gone.
function dropEndedStreams() {
  if (!call.sub) return;
  const live = new Set();
  for (const t of call.sub.getTransceivers()) {
    const sid = call.trackStream.get(t.receiver.track);
    if (sid && t.currentDirection !== 'inactive' && t.currentDirection !== 'stopped') live.add(sid);
  }
  for (const [id, t] of tiles) {
    if (id.startsWith('me')) continue;
    if (t.screen && !live.has(id)) removeTile(id);
    else if (!t.screen && t.stream && !live.has(id)) attachStream(id, null);
  }
}

// The lower camera encodings go only while two or more others watch.
async function updateSimulcast() {
  if (call.cameraTr?.sender && !call.cameraOff) await setSimulcastActive(call.cameraTr.sender, call.participants.size >= 2);
}

// Each remote video at the size its tile shows; hidden ones paused.
function askLayers() {
  if (!inCall() || !call.sub?.remoteDescription) return;
  // The section's current a=msid names its producer (t<producerId>): a
  // section reused for another track keeps its receiver's track id.
  const byMid = new Map();
  for (const part of call.sub.remoteDescription.sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /\na=mid:(\S+)/.exec(part)?.[1];
    const pid = Number(/\na=msid:\S+ t(\d+)/.exec(part)?.[1]);
    if (mid && pid) byMid.set(mid, pid);
  }
  const receivers = [];
  for (const t of call.sub.getTransceivers()) {
    if (t.receiver.track?.kind !== 'video' || !byMid.has(t.mid)) continue;
    const sid = call.trackStream.get(t.receiver.track);
    receivers.push({ producerId: byMid.get(t.mid), video: sid ? tiles.get(sid)?.video : null });
  }
  requestLayers(call.roomId, receivers);
}

function upsertParticipant(p) {
  const isNew = !call.participants.has(p.userId);
  call.participants.set(p.userId, p);
  if (isNew) updateSimulcast();
  ensureTile(`u${p.userId}-camera`, { label: p.username, userId: p.userId });
  // A participant who no longer publishes a screen has no screen tile.
  if (!p.tracks.some((t) => t.source === 'screen')) removeTile(`u${p.userId}-screen`);
  renderParticipant(p.userId);
}

function renderParticipant(uid) {
  const p = call.participants.get(uid);
  if (!p) return;
  const has = (src) => p.tracks.some((t) => t.source === src);
  setTileState(`u${uid}-camera`, {
    audioMuted: p.audioMuted || !has('mic'), videoMuted: p.videoMuted || !has('camera'),
    handRaised: p.handRaised, listenOnly: !has('mic') && !has('camera'),
  });
  renderParticipantList();
}

function renderSelf() {
  setTileState('me', { audioMuted: call.muted, videoMuted: call.cameraOff, handRaised: call.hand, listenOnly: call.listenOnly });
  renderParticipantList();
}

function renderParticipantList() {
  const rows = [];
  if (inCall()) rows.push({ userId: session.user.id, username: `${session.user.username} (you)`, audioMuted: call.muted, videoMuted: call.cameraOff, handRaised: call.hand, listenOnly: call.listenOnly });
  for (const p of call.participants.values()) {
    const has = (src) => p.tracks.some((t) => t.source === src);
    rows.push({ ...p, listenOnly: !has('mic') && !has('camera'), sharing: has('screen') });
  }
  $('participants').replaceChildren(...rows.map((p) => el('li', { className: 'row-item', dataset: { userId: p.userId } },
    el('span', { className: 'grow' }, p.username),
    el('span', { className: 'muted small' }, [
      p.handRaised && '✋ hand raised', p.listenOnly ? 'listening only' : [p.audioMuted && 'muted', p.videoMuted && 'camera off'],
      p.sharing && 'sharing screen'].flat().filter(Boolean).join(' · ')))));
  if (!rows.length) $('participants').append(el('li', { className: 'muted' }, 'Nobody is in the call yet.'));
}

function teardown() {
  for (const t of call.timers) { clearTimeout(t); clearInterval(t); }
  call.timers = [];
  call.pub?.close();
  call.sub?.close();
  call.local?.getTracks().forEach((t) => t.stop());
  call.screen?.getTracks().forEach((t) => t.stop());
  call.pub = call.sub = call.local = call.screen = call.screenTr = call.dc = null;
  call.subChain = Promise.resolve();
  iceRestarts.clear();
  call.participants.clear();
  call.trackStream.clear();
  resetLayerRequests();
  call.sources.clear();
  call.muted = call.cameraOff = call.hand = call.listenOnly = false;
  clearTiles();
  setActiveSpeaker(null);
}

// reason set: the node ended our place, there is nothing to tell it.
export async function leaveCall(reason) {
  const was = inCall();
  if (was && !reason && call.phase !== 'reconnecting') {
    try { await request({ type: 'call_leave', roomId: call.roomId }, 3000); } catch { /* gone anyway */ }
  }
  teardown();
  call.phase = was || call.phase !== 'idle' ? 'ended' : 'idle';
  setStatus(reason || (was ? 'You left the call' : ''));
  renderControls();
  renderParticipantList();
  emit('call-changed');
  if (currentRoom() && currentRoom().id === call.roomId && !$('view-room').hidden) showPrejoin();
  else $('call').hidden = true;
}

function failCall(reason) {
  if (!inCall()) return;
  if (call.phase !== 'reconnecting') send({ type: 'call_leave', roomId: call.roomId });
  teardown();
  call.phase = 'failed';
  setStatus(`Call failed: ${reason}.`, true);
  renderControls();
  renderParticipantList();
  emit('call-changed');
  $('call').hidden = true;
  $('prejoin').hidden = false;
}

export function renderControls() {
  const live = inCall();
  const hasAudio = Boolean(call.local?.getAudioTracks().length);
  const hasVideo = Boolean(call.local?.getVideoTracks().length);
  const set = (id, text, pressed, disabled) => {
    const b = $(id);
    b.textContent = text;
    b.setAttribute('aria-pressed', String(pressed));
    b.disabled = disabled;
  };
  set('mute', live && call.muted && hasAudio ? 'Unmute' : 'Mute', live && call.muted && hasAudio, !live || !hasAudio);
  set('camera', live && call.cameraOff && hasVideo ? 'Camera on' : 'Camera off', live && call.cameraOff && hasVideo, !live || !hasVideo);
  set('screen', live && call.screen ? 'Stop sharing' : 'Share screen', Boolean(live && call.screen), !live || !navigator.mediaDevices?.getDisplayMedia);
  set('hand', live && call.hand ? 'Lower hand' : 'Raise hand', live && call.hand, !live);
  $('react').disabled = !live || !call.dc;
  $('leave-call').disabled = !live;
  $('end-call').hidden = !(currentRoom() && currentRoom().hostId === session.user?.id);
  $('end-call').disabled = !live;
  $('call-cam-select').disabled = !live || !hasVideo;
  $('call-mic-select').disabled = !live || !hasAudio;
  $('join-call').disabled = live;
  $('join-call').textContent = call.phase === 'connecting' ? 'Joining…' : 'Join call';
  document.body.classList.toggle('in-call', live);
}

async function toggleScreen() {
  if (call.screen) return stopScreen();
  let screen;
  try {
    screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (e) {
    setStatus(`Screen share not started: ${e.message}`);
    return;
  }
  if (!inCall()) return screen.getTracks().forEach((t) => t.stop());
  const track = screen.getVideoTracks()[0];
  call.screen = screen;
  track.addEventListener('ended', () => { if (call.screen === screen) stopScreen(); });
  if (!call.pub) call.pub = newPc();
  // Full resolution at a lower frame rate, one encoding: text stays sharp.
  track.contentHint = 'detail';
  call.screenTr = call.pub.addTransceiver(track, {
    direction: 'sendonly', streams: [screen], sendEncodings: [{ maxFramerate: 15 }],
  });
  call.sources.set(call.screenTr, 'screen');
  ensureTile('me-screen', { label: 'Your screen', userId: session.user.id, local: true, screen: true });
  attachStream('me-screen', screen);
  renderControls();
  try {
    await publish();
  } catch (e) {
    setStatus(`Screen share failed: ${e.message}`);
    stopScreen();
  }
}

// Stopped from our button or from the browser's own "Stop sharing".
async function stopScreen() {
  const screen = call.screen;
  const tr = call.screenTr;
  if (!screen) return;
  call.screen = call.screenTr = null;
  screen.getTracks().forEach((t) => t.stop());
  removeTile('me-screen');
  renderControls();
  if (!tr || !call.pub || !inCall()) return;
  try {
    await tr.sender.replaceTrack(null);
    tr.direction = 'inactive';
    await publish();
  } catch (e) {
    setStatus(`Could not stop sharing cleanly: ${e.message}`);
  }
}

async function fillCallDevices() {
  const d = await listDevices();
  fillSelect($('call-cam-select'), d.cams, 'Camera', call.local?.getVideoTracks()[0]?.getSettings().deviceId);
  fillSelect($('call-mic-select'), d.mics, 'Microphone', call.local?.getAudioTracks()[0]?.getSettings().deviceId);
  renderControls();
}

async function switchDevice(kind, deviceId) {
  if (!call.local || !call.pub) return;
  const old = kind === 'audio' ? call.local.getAudioTracks()[0] : call.local.getVideoTracks()[0];
  if (!old || old.getSettings().deviceId === deviceId) return;
  try {
    const s = await navigator.mediaDevices.getUserMedia(kind === 'audio'
      ? { audio: { deviceId: { exact: deviceId } } } : { video: { width: 640, height: 480, deviceId: { exact: deviceId } } });
    const track = s.getTracks()[0];
    track.enabled = kind === 'audio' ? !call.muted : !call.cameraOff;
    const tr = call.pub.getTransceivers().find((t) => t.sender.track === old);
    await tr?.sender.replaceTrack(track);
    call.local.removeTrack(old);
    call.local.addTrack(track);
    old.stop();
  } catch (e) {
    setStatus(`Could not switch device: ${e.message}`);
  }
}

// The node's active_speaker when it sends one; else the loudest receiver here.
const speakerTile = (uid) => (uid === session.user.id ? 'me' : `u${uid}-camera`);
async function pollSpeaker() {
  if (call.nodeSpeaker || !call.sub || call.phase !== 'connected') return;
  let best = null;
  let level = 0.02;
  for (const r of call.sub.getReceivers()) {
    if (r.track.kind !== 'audio') continue;
    const sid = call.trackStream.get(r.track);
    if (!sid) continue;
    for (const s of (await r.getStats()).values()) {
      if (s.type === 'inbound-rtp' && (s.audioLevel || 0) > level) {
        level = s.audioLevel;
        best = sid;
      }
    }
  }
  setActiveSpeaker(best);
}

// A muted microphone or camera also stops its encoding (the sender's
// encodings inactive): no packets at all rather than 50 silence packets and
// some 20 black-frame packets a second, so a muted call costs the network and
// the node next to nothing. The disabled track stays as the fallback where
// setParameters is refused; an encoding made active again starts on a keyframe.
async function setSending(kind, on) {
  for (const [tr, source] of call.sources) {
    if (source !== (kind === 'audio' ? 'mic' : 'camera') || !tr.sender) continue;
    // The camera back on: its encodings as the call's size wants them.
    if (on && tr === call.cameraTr) {
      await setSimulcastActive(tr.sender, call.participants.size >= 2);
      continue;
    }
    const params = tr.sender.getParameters();
    if (!params.encodings?.length) continue;
    params.encodings.forEach((e) => { e.active = on; });
    try {
      await tr.sender.setParameters(params);
    } catch {
      // the disabled track still sends silence or black frames
    }
  }
}

function toggle(kind) {
  if (!inCall() || !call.local) return;
  if (kind === 'audio') call.muted = !call.muted;
  else call.cameraOff = !call.cameraOff;
  const off = kind === 'audio' ? call.muted : call.cameraOff;
  (kind === 'audio' ? call.local.getAudioTracks() : call.local.getVideoTracks()).forEach((t) => { t.enabled = !off; });
  if (call.pub) setSending(kind, !off);
  send({ type: off ? 'mute' : 'unmute', roomId: call.roomId, kind });
  renderControls();
  renderSelf();
}

export function initCall() {
  initPrejoin();
  renderControls();
  $('join-call').addEventListener('click', () => {
    const opts = choices();
    const stream = takePreview();
    joinCall(opts, stream).catch((e) => setStatus(`Could not join: ${e.message}`, true));
  });
  $('retry-call').addEventListener('click', () => {
    stopPreview();
    joinCall(call.opts).catch((e) => setStatus(`Could not join: ${e.message}`, true));
  });
  $('mute').addEventListener('click', () => toggle('audio'));
  $('camera').addEventListener('click', () => toggle('video'));
  $('hand').addEventListener('click', () => {
    if (!inCall()) return;
    call.hand = !call.hand;
    send({ type: call.hand ? 'raise_hand' : 'lower_hand', roomId: call.roomId });
    renderControls();
    renderSelf();
  });
  $('screen').addEventListener('click', () => toggleScreen());
  $('react').addEventListener('click', () => react('👍'));
  window.addEventListener('sfu-data', onData);
  $('leave-call').addEventListener('click', () => leaveCall());
  $('end-call').addEventListener('click', () => request({ type: 'call_end', roomId: call.roomId }).catch((e) => setStatus(e.message)));
  $('layout-toggle').addEventListener('click', (e) => {
    const on = e.currentTarget.getAttribute('aria-pressed') !== 'true';
    e.currentTarget.setAttribute('aria-pressed', String(on));
    setSpeakerLayout(on);
  });
  $('call-cam-select').addEventListener('change', (e) => switchDevice('video', e.target.value));
  $('call-mic-select').addEventListener('change', (e) => switchDevice('audio', e.target.value));
  on('ws:call_subscribe_offer', (m) => { if (inCall()) onSubscribeOffer(m); });
  on('ws:active_speaker', (m) => {
    if (!inCall() || m.roomId !== call.roomId) return;
    call.nodeSpeaker = true;
    setActiveSpeaker(m.userId ? speakerTile(m.userId) : null);
  });
  on('ws:participant_joined', (m) => { if (inCall() && m.roomId === call.roomId) upsertParticipant(m.participant); });
  on('ws:participant_updated', (m) => {
    if (!inCall() || m.roomId !== call.roomId) return;
    if (m.participant.userId === session.user.id) return;
    upsertParticipant(m.participant);
  });
  on('ws:participant_left', (m) => {
    if (!inCall() || m.roomId !== call.roomId) return;
    if (m.userId === session.user.id) return void leaveCall(`You left the call (${m.reason})`);
    call.participants.delete(m.userId);
    updateSimulcast();
    for (const id of [...tiles.keys()]) if (id.startsWith(`u${m.userId}-`)) removeTile(id);
    renderParticipantList();
  });
  on('ws:call_left', (m) => { if (inCall() && m.roomId === call.roomId && m.reason === 'media_closed') leaveCall('You left the call: the media connection was closed'); });
  on('ws:call_ended', (m) => { if (inCall() && m.roomId === call.roomId) leaveCall('The host ended the call'); });
  on('ws:room_ended', (m) => { if (inCall() && m.roomId === call.roomId) leaveCall('The call ended: the room was deleted'); });
  on('ws:error', (m) => { if (m.code === 'media_failed' && inCall()) failCall('the media connection was lost'); });
  on('ws:closed', () => {
    if (!inCall()) return;
    call.phase = 'reconnecting';
    setStatus('Reconnecting…');
    call.timers.push(setTimeout(() => { if (call.phase === 'reconnecting') failCall('the connection to the server was lost'); }, 15000));
  });
  on('ws:reconnected', async () => {
    if (call.phase !== 'reconnecting') return;
    try {
      onJoined(await request({ type: 'call_join', roomId: call.roomId, resumeToken: call.resumeToken }));
      call.phase = 'connected';
      setStatus('In call');
      renderControls();
    } catch (e) {
      failCall(`could not resume the call (${e.message})`);
    }
  });
}
