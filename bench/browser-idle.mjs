// bench/browser-idle.mjs [--seconds S]: what a two-person call of real
// Chromium pages (Debian's chromium, fake camera and microphone, the web
// client) costs the node, camera and mic on and then both muted (the client's
// own Mute and Camera buttons). CPU from the kernel's per-thread run time of
// the node (/proc/PID/task/*/schedstat), packets from /metrics. Needs
// `make all node-deps`; prints one line per phase and a JSON summary.
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { api, register, startServer } from '../tests/integration/lib.mjs';
import { launchChromium, openCallPages, until } from '../tests/e2e/browser.mjs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const argSeconds = process.argv.indexOf('--seconds');
const seconds = argSeconds > 0 ? Number(process.argv[argSeconds + 1]) : 20;

function cpuNs(pid) {
  let ns = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* thread gone */ }
  }
  return ns;
}

async function packets(server) {
  const text = await (await fetch(server.url + '/metrics')).text();
  const get = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(text) || [])[1] || 0);
  return { rx: get('sfu_udp_rx_packets_total'), tx: get('sfu_udp_tx_packets_total') };
}

// RTP packets each page has sent, per kind.
const sentByKind = () => (async () => {
  const out = { audio: 0, video: 0 };
  for (const pc of window.__pcs || []) {
    for (const s of (await pc.getStats()).values()) if (s.type === 'outbound-rtp') out[s.kind] += s.packetsSent || 0;
  }
  return out;
})();

async function measure(server, pages, label) {
  const sent0 = await Promise.all(pages.map((p) => p.evaluate(sentByKind)));
  const c0 = cpuNs(server.proc.pid);
  const p0 = await packets(server);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = cpuNs(server.proc.pid);
  const p1 = await packets(server);
  const sent1 = await Promise.all(pages.map((p) => p.evaluate(sentByKind)));
  const perKind = (k) => sent1.reduce((a, s, i) => a + s[k] - sent0[i][k], 0) / seconds / pages.length;
  const out = {
    label,
    cpu_pct: ((c1 - c0) / 1e9 / seconds) * 100,
    rx_pps: (p1.rx - p0.rx) / seconds,
    tx_pps: (p1.tx - p0.tx) / seconds,
    page_audio_pps: perKind('audio'),
    page_video_pps: perKind('video'),
  };
  console.log(`${label.padEnd(14)} ${out.cpu_pct.toFixed(3)} % of a core (${(out.cpu_pct / 2).toFixed(3)} % per participant), ` +
    `node ${out.rx_pps.toFixed(0)} packets/s in, ${out.tx_pps.toFixed(0)} out; each page sends ` +
    `${out.page_audio_pps.toFixed(1)} audio + ${out.page_video_pps.toFixed(1)} video packets/s`);
  return out;
}

const server = await startServer({ args: ['--log-level', 'warn'] });
let browser;
const results = [];
try {
  const sessions = [await register(server), await register(server)];
  const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'idle' } });
  const code = created.json.room.code;
  browser = await launchChromium();
  const pages = await openCallPages(browser, server, sessions, code);
  for (const page of pages) {
    await until('video from the other page', () => page.evaluate(async () => {
      let frames = 0;
      for (const pc of window.__pcs || []) {
        for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
      }
      return frames > 30;
    }), 60000);
  }
  await new Promise((r) => setTimeout(r, 3000));
  results.push(await measure(server, pages, 'camera + mic'));
  for (const page of pages) {
    await page.click('#mute');
    await page.click('#camera');
  }
  await new Promise((r) => setTimeout(r, 3000));
  results.push(await measure(server, pages, 'both muted'));
} finally {
  await browser?.close();
  await server.stop();
}
console.log(JSON.stringify({ seconds, participants: 2, results }));
