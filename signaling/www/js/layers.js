// Simulcast, from the client's side. The camera is published as three
// encodings (a quarter, half and full size; lowest first, as the node takes
// them); while the call has one other participant only the full one is sent
// (one subscriber: the publisher adapts to it directly). Each remote video
// is asked for at the height its tile shows, and paused while no tile of it
// is visible, with call_set_layers.
import { send } from './ws.js';

export const CAMERA_ENCODINGS = () => [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 100000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 300000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 900000 },
];

// Turns the lower encodings on or off (no renegotiation: setParameters).
export async function setSimulcastActive(sender, on) {
  const params = sender.getParameters();
  if (!params.encodings || params.encodings.length < 2) return;
  let changed = false;
  params.encodings.forEach((e, i) => {
    const want = on || i === params.encodings.length - 1;
    if (e.active !== want) {
      e.active = want;
      changed = true;
    }
  });
  if (changed) await sender.setParameters(params).catch(() => {});
}

function visible(el) {
  if (!el || document.visibilityState !== 'visible' || !el.isConnected) return false;
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) return false;
  return r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth;
}

// What was last asked for, per producer id: "paused" or a height.
const asked = new Map();

export function resetLayerRequests() {
  asked.clear();
}

// receivers: [{producerId, video (the tile's video element or null)}].
export function requestLayers(roomId, receivers) {
  const tracks = [];
  for (const { producerId, video } of receivers) {
    if (!producerId) continue;
    const show = visible(video);
    const height = show ? Math.max(1, Math.round(video.getBoundingClientRect().height * (window.devicePixelRatio || 1))) : 0;
    const want = show ? `h${Math.min(height, 8192)}` : 'paused';
    if (asked.get(producerId) === want) continue;
    asked.set(producerId, want);
    tracks.push(show ? { producerId, paused: false, height: Math.min(height, 8192) } : { producerId, paused: true });
  }
  if (tracks.length) send({ type: 'call_set_layers', roomId, tracks });
}
