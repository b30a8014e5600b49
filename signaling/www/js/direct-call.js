// Direct calls: ring someone, an incoming-call dialog with a ring tone
// (accept / decline), outgoing "calling..." with cancel, the missed-call
// badge on "Calls". An answered call is the call of its private room, so it
// runs in the room screen like any call (call.js). See docs/PROTOCOL.md,
// "Direct calls". Other modules ask for a call with emit('direct-call',
// {user: {id, username}, media}).
import { callState, joinCall } from './call.js';
import { stopPreview } from './prejoin.js';
import { openRoom } from './room.js';
import { api } from './session.js';
import { $, on, toast } from './util.js';
import { connect, request } from './ws.js';

const state = {
  outgoing: null, // {callId, peer, media}
  incoming: null, // the call_ringing message
  active: null, // {callId, peer, media, roomId}: answered, its media joined here
  missed: 0,
};

// ---- the ring tone: WebAudio, two tones of the North American ring, 2 s on, 4 s off ----
let audio = null; // {ctx, gain, oscs, timer}
function ringStart() {
  if (audio) return;
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(ctx.destination);
    const oscs = [440, 480].map((f) => {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(gain);
      o.start();
      return o;
    });
    const cycle = () => {
      const t = ctx.currentTime;
      gain.gain.setValueAtTime(0.15, t);
      gain.gain.setValueAtTime(0, t + 2);
    };
    cycle();
    audio = { ctx, gain, oscs, timer: setInterval(cycle, 6000) };
    ctx.resume().catch(() => {});
  } catch {
    audio = null; // no audio output: the dialog still shows
  }
}

function ringStop() {
  if (!audio) return;
  clearInterval(audio.timer);
  audio.oscs.forEach((o) => o.stop());
  audio.ctx.close().catch(() => {});
  audio = null;
}

// ---- the missed-call badge ----
function renderBadge() {
  const n = state.missed;
  $('calls-badge').hidden = n === 0;
  $('calls-badge').textContent = n ? String(n) : '';
  $('calls-badge').setAttribute('aria-label', `${n} missed call${n === 1 ? '' : 's'}`);
}

// The history is open: every missed call counts as seen.
export async function markMissedSeen() {
  if (!state.missed) return;
  state.missed = 0;
  renderBadge();
  try {
    await api('POST', '/api/calls/seen');
  } catch {
    /* counted again at the next sign-in */
  }
}

// ---- dialogs ----
const kind = (media) => (media === 'audio' ? 'voice' : 'video');

function showIncoming(m) {
  state.incoming = m;
  $('incoming-text').textContent = `${m.caller.username} is calling you (${kind(m.media)} call)${m.waiting ? ' while you are in another call' : ''}.`;
  $('incoming-error').textContent = '';
  if (!$('incoming-call').open) $('incoming-call').showModal();
  ringStart();
}

function closeIncoming() {
  state.incoming = null;
  ringStop();
  if ($('incoming-call').open) $('incoming-call').close();
}

function showOutgoing(peer, media) {
  $('outgoing-text').textContent = `Calling ${peer.username} (${kind(media)} call)…`;
  $('outgoing-error').textContent = '';
  if (!$('outgoing-call').open) $('outgoing-call').showModal();
}

function closeOutgoing() {
  state.outgoing = null;
  if ($('outgoing-call').open) $('outgoing-call').close();
}

// ---- actions ----
export async function startCall(user, media = 'video') {
  if (state.outgoing || state.active) return void toast('You are already in a call.');
  if (callState().active) await callState().leave();
  state.outgoing = { callId: null, peer: { userId: user.id, username: user.username }, media };
  showOutgoing(state.outgoing.peer, media);
  try {
    await connect();
    const sent = await request({ type: 'call_invite', userId: user.id, media });
    if (state.outgoing && !state.outgoing.callId) state.outgoing.callId = sent.callId;
  } catch (e) {
    closeOutgoing();
    toast(e.code === 'unavailable' ? `${user.username} cannot be called.` : `Could not call: ${e.message}`);
  }
}

