// Browser end-to-end: a clean DTLS close is a leave. A Chromium page in a
// call closes its publish PeerConnection (which sends DTLS close_notify)
// without a call_leave: the node takes it as the participant leaving, at
// once, not as a media failure 30 s later. The other page drops its tiles
// within seconds, the page gets call_left (reason "media_closed") and no
// media_failed, and the call record says "left".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, launchChromium, openCallPages, until } from './browser.mjs';

test('closing a PeerConnection (DTLS close_notify) is a leave, not a media failure', { timeout: 120000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', 'info'] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'hangup' } });
    assert.equal(created.status, 201);
    browser = await launchChromium();
    // Every WebSocket message the page receives, for the assertions below.
    const recordWs = () => {
        window.__wsIn = [];
        const Orig = window.WebSocket;
        window.WebSocket = function (...a) {
          const ws = new Orig(...a);
          ws.addEventListener('message', (e) => { try { window.__wsIn.push(JSON.parse(e.data)); } catch { /* not JSON */ } });
          return ws;
        };
        window.WebSocket.prototype = Orig.prototype;
        Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    };
    const pages = await openCallPages(browser, server, sessions, created.json.room.code, { initScripts: [recordWs] });
    const leaverId = sessions[0].user.id;
    await until('page 1 to decode page 0', async () => {
      const s = await pages[1].evaluate(() => window.sfu.stats());
      return s[leaverId]?.framesDecoded > 10;
    }, 60000);

    // Page 0 closes its publish PeerConnection (the first one it made).
    const t0 = Date.now();
    await pages[0].evaluate(() => window.__pcs[0].close());
    await until('page 1 to drop the leaver\'s tiles', async () =>
      !(await pages[1].evaluate(() => window.sfu.tiles())).some((t) => t.startsWith(`u${leaverId}-`)), 10000);
    const goneMs = Date.now() - t0;
    console.log(`# close to leave seen by the other page: ${goneMs} ms`);
    const left = await pages[1].evaluate((id) => window.__wsIn.find((m) => m.type === 'participant_left' && m.userId === id), leaverId);
    assert.equal(left?.reason, 'left', `participant_left: ${JSON.stringify(left)}`);
    const own = await pages[0].evaluate(() => window.__wsIn.filter((m) => m.type === 'call_left' || m.type === 'error'));
    assert.ok(own.some((m) => m.type === 'call_left' && m.reason === 'media_closed'), JSON.stringify(own));
    assert.ok(!own.some((m) => m.type === 'error' && m.code === 'media_failed'), `no media_failed: ${JSON.stringify(own)}`);

    const calls = await api(server, 'GET', '/api/calls', { token: sessions[0].accessToken });
    assert.equal(calls.status, 200);
    const me = calls.json.calls[0].participants.find((p) => p.userId === leaverId);
    assert.equal(me.leftReason, 'left', JSON.stringify(calls.json.calls[0]));
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
