// Browser end-to-end over IPv6: the node binds every address (--rtc-bind ::)
// and announces two (--announce-ip ::1 and an unreachable IPv4 one, as a
// public IPv4 next to IPv6 would be listed). Two Chromium pages call; the
// pairs they select go to ::1 and they decode each other's video.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, launchChromium, openCallPages, until } from './browser.mjs';

/* Per open PeerConnection: the selected pair's remote address and family,
 * and the video frames decoded. */
const PATHS = async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    let remote = null;
    let frames = 0;
    const pairs = [];
    for (const s of report.values()) {
      if (s.type === 'candidate-pair') {
        const l = report.get(s.localCandidateId);
        const r = report.get(s.remoteCandidateId);
        pairs.push(`${l?.protocol}:${l?.address}->${r?.address}:${r?.port} ${s.state}${s.nominated ? ' nominated' : ''} req=${s.requestsSent} resp=${s.responsesReceived}`);
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        remote = report.get(pair.remoteCandidateId);
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    }
    out.push({ state: pc.connectionState, address: remote?.address ?? null, protocol: remote?.protocol ?? null, frames, pairs });
  }
  return out;
};

test('a call over IPv6: --rtc-bind :: with two --announce-ip addresses, media over ::1', { timeout: 150000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--rtc-bind', '::', '--announce-ip', '::1', '--announce-ip', '192.0.2.1', '--log-level', 'info'] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'v6' } });
    assert.equal(created.status, 201);
    browser = await launchChromium();
    const pages = await openCallPages(browser, server, sessions, created.json.room.code);
    for (const [i, page] of pages.entries()) {
      const first = await until(`page ${i} to decode video over IPv6`, async () => {
        const p = await page.evaluate(PATHS);
        return p.length === 2 && p.every((x) => x.state === 'connected') && p.some((x) => x.frames > 10) ? p : null;
      }, 60000);
      for (const x of first) {
        assert.equal(x.address, '::1', `page ${i} selected a pair to the node at ::1: ${JSON.stringify(first)}`);
        // UDP and TCP are both offered on ::1; which pair Chromium nominates
        // depends on which becomes writable first (it does not renominate).
        assert.ok(['udp', 'tcp'].includes(x.protocol), JSON.stringify(x.pairs));
      }
      console.log(`# page ${i} over ${first.map((x) => `${x.protocol} to [${x.address}]`).join(', ')}`);
      const frames = first.reduce((a, x) => a + x.frames, 0);
      await until(`page ${i}'s decoded frames to keep rising`, async () =>
        (await page.evaluate(PATHS)).reduce((a, x) => a + x.frames, 0) > frames + 20, 20000);
    }
    // Both announced addresses were offered, each with UDP and TCP.
    const offered = await pages[0].evaluate(() => window.__pcs.map((pc) => pc.remoteDescription?.sdp || '').join('\n'));
    for (const re of [/ udp \d+ ::1 /, / tcp \d+ ::1 /, / udp \d+ 192\.0\.2\.1 /, / tcp \d+ 192\.0\.2\.1 /]) {
      assert.match(offered, re);
    }
  } catch (e) {
    console.log(server.stderr().slice(-4000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    await browser?.close();
    const code = await server.stop();
    assert.equal(code, 0, `node exit code ${code}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
