// A two-person browser call inside a network namespace of its own, with
// nftables impairing UDP; prints one JSON line of what each browser measured.
// Run by lossy-call.test.mjs as: unshare -n node tests/e2e/netns-call.mjs
//   --loss PCT (random loss of every UDP datagram, both ways) --seconds S
//   --police-kbps K (after a warm-up, what the node sends the second page is
//   policed to K kbit/s; the run then reports how fast the first page's
//   sender adapted, and the second page's video over the next S seconds)
//   --block-udp-media 1 (every UDP datagram to or from the node's media port
//   dropped: ICE must go over TCP; the run reports each page's selected
//   candidate pairs)
//   --cut-path 1 (node without ICE-TCP; after the warm-up the first page's
//   UDP ports stop working for good, as when a phone leaves a network: the
//   page must restart ICE by itself; the run reports how long until both
//   pages decode again and whether the node's ICE credentials changed)
// Must run as root in a fresh namespace: it brings lo up and adds the rules.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { api, register, startServer } from '../integration/lib.mjs';
import { launchChromium, openCallPages, until } from './browser.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const LOSS = Number(args.loss || 0);
const SECONDS = Number(args.seconds || 30);
const POLICE_KBPS = Number(args['police-kbps'] || 0);
const BLOCK_UDP_MEDIA = args['block-udp-media'] === '1';
const CUT_PATH = args['cut-path'] === '1';
function sh(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error}`);
}

// Sums over inbound video of every PeerConnection of the page.
const INBOUND_VIDEO = async () => {
  const out = { framesDecoded: 0, framesReceived: 0, framesDropped: 0, freezeS: 0, freezes: 0, nackCount: 0, retransmitted: 0, packets: 0, lost: 0 };
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') continue;
      out.framesDecoded += s.framesDecoded || 0;
      out.framesReceived += s.framesReceived || 0;
      out.framesDropped += s.framesDropped || 0;
      out.freezeS += s.totalFreezesDuration || 0;
      out.freezes += s.freezeCount || 0;
      out.nackCount += s.nackCount || 0;
      out.retransmitted += s.retransmittedPacketsReceived || 0;
      out.packets += s.packetsReceived || 0;
      out.lost += s.packetsLost || 0;
    }
  }
  return out;
};

// Outbound video of every PeerConnection of the page: frames encoded per
// stream (each simulcast layer is one) by SSRC, and the NACKs and
// retransmissions of all of them.
const OUTBOUND_VIDEO = async () => {
  const out = { frames: {}, nackCount: 0, retransmitted: 0, packets: 0 };
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') continue;
      out.frames[s.ssrc] = s.framesEncoded || 0;
      out.nackCount += s.nackCount || 0;
      out.retransmitted += s.retransmittedPacketsSent || 0;
      out.packets += s.packetsSent || 0;
    }
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'remote-inbound-rtp' && s.kind === 'video') out.rttMs = Math.max(out.rttMs ?? 0, (s.roundTripTime || 0) * 1000);
    }
  }
  return out;
};

// The most frames any one stream encoded between two FRAMES_ENCODED readings
// (the layers of a simulcast camera encode the same frames).
const mostEncoded = (before, after) =>
  Math.max(0, ...Object.entries(after).map(([ssrc, n]) => n - (before[ssrc] ?? 0)));

// The local UDP port of the page's subscribe transport (the one receiving video).
const SUBSCRIBE_PORT = async () => {
  for (const pc of window.__pcs || []) {
    const report = await pc.getStats();
    const stats = [...report.values()];
    if (!stats.some((s) => s.type === 'inbound-rtp' && s.kind === 'video')) continue;
    const pair = stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    return report.get(pair.localCandidateId).port;
  }
  return 0;
};

// Each PeerConnection's selected pair: protocols and candidate types.
const SELECTED_PAIRS = async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    for (const s of report.values()) {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) continue;
      const pair = report.get(s.selectedCandidatePairId);
      const local = report.get(pair.localCandidateId);
      const remote = report.get(pair.remoteCandidateId);
      out.push({ local: local.protocol, remote: remote.protocol, remoteTcpType: remote.tcpType ?? null, remotePort: remote.port });
    }
  }
  return out;
};

// What the page's encoder is asked to send for video, in bit/s.
const TARGET_BITRATE = async () => {
  let bps = 0;
  for (const pc of window.__pcs || []) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') bps += s.targetBitrate || 0;
    }
  }
  return bps;
};

// The node's ICE ufrag in each of the page's PeerConnections, and the local
// UDP ports of their selected pairs.
const ICE_VIEW = async () => {
  const out = { ufrags: [], ports: [], states: [] };
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed' || !pc.remoteDescription) continue;
    out.ufrags.push(/a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp)[1]);
    out.states.push(pc.iceConnectionState);
    const report = await pc.getStats();
    for (const s of report.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        out.ports.push(report.get(report.get(s.selectedCandidatePairId).localCandidateId).port);
      }
    }
  }
  return out;
};

// Drops every datagram from or to the first page's current UDP ports, then
// waits until both pages decode new frames again.
async function cutPath(pages) {
  const before = await pages[0].evaluate(ICE_VIEW);
  const frames0 = await Promise.all(pages.map((p) => p.evaluate(INBOUND_VIDEO)));
  for (const port of before.ports) {
    for (const dir of ['sport', 'dport']) {
      sh('nft', ['add', 'rule', 'inet', 'impair', 'out', 'udp', dir, String(port), 'drop']);
    }
  }
  const t0 = Date.now();
  // Decoding stops first (the path is gone), then resumes on a new one.
  let resumedMs = null;
  const last = frames0.map((f) => f.framesDecoded);
  let stalled = false;
  while (Date.now() - t0 < 60000) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await Promise.all(pages.map((p) => p.evaluate(INBOUND_VIDEO)));
    const view = await pages[0].evaluate(ICE_VIEW);
    const renewed = view.ufrags.length === before.ufrags.length && view.ufrags.every((u) => !before.ufrags.includes(u));
    if (!renewed) {
      now.forEach((f, i) => { last[i] = f.framesDecoded; });
      stalled = true;
      continue;
    }
    if (now.every((f, i) => f.framesDecoded > last[i] + 5)) {
      resumedMs = Date.now() - t0;
      break;
    }
  }
  const after = await pages[0].evaluate(ICE_VIEW);
  return { before, after, resumedMs, stalled, status: await pages[0].evaluate(() => window.sfu.status()) };
}

async function main() {
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('nft', ['add', 'table', 'inet', 'impair']);
  sh('nft', ['add', 'chain', 'inet', 'impair', 'out', '{ type filter hook output priority 0; }']);
  if (LOSS > 0) {
    // Each datagram arrives through input once: LOSS % of every UDP packet,
    // both ways. Dropped on arrival, as a network loses it: a drop in the
    // output hook fails the sender's send (EPERM), and Chromium then sends
    // the datagram again, so its own packets would never be lost.
    sh('nft', ['add', 'chain', 'inet', 'impair', 'in', '{ type filter hook input priority 0; }']);
    sh('nft', ['add', 'rule', 'inet', 'impair', 'in', 'meta', 'l4proto', 'udp', 'numgen', 'random',
      'mod', '100', '<', String(LOSS), 'drop']);
  }
  // E2E_WWW: another web client folder to serve (default: signaling/www).
  const www = process.env.E2E_WWW ? ['--www', process.env.E2E_WWW] : [];
  const server = await startServer({ args: ['--log-level', 'warn', ...www, ...(CUT_PATH ? ['--rtc-tcp-port', '0'] : [])] });
  if (BLOCK_UDP_MEDIA) {
    for (const dir of ['dport', 'sport']) {
      sh('nft', ['add', 'rule', 'inet', 'impair', 'out', 'udp', dir, String(server.rtcPort), 'drop']);
    }
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-netns-'));
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'lossy call' } });
    const code = created.json.room.code;
    browser = await launchChromium();
    const pages = await openCallPages(browser, server, sessions, code);
    for (const page of pages) {
      await until('video decoded from the other page', async () =>
        (await page.evaluate(INBOUND_VIDEO)).framesDecoded > 30, 60000);
    }
    await new Promise((r) => setTimeout(r, 3000)); // past the first keyframes
    let cut = null;
    if (CUT_PATH) cut = await cutPath(pages);
    let police = null;
    if (POLICE_KBPS) {
      // Let the sender ramp up, then squeeze the second page's downlink.
      await new Promise((r) => setTimeout(r, 5000));
      const port = await pages[1].evaluate(SUBSCRIBE_PORT);
      const beforeBps = await pages[0].evaluate(TARGET_BITRATE);
      sh('nft', ['add', 'rule', 'inet', 'impair', 'out', 'udp', 'dport', String(port), 'limit', 'rate',
        'over', `${Math.round(POLICE_KBPS / 8)}`, 'kbytes/second',
        // A policer's usual bucket: about 250 ms of the rate.
        'burst', `${Math.round(POLICE_KBPS / 32)}`, 'kbytes', 'drop']);
      const t = Date.now();
      let fellAfterMs = null;
      let minBps = beforeBps;
      while (Date.now() - t < 15000) {
        const bps = await pages[0].evaluate(TARGET_BITRATE);
        minBps = Math.min(minBps, bps);
        if (bps < POLICE_KBPS * 1000) {
          fellAfterMs = Date.now() - t;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      police = { port, beforeBps, fellAfterMs, minBps };
    }
    const before = await Promise.all(pages.map((p) => p.evaluate(INBOUND_VIDEO)));
    const sentBefore = await Promise.all(pages.map((p) => p.evaluate(OUTBOUND_VIDEO)));
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const after = await Promise.all(pages.map((p) => p.evaluate(INBOUND_VIDEO)));
    const sentAfter = await Promise.all(pages.map((p) => p.evaluate(OUTBOUND_VIDEO)));
    const windowS = (Date.now() - t0) / 1000;
    const metrics = await (await fetch(server.url + '/metrics')).text();
    const metric = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(metrics) || [])[1] || 0);
    const subscribers = after.map((a, i) => {
      const b = before[i];
      return {
        fps: (a.framesDecoded - b.framesDecoded) / windowS,
        receivedFps: (a.framesReceived - b.framesReceived) / windowS,
        droppedFrames: a.framesDropped - b.framesDropped,
        // What the other pages' encoders produced meanwhile: what this page
        // could have decoded at most.
        sentFps: pages.reduce((sum, _, j) => (j === i ? sum : sum + mostEncoded(sentBefore[j].frames, sentAfter[j].frames)), 0) / windowS,
        freezeS: a.freezeS - b.freezeS,
        freezes: a.freezes - b.freezes,
        nackCount: a.nackCount - b.nackCount,
        retransmitted: a.retransmitted - b.retransmitted,
        packets: a.packets - b.packets,
        lost: a.lost - b.lost,
      };
    });
    // What each page's video sender saw: NACKs from the node, retransmissions.
    const publishers = sentAfter.map((a, i) => ({
      packets: a.packets - sentBefore[i].packets,
      nackCount: a.nackCount - sentBefore[i].nackCount,
      retransmitted: a.retransmitted - sentBefore[i].retransmitted,
      rttMs: a.rttMs,
    }));
    const node = {};
    for (const n of ['rtp_forwarded', 'rtp_not_placed', 'layer_switches', 'keyframe_requests', 'rtp_unknown_ssrc', 'srtp_replayed', 'udp_rx_dropped', 'probes', 'retransmitted', 'nack_received', 'nack_miss', 'nack_sent',
      'upstream_recovered', 'upstream_given_up', 'upstream_rtx', 'upstream_rtx_padding', 'pli_sent', 'twcc_feedback_sent',
      'twcc_feedback_received', 'remb_sent', 'tcp_accepted', 'udp_rx_packets']) {
      node[n] = metric(`sfu_${n}_total`);
    }
    const afterBps = POLICE_KBPS ? await pages[0].evaluate(TARGET_BITRATE) : undefined;
    const paths = BLOCK_UDP_MEDIA ? await Promise.all(pages.map((p) => p.evaluate(SELECTED_PAIRS))) : undefined;
    console.log(JSON.stringify({ loss: LOSS, windowS, subscribers, publishers, node, police, afterBps, paths, cut, rtcPort: server.rtcPort }));
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error('netns-call: overran its time limit');
  process.exit(3);
}, (SECONDS + 150) * 1000);
main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => {
  console.error(`netns-call: ${e.stack || e}`);
  process.exit(1);
});
