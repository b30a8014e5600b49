// Test and automation hook (tests/e2e): what this page sends and receives.
// Semantics kept from the first client: stats() per remote user id,
// publishStats() about our published tracks, tiles() the stream ids shown,
// joinRoom(code), joinCall(), leaveCall(), endCall(), status().
import { call, joinCall, leaveCall, restartIce, sendData } from './call.js';
import { directCallState } from './direct-call.js';
import { openRoom } from './room.js';
import { tiles } from './tiles.js';
import { $ } from './util.js';
import { request } from './ws.js';

async function inbound(keyOf) {
  const out = {};
  if (!call.sub) return out;
  for (const r of call.sub.getReceivers()) {
    const sid = call.trackStream.get(r.track);
    if (!sid) continue;
    const key = keyOf(sid);
    for (const s of (await r.getStats()).values()) {
      out[key] ??= { framesDecoded: 0, audioPackets: 0, videoPackets: 0, ssrcs: [], remoteOutbound: 0 };
      if (s.type === 'remote-outbound-rtp') out[key].remoteOutbound++;
      if (s.type !== 'inbound-rtp') continue;
      out[key].ssrcs.push(s.ssrc);
      if (s.kind === 'video') {
        out[key].framesDecoded += s.framesDecoded || 0;
        out[key].videoPackets += s.packetsReceived || 0;
      }
      if (s.kind === 'audio') out[key].audioPackets += s.packetsReceived || 0;
    }
  }
  return out;
}

// Data channel messages received, in order of arrival: {channel, from, data}.
const dataReceived = [];
window.addEventListener('sfu-data', (e) => dataReceived.push(e.detail));

window.sfu = {
  sendData: (data, channel) => sendData(data, channel),
  dataReceived: () => dataReceived,
  dataOpen: () => ['app', 'state'].every((l) => call.dc?.[l]?.readyState === 'open'),
  stats: () => inbound((sid) => /^u(-?\d+)/.exec(sid)[1]),
  // The same, per stream id (u<id>-camera, u<id>-screen).
  streamStats: () => inbound((sid) => sid),
  async publishStats() {
    const out = { remoteInbound: 0, packetsLost: 0, roundTripTime: null, ssrcs: [] };
    if (!call.pub) return out;
    for (const s of (await call.pub.getStats()).values()) {
      if (s.type === 'outbound-rtp') out.ssrcs.push(s.ssrc);
      if (s.type !== 'remote-inbound-rtp') continue;
      out.remoteInbound++;
      out.packetsLost += s.packetsLost || 0;
      if (s.roundTripTime !== undefined) out.roundTripTime = s.roundTripTime;
    }
    return out;
  },
  tiles: () => [...tiles.keys()],
  joinRoom: async (code) => {
    location.hash = `#/room/${code}`;
    return openRoom(code);
  },
  joinCall: () => joinCall(),
  leaveCall: () => leaveCall(),
  // ICE restart of both PeerConnections, as the page does when a path fails.
  restartIce: () => Promise.all([restartIce(call.pub), restartIce(call.sub)]),
  endCall: () => request({ type: 'call_end', roomId: call.roomId }),
  status: () => $('call-status').textContent,
  phase: () => call.phase,
  // Direct calls: ringing in/out, the answered one, the ring tone, missed count.
  direct: () => directCallState(),
  // The screen track we publish, so a test can end it as the browser would.
  screenTrack: () => call.screen?.getVideoTracks()[0] || null,
};
