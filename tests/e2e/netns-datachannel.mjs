// Three Chromium pages in a call with data channels, inside a network
// namespace of their own; prints one JSON line of what happened. Run by
// datachannel-stall.test.mjs as: unshare -n node tests/e2e/netns-datachannel.mjs
//   --rate N (app messages a second each of the first two pages sends the
//   others) --size B (bytes of each) --hold-ms MS (how long the cut stays
//   after the node closed the channel)
// After a warm-up, nftables drops every datagram the node sends to the third
// page (whatever ports its ICE restarts pick), so the node cannot deliver to
// it while the first two keep sending; once the node reports the channel it
// closed, the cut is lifted. The run reports what every page received (with
// send and receive times), when the third page saw its app channel close,
// and the node's sfu_dc_* counters; it fails when the node does not exit
// cleanly (or, built with SANITIZE=1, reports an error).
// Must run as root in a fresh namespace: it brings lo up and adds the rules.
import { spawnSync } from 'node:child_process';

import { api, register, startServer } from '../integration/lib.mjs';
import { launchChromium, openCallPages, until } from './browser.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const RATE = Number(args.rate || 50);
const SIZE = Number(args.size || 1000);
const HOLD_MS = Number(args['hold-ms'] || 3000);
const WARMUP_MS = 3000;

function sh(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error}`);
}

/* An init script: every data channel the page makes, and when it closed. */
const RECORD_CHANNELS = () => {
  window.__channels = [];
  const orig = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...a) {
    const ch = orig.apply(this, a);
    const rec = { label: ch.label, closedAt: null };
    window.__channels.push(rec);
    ch.addEventListener('close', () => { rec.closedAt = Date.now(); });
    return ch;
  };
  // Every message with its arrival time (the client's own sfu-data event).
  window.__got = [];
  window.addEventListener('sfu-data', (e) => {
    if (e.detail.channel !== 'app' || typeof e.detail.data !== 'string') return;
    window.__got.push([Date.now(), e.detail.from, e.detail.data.slice(0, 40)]);
  });
};

// Local ports of every candidate of the page's PeerConnections.
const LOCAL_PORTS = async () => {
  const ports = new Set();
  for (const pc of window.__pcs || []) {
    for (const s of (await pc.getStats()).values()) if (s.type === 'local-candidate' && s.port) ports.add(s.port);
  }
  return [...ports];
};

// Sends `rate` messages a second of `size` bytes on app: "seq|sentMs|xxxx...",
// each with a short one on state.
const START_SENDING = ({ rate, size }) => {
  let seq = 0;
  window.__sent = 0;
  window.__sender = setInterval(() => {
    const head = `${seq}|${Date.now()}|`;
    if (window.sfu.sendData(head + 'x'.repeat(Math.max(0, size - head.length)))) {
      window.sfu.sendData(`${seq}`, 'state');
      seq++;
      window.__sent = seq;
    }
  }, 1000 / rate);
};

async function dcMetrics(server) {
  const text = await (await fetch(server.url + '/metrics')).text();
  const out = {};
  for (const m of text.matchAll(/^sfu_dc_(\w+)_total (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

async function main() {
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('nft', ['add', 'table', 'inet', 'impair']);
  sh('nft', ['add', 'chain', 'inet', 'impair', 'out', '{ type filter hook output priority 0; }']);
  // One worker (one media port), no ICE-TCP: the cut covers every path.
  const server = await startServer({ args: ['--log-level', 'info', '--workers', '1', '--rtc-tcp-port', '0'] });
  let browser;
  let result;
  try {
    const sessions = [await register(server), await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'dc stall' } });
    const code = created.json.room.code;
    browser = await launchChromium();
    const pages = await openCallPages(browser, server, sessions, code, { initScripts: [RECORD_CHANNELS] });
    for (const page of pages) await until('data channels to open', () => page.evaluate(() => window.sfu.dataOpen()), 60000);
    // Cameras off (black frames): the browsers' encoders would only load the machine.
    for (const page of pages) {
      await page.evaluate(() => {
        for (const pc of window.__pcs) for (const s of pc.getSenders()) if (s.track?.kind === 'video') s.track.enabled = false;
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
    const live = [...await pages[0].evaluate(LOCAL_PORTS), ...await pages[1].evaluate(LOCAL_PORTS)];
    const ids = sessions.map((s) => s.user.id);

    for (const page of pages.slice(0, 2)) await page.evaluate(START_SENDING, { rate: RATE, size: SIZE });
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const before = await dcMetrics(server);
    // Everything the node's media port sends goes nowhere but to the first two pages.
    sh('nft', ['add', 'rule', 'inet', 'impair', 'out', 'udp', 'sport', String(server.rtcPort),
      'udp', 'dport', '!=', `{ ${live.join(', ')} }`, 'drop']);
    const cutAt = Date.now();
    let closedAt = null;
    const during = [];
    while (Date.now() - cutAt < 40000) {
      await new Promise((r) => setTimeout(r, 250));
      const m = await dcMetrics(server);
      during.push([Date.now() - cutAt, m.closed_not_reading - before.closed_not_reading]);
      if (m.closed_not_reading > before.closed_not_reading) {
        closedAt = Date.now();
        break;
      }
    }
    await new Promise((r) => setTimeout(r, HOLD_MS));
    sh('nft', ['flush', 'chain', 'inet', 'impair', 'out']);
    const liftedAt = Date.now();
    const healthDuringCut = (await api(server, 'GET', '/api/health')).status;

    // The third page gets what the node held for it, then its app channel closes.
    let deadClosedAt = null;
    try {
      deadClosedAt = await until('the third page\'s app channel to close', () => pages[2].evaluate(() =>
        window.__channels.find((c) => c.label === 'app')?.closedAt), 45000, 250);
    } catch { /* reported as null */ }
    await new Promise((r) => setTimeout(r, 2000));
    const sent = [];
    for (const page of pages.slice(0, 2)) {
      sent.push(await page.evaluate(() => { clearInterval(window.__sender); return window.__sent; }));
    }
    await new Promise((r) => setTimeout(r, 3000)); // the last messages land
    const received = [];
    for (const page of pages) received.push(await page.evaluate(() => window.__got));
    const after = await dcMetrics(server);
    const health = (await api(server, 'GET', '/api/health')).status;
    result = {
      rate: RATE, size: SIZE, ids, cutAt, closedAt, liftedAt, deadClosedAt, sent, received, during,
      before, after, healthDuringCut, health,
      deadChannels: await pages[2].evaluate(() => window.__channels),
      liveChannels: await Promise.all(pages.slice(0, 2).map((p) => p.evaluate(() => window.__channels))),
      nodeLog: server.stderr().split('\n').filter((l) => /not reading|\[dc\]/.test(l)).slice(-10),
    };
  } finally {
    if (browser) await browser.close().catch(() => {});
    const code = await server.stop();
    if (code !== 0) throw new Error(`node exit code ${code}: ${server.stderr().slice(-3000)}`);
    if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(server.stderr())) throw new Error(server.stderr().slice(-6000));
  }
  console.log(JSON.stringify(result));
}

const watchdog = setTimeout(() => {
  console.error('netns-datachannel: overran its time limit');
  process.exit(3);
}, 280000);
main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => {
  console.error(`netns-datachannel: ${e.stack || e}`);
  process.exit(1);
});
