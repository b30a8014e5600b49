// A three-person simulcast call in a network namespace of its own; prints
// one JSON line of what each browser measured. Run by simulcast.test.mjs as:
//   unshare -n node tests/e2e/netns-simulcast.mjs --police-kbps 300
// Every page publishes its camera as three encodings (the web client's
// simulcast); the third page's downlink is policed, then freed; then the
// second page shows its tiles small, then hides one. Must run as root in a
// fresh namespace: it brings lo up and adds the nftables rules.
import { spawnSync } from 'node:child_process';

import { api, register, startServer } from '../integration/lib.mjs';
import { FLAGS, launchChromium, openCallPages, until } from './browser.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const POLICE_KBPS = Number(args['police-kbps'] || 300);
function sh(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Per inbound video of the page: frame width, frames, freezes, packets.
const INBOUND = async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') continue;
      out.push({ mid: s.mid, width: s.frameWidth || 0, frames: s.framesDecoded || 0,
        freezeS: s.totalFreezesDuration || 0, packets: s.packetsReceived || 0, trackId: s.trackIdentifier });
    }
  }
  return out.sort((a, b) => String(a.mid).localeCompare(String(b.mid)));
};

// The widest encoding the page sends and its width.
const OUTBOUND = async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ rid: s.rid, width: s.frameWidth || 0, active: s.active });
    }
  }
  return out;
};

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

const widths = async (page) => (await page.evaluate(INBOUND)).filter((s) => s.frames > 0).map((s) => s.width);
const allAtLeast = (ws, w) => ws.length === 2 && ws.every((x) => x >= w);
const allAtMost = (ws, w) => ws.length === 2 && ws.every((x) => x > 0 && x <= w);

async function main() {
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('nft', ['add', 'table', 'inet', 'impair']);
  sh('nft', ['add', 'chain', 'inet', 'impair', 'out', '{ type filter hook output priority 0; }']);
  const www = process.env.E2E_WWW ? ['--www', process.env.E2E_WWW] : [];
  const server = await startServer({
    args: ['--log-level', 'warn', ...www],
  });
  let browser;
  const result = {};
  try {
    const sessions = [await register(server), await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'simulcast' } });
    const code = created.json.room.code;
    // Three layers at 640x480 (Chromium sends two below 960x540 otherwise).
    // 15 fps: three pages encoding three layers each fit this machine's cores.
    browser = await launchChromium(['--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/'],
      FLAGS.map((f) => (f === '--use-fake-device-for-media-stream' ? `${f}=fps=15` : f)));
    const pages = await openCallPages(browser, server, sessions, code, { contextOptions: { viewport: { width: 1600, height: 1200 } } });
    for (const page of pages) {
      await until('two videos decoded', async () => {
        const s = await page.evaluate(INBOUND);
        return s.length === 2 && s.every((x) => x.frames > 30);
      }, 60000);
    }
    // Everyone on the top layer first.
    for (const page of pages) {
      await until('the top layer everywhere', async () => {
        const w = await widths(page);
        return allAtLeast(w, 640);
      }, 30000, 1000);
    }
    result.start = await Promise.all(pages.map(widths));

    // (1) The third page's downlink policed.
    const port = await pages[2].evaluate(SUBSCRIBE_PORT);
    sh('nft', ['add', 'rule', 'inet', 'impair', 'out', 'udp', 'dport', String(port), 'limit', 'rate',
      'over', `${Math.round(POLICE_KBPS / 8)}`, 'kbytes/second',
      'burst', `${Math.round(POLICE_KBPS / 32)}`, 'kbytes', 'drop', 'comment', '"police"']);
    let t = Date.now();
    await until('the lowest layer on the policed page', async () => allAtMost(await widths(pages[2]), 320), 15000, 250)
      .catch(() => {});
    result.lowAfterMs = allAtMost(await widths(pages[2]), 320) ? Date.now() - t : null;
    // Settled: over the next 10 s, the policed page's freezes; the others' layers.
    await sleep(2000);
    const b = await pages[2].evaluate(INBOUND);
    const t0 = Date.now();
    await sleep(10000);
    const a = await pages[2].evaluate(INBOUND);
    const windowS = (Date.now() - t0) / 1000;
    result.policed = {
      widths: a.map((s) => s.width),
      freezeS: a.reduce((n, s) => n + s.freezeS, 0) - b.reduce((n, s) => n + s.freezeS, 0),
      fps: (a.reduce((n, s) => n + s.frames, 0) - b.reduce((n, s) => n + s.frames, 0)) / windowS / a.length,
      windowS,
    };
    result.othersWhilePoliced = await Promise.all(pages.slice(0, 2).map(widths));
    result.publishers = await Promise.all(pages.map((p) => p.evaluate(OUTBOUND)));

    // (2) The policing lifted: back to the top layer.
    const handle = /comment "police" # handle (\d+)/.exec(sh('nft', ['-a', 'list', 'chain', 'inet', 'impair', 'out']))[1];
    sh('nft', ['delete', 'rule', 'inet', 'impair', 'out', 'handle', handle]);
    t = Date.now();
    await until('the top layer again', async () => allAtLeast(await widths(pages[2]), 640), 20000, 250).catch(() => {});
    result.topAgainAfterMs = allAtLeast(await widths(pages[2]), 640) ? Date.now() - t : null;

    // (3) The second page's tiles small: the low layer for it alone.
    await pages[1].setViewportSize({ width: 520, height: 900 }); // every tile in view, small
    t = Date.now();
    await until('a small layer for small tiles', async () => allAtMost(await widths(pages[1]), 320), 15000, 250).catch(() => {});
    result.smallTiles = {
      afterMs: allAtMost(await widths(pages[1]), 320) ? Date.now() - t : null, widths: await widths(pages[1]),
      heights: await pages[1].evaluate(() => [...document.querySelectorAll('.tile video')].map((v) => { const r = v.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.height)]; })),
    };
    result.bigTiles = await widths(pages[0]);
    await pages[1].setViewportSize({ width: 1600, height: 1200 });

    // (4) A tile hidden on the second page: its packets stop, then resume.
    const hiddenUser = sessions[0].user.id;
    await pages[1].evaluate((uid) => { document.querySelector(`.tile[data-stream="u${uid}-camera"]`).hidden = true; }, hiddenUser);
    await sleep(2500); // the client looks every second
    const track = await pages[1].evaluate((uid) => {
      const v = document.querySelector(`.tile[data-stream="u${uid}-camera"] video`);
      return v.srcObject.getVideoTracks()[0].id;
    }, hiddenUser);
    const packetsOf = async () => (await pages[1].evaluate(INBOUND)).find((s) => s.trackId === track)?.packets ?? -1;
    const p0 = await packetsOf();
    await sleep(3000);
    const p1 = await packetsOf();
    await pages[1].evaluate((uid) => { document.querySelector(`.tile[data-stream="u${uid}-camera"]`).hidden = false; }, hiddenUser);
    await sleep(3000);
    const p2 = await packetsOf();
    result.hidden = { whileHidden: p1 - p0, afterShown: p2 - p1 };
    const metrics = await (await fetch(server.url + '/metrics')).text();
    const metric = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(metrics) || [])[1] || 0);
    result.node = { layer_switches: metric('sfu_layer_switches_total'), probes: metric('sfu_probes_total') };
    console.log(JSON.stringify(result));
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
}

const watchdog = setTimeout(() => {
  console.error('netns-simulcast: overran its time limit');
  process.exit(3);
}, 300 * 1000);
main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => {
  console.error(`netns-simulcast: ${e.stack || e}`);
  process.exit(1);
});
