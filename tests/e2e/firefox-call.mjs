// Firefox ESR (WebDriver BiDi through puppeteer-core) and Chromium (playwright)
// in one call through the node, inside a network namespace of their own:
// Firefox gathers no loopback candidates, so the namespace gets a veth pair
// with addresses and a default route, and the node announces one of them.
// Prints one JSON line: what each browser decoded from the other, and the
// publish offer Firefox sent (bundle-only sections).
// Run by firefox-call.test.mjs as: unshare -n node tests/e2e/firefox-call.mjs
// Must run as root in a fresh namespace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, joinCall, signIn, until } from './browser.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const NODE_IP = '10.77.0.1';

function sh(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error}`);
}

/* The publish offers the page sends (call_publish), recorded from its socket. */
const RECORD_PUBLISH = () => {
  window.__publishOffers = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const m = JSON.parse(data);
      if (m.type === 'call_publish') window.__publishOffers.push(m.sdp);
    } catch { /* not JSON */ }
    return send.call(this, data);
  };
};

/* What the page decoded from user uid, from the web client's own stats hook. */
async function decodedFrom(page, uid) {
  const s = await page.evaluate(() => window.sfu.stats());
  return s[uid] || { framesDecoded: 0, audioPackets: 0 };
}

async function main() {
  sh('ip', ['link', 'set', 'lo', 'up']);
  sh('ip', ['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);
  sh('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', 'veth0']);
  sh('ip', ['addr', 'add', '10.77.0.2/24', 'dev', 'veth1']);
  sh('ip', ['link', 'set', 'veth0', 'up']);
  sh('ip', ['link', 'set', 'veth1', 'up']);
  sh('ip', ['route', 'add', 'default', 'dev', 'veth0']);
  const server = await startServer({ args: ['--rtc-bind', '0.0.0.0', '--announce-ip', NODE_IP, '--log-level', 'info'] });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-ff-'));
  let chrome;
  let firefox;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'firefox' } });
    const code = created.json.room.code;

    firefox = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: {
        'media.navigator.streams.fake': true,
        'media.navigator.permission.disabled': true,
        'media.peerconnection.ice.obfuscate_host_addresses': false,
        'media.autoplay.default': 0,
      },
    });
    const ff = await firefox.newPage();
    await ff.evaluateOnNewDocument(RECORD_PUBLISH);
    await signIn(ff, server, sessions[0]);
    await joinCall(ff, code);

    chrome = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const cr = await (await chrome.newContext()).newPage();
    await signIn(cr, server, sessions[1]);
    await joinCall(cr, code);

    const [ffId, crId] = sessions.map((s) => String(s.user.id));
    const both = async () => {
      const a = await decodedFrom(ff, crId);
      const b = await decodedFrom(cr, ffId);
      return a.framesDecoded > 10 && a.audioPackets > 20 && b.framesDecoded > 10 && b.audioPackets > 20 ? { a, b } : null;
    };
    const first = await until('Firefox and Chromium to decode each other\'s audio and video', both, 90000, 500);
    await new Promise((r) => setTimeout(r, 5000));
    const later = { a: await decodedFrom(ff, crId), b: await decodedFrom(cr, ffId) };
    const offers = await ff.evaluate(() => window.__publishOffers);
    console.log(JSON.stringify({
      firefox: { from: crId, first: first.a, later: later.a, userAgent: await ff.evaluate(() => navigator.userAgent) },
      chromium: { from: ffId, first: first.b, later: later.b },
      firefoxOffer: offers[0] || '',
      participants: (await cr.evaluate(() => window.sfu.tiles())),
    }));
  } finally {
    if (firefox) await firefox.close().catch(() => {});
    if (chrome) await chrome.close().catch(() => {});
    const code = await server.stop();
    if (code !== 0) console.error(`node exit code ${code}: ${server.stderr().slice(-3000)}`);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error('firefox-call: overran its time limit');
  process.exit(3);
}, 200000);
main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => {
  console.error(`firefox-call: ${e.stack || e}`);
  process.exit(1);
});
