// Video tiles: one per participant camera (an avatar until video arrives or
// while the camera is off), one per screen share, and ours. The grid adapts
// to 1-16 tiles; the speaker layout features the screen share or the active
// speaker.
import { $, el, emit } from './util.js';

export const tiles = new Map(); // id -> {tile, video, stream, userId, kind}

function initials(name) {
  return (name || '?').slice(0, 1).toUpperCase();
}

export function ensureTile(id, { label, userId, local = false, screen = false }) {
  let t = tiles.get(id);
  if (t) {
    if (label) t.name.textContent = label;
    return t;
  }
  const video = el('video', { autoplay: true, playsInline: true, muted: local });
  const name = el('span', { className: 'name' }, label);
  const avatar = el('div', { className: 'avatar', attrs: { 'aria-hidden': 'true' } }, initials(label));
  const state = el('span', { className: 'state' });
  const tile = el('figure', {
    className: `tile${screen ? ' screen' : ''}${local ? ' local' : ''}`,
    dataset: { stream: id, userId: userId ?? '', video: 'none' },
    attrs: { 'aria-label': label },
  }, video, avatar, el('figcaption', {}, name, state));
  $('tiles').append(tile);
  t = { tile, video, name, state, stream: null, userId, screen, label };
  tiles.set(id, t);
  layout();
  return t;
}

export function attachStream(id, stream) {
  const t = tiles.get(id);
  if (!t) return;
  t.stream = stream;
  t.video.srcObject = stream;
  t.tile.dataset.video = stream && stream.getVideoTracks().length ? 'live' : 'none';
  t.video.play?.().catch(() => {});
}

export function removeTile(id) {
  const t = tiles.get(id);
  if (!t) return;
  t.video.srcObject = null;
  t.tile.remove();
  tiles.delete(id);
  layout();
}

export function clearTiles() {
  for (const id of [...tiles.keys()]) removeTile(id);
}

// Mute, camera and hand state on a participant's camera tile.
export function setTileState(id, { audioMuted, videoMuted, handRaised, listenOnly }) {
  const t = tiles.get(id);
  if (!t) return;
  const d = t.tile.dataset;
  d.audioMuted = String(Boolean(audioMuted));
  d.videoMuted = String(Boolean(videoMuted));
  d.hand = String(Boolean(handRaised));
  const bits = [];
  if (handRaised) bits.push('✋ Hand raised');
  if (listenOnly) bits.push('Listening only');
  else {
    if (audioMuted) bits.push('🔇 Muted');
    if (videoMuted) bits.push('Camera off');
  }
  t.state.textContent = bits.join(' · ');
  t.tile.setAttribute('aria-label', [t.label, ...bits].join(', '));
}

let speakerLayout = false;
let activeSpeaker = null;

export function setSpeakerLayout(on) {
  speakerLayout = on;
  layout();
}

export function setActiveSpeaker(id) {
  if (id === activeSpeaker) return;
  activeSpeaker = id;
  for (const [tid, t] of tiles) t.tile.classList.toggle('speaking', tid === id);
  if (speakerLayout) layout();
  emit('active-speaker', id);
}

export function layout() {
  const box = $('tiles');
  const n = tiles.size;
  box.dataset.count = String(Math.min(n, 16));
  const screen = [...tiles.entries()].find(([id, t]) => t.screen && !id.startsWith('me'))?.[0]
    ?? [...tiles.entries()].find(([, t]) => t.screen)?.[0];
  let featured = screen || null;
  if (!featured && speakerLayout) featured = activeSpeaker && tiles.has(activeSpeaker) ? activeSpeaker : [...tiles.keys()].find((k) => k !== 'me') || null;
  box.classList.toggle('has-featured', Boolean(featured));
  box.classList.toggle('speaker', speakerLayout);
  for (const [id, t] of tiles) t.tile.classList.toggle('featured', id === featured);
}