async function accept() {
  const m = state.incoming;
  if (!m) return;
  try {
    if (callState().active) await callState().leave();
    await request({ type: 'call_accept', callId: m.callId });
  } catch (e) {
    $('incoming-error').textContent = e.message;
  }
}

async function decline() {
  const m = state.incoming;
  closeIncoming();
  if (m) request({ type: 'call_decline', callId: m.callId }).catch(() => {});
}

async function cancel() {
  const o = state.outgoing;
  closeOutgoing();
  if (o?.callId) request({ type: 'call_cancel', callId: o.callId }).catch(() => {});
}

// The answered call: its private room, and that room's call.
async function enter(m) {
  state.active = { callId: m.callId, peer: m.peer, media: m.media, roomId: m.roomId };
  try {
    const { room } = await api('GET', `/api/rooms/${m.roomId}`);
    location.hash = `#/room/${room.code}`;
    await openRoom(room.code);
    stopPreview(); // the call takes fresh devices: no camera for a voice call
    await joinCall({ listenOnly: false, muted: false, cameraOff: false, hasCamera: m.media !== 'audio', hasMic: true });
  } catch (e) {
    toast(`Could not join the call: ${e.message}`);
    request({ type: 'call_hangup', callId: m.callId }).catch(() => {});
  }
}

// ---- what the node says ----
const OVER = {
  call_declined: (p) => `${p.username} declined the call.`,
  call_cancelled: (p) => `${p.username} cancelled the call.`,
  call_missed: (p, m) => (m.direction === 'incoming' ? `Missed call from ${p.username}.` : `${p.username} did not answer.`),
  call_busy: (p, m) => (m.direction === 'incoming' ? `${p.username} called while you were busy.` : `${p.username} is busy.`),
  call_hangup: () => 'Call ended.',
};

function over(m) {
  const byMe = m.by !== undefined && m.by !== m.peer.userId;
  if (state.incoming?.callId === m.callId) closeIncoming();
  if (state.outgoing && (state.outgoing.callId === m.callId || !state.outgoing.callId)) closeOutgoing();
  if (state.active?.callId === m.callId) {
    state.active = null;
    location.hash = '#/history'; // its room is gone; the call is in the history now
  }
  if (m.type === 'call_missed' && m.direction === 'incoming') {
    state.missed++;
    renderBadge();
  }
  if (!byMe || m.type === 'call_hangup' || m.type === 'call_busy') toast(OVER[m.type](m.peer, m));
}

export function directCallState() {
  return {
    outgoing: state.outgoing && { ...state.outgoing },
    incoming: state.incoming && { callId: state.incoming.callId, caller: state.incoming.caller },
    active: state.active && { ...state.active },
    ringing: Boolean(audio),
    ringTone: audio?.ctx.state ?? null,
    missed: state.missed,
  };
}

export function initDirectCall() {
  $('incoming-accept').addEventListener('click', accept);
  $('incoming-decline').addEventListener('click', decline);
  $('outgoing-cancel').addEventListener('click', cancel);
  // Escape closes a modal dialog: for these it means decline / cancel.
  $('incoming-call').addEventListener('cancel', (e) => { e.preventDefault(); decline(); });
  $('outgoing-call').addEventListener('cancel', (e) => { e.preventDefault(); cancel(); });
  on('direct-call', ({ user, media }) => startCall(user, media));
  on('ws:call_invite_sent', (m) => { if (state.outgoing && !state.outgoing.callId) state.outgoing.callId = m.callId; });
  on('ws:call_ringing', (m) => { if (!state.incoming) showIncoming(m); });
  on('ws:call_accepted', (m) => {
    if (state.incoming?.callId === m.callId) closeIncoming();
    if (state.outgoing?.callId === m.callId) closeOutgoing();
    if (m.elsewhere) {
      if (m.direction === 'incoming') toast('Answered on another device.');
      return;
    }
    enter(m);
  });
  for (const t of Object.keys(OVER)) on(`ws:${t}`, over);
  on('ws:missed_calls', (m) => {
    state.missed = m.count;
    renderBadge();
  });
  on('ws:closed', () => closeOutgoing());
}
