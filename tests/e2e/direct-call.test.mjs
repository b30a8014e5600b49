// Browser end-to-end: a direct video call between two Chromium pages through
// the web client, as people make one: the caller finds the callee under
// People and presses Call; the callee's page rings (dialog and ring tone)
// and accepts; both decode each other's video; the caller hangs up; both
// histories show the call with its duration. Then a call cancelled while
// ringing, and one nobody answers: the missed-call badge, cleared by
// opening the history.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { REPO_ROOT, api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, signIn, until } from './browser.mjs';

const RING_S = 10;
// Screenshots for review.
const SHOTS = path.join(REPO_ROOT, 'build', 'screenshots');
const shot = (p, file) => p.page.screenshot({ path: path.join(SHOTS, file) });

async function openPage(browser, server, session) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const name = session.user.username;
  page.on('pageerror', (e) => console.log(`# page error (${name}): ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`# console (${name}): ${m.text()}`));
  await signIn(page, server, session);
  await page.locator('#who').filter({ hasText: name }).waitFor();
  return { context, page, session, name };
}

const direct = (p) => p.page.evaluate(() => window.sfu.direct());

/* Video decoded from the other page's user, and still increasing. */
async function decodesFrom(p, other, timeoutMs = 60000) {
  const id = String(other.session.user.id);
  const first = await until(`${p.name} to decode video from ${other.name}`, async () => {
    const s = await p.page.evaluate(() => window.sfu.stats());
    return s[id]?.framesDecoded > 0 ? s : null;
  }, timeoutMs);
  await until(`${p.name}'s decoded frames to keep increasing`, async () => {
    const s = await p.page.evaluate(() => window.sfu.stats());
    return s[id].framesDecoded > first[id].framesDecoded;
  }, 15000);
}

/* The caller presses a call button for callee under People. */
async function callFromPeople(caller, callee, label = 'Video call') {
  await caller.page.goto(`${caller.page.url().split('#')[0]}#/people`);
  await caller.page.fill('#search-q', callee.name);
  await caller.page.click('#search-form button[type=submit]');
  await caller.page.click(`#search-results [aria-label="${label} ${callee.name}"]`);
  await caller.page.locator('#outgoing-call').waitFor({ state: 'visible' });
  assert.match(await caller.page.locator('#outgoing-text').innerText(), new RegExp(`Calling ${callee.name}`));
}

test('a direct video call through the web client: ring, accept, video both ways, hang up, history', { timeout: 240000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = await startServer({ args: ['--ring-timeout', String(RING_S), '--log-level', process.env.SFU_E2E_LOG || 'info'] });
  let browser;
  try {
    const sa = await register(server);
    const sb = await register(server);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const a = await openPage(browser, server, sa);
    const b = await openPage(browser, server, sb);

    // ---- ring ----
    await callFromPeople(a, b);
    await b.page.locator('#incoming-call').waitFor({ state: 'visible' });
    assert.match(await b.page.locator('#incoming-text').innerText(), new RegExp(`${a.name} is calling you \\(video call\\)`));
    const ringing = await until('the ring tone', async () => {
      const d = await direct(b);
      return d.ringing && d.ringTone === 'running' ? d : null;
    }, 10000);
    assert.equal(ringing.incoming.caller.userId, sa.user.id);
    const callId = ringing.incoming.callId;
    assert.equal((await direct(a)).outgoing.callId, callId);
    await shot(a, 'direct-call-outgoing.png');
    await shot(b, 'direct-call-incoming.png');

    // ---- accept: both pages land in the call's room and send and receive video ----
    await b.page.click('#incoming-accept');
    await b.page.locator('#incoming-call').waitFor({ state: 'hidden' });
    await a.page.locator('#outgoing-call').waitFor({ state: 'hidden' });
    assert.equal((await direct(b)).ringing, false, 'the ring tone stops on the answer');
    for (const p of [a, b]) {
      await until(`${p.name} in the call`, async () => (await p.page.evaluate(() => window.sfu.phase())) === 'connected', 60000);
      assert.equal(await p.page.locator('#view-room').isVisible(), true);
      assert.equal((await direct(p)).active.callId, callId);
    }
    await decodesFrom(a, b);
    await decodesFrom(b, a);
    await shot(b, 'direct-call-in-call.png');
    // Nobody else can join this room: no invite link, and it cannot be left, only hung up.
    for (const p of [a, b]) {
      for (const id of ['invite-link', 'copy-invite', 'leave-room']) assert.equal(await p.page.locator(`#${id}`).isHidden(), true, `${p.name} #${id}`);
    }
    // The call's room is in nobody's room list.
    const rooms = await api(server, 'GET', '/api/rooms', { token: sa.accessToken });
    const activeRoom = (await direct(a)).active.roomId;
    assert.ok(!rooms.json.rooms.some((r) => r.id === activeRoom), 'the call room is not listed');

    // ---- hang up: both calls end, both histories show it with a duration ----
    await a.page.click('#leave-call');
    for (const p of [a, b]) {
      await until(`${p.name}'s call to end`, async () => (await p.page.evaluate(() => window.sfu.phase())) !== 'connected', 15000);
      await until(`${p.name} on the history`, async () => (await p.page.evaluate(() => location.hash)) === '#/history', 15000);
      const row = p.page.locator(`#history li[data-call-id="${callId}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute('data-status'), 'ended');
      const text = await row.innerText();
      const outgoing = p === a;
      assert.match(text, new RegExp(`${outgoing ? 'Outgoing' : 'Incoming'} video call ${outgoing ? 'to' : 'from'} ${(outgoing ? b : a).name}`));
      assert.match(await row.locator('.duration').innerText(), /\d+ (s|min)/);
      const { json } = await api(server, 'GET', '/api/calls', { token: p.session.accessToken });
      const rec = json.calls.find((c) => c.id === callId);
      assert.equal(rec.status, 'ended');
      assert.equal(rec.direction, outgoing ? 'outgoing' : 'incoming');
      assert.ok(rec.durationMs > 1000, `durationMs ${rec.durationMs}`);
      assert.deepEqual(rec.participants.map((x) => x.userId).sort(), [sa.user.id, sb.user.id].sort());
    }
    console.log(`# direct call ${callId}: ${(await api(server, 'GET', '/api/calls', { token: sa.accessToken })).json.calls[0].durationMs} ms answered`);

    // ---- cancelled while ringing: the callee's dialog goes away ----
    await callFromPeople(a, b, 'Voice call');
    await b.page.locator('#incoming-call').waitFor({ state: 'visible' });
    assert.match(await b.page.locator('#incoming-text').innerText(), /voice call/);
    await a.page.click('#outgoing-cancel');
    await b.page.locator('#incoming-call').waitFor({ state: 'hidden' });
    assert.equal((await direct(b)).ringing, false);

    // ---- nobody answers: missed, with a badge until the history is opened ----
    await b.page.goto(`${b.page.url().split('#')[0]}#/`);
    await callFromPeople(a, b);
    await b.page.locator('#incoming-call').waitFor({ state: 'visible' });
    await b.page.locator('#incoming-call').waitFor({ state: 'hidden', timeout: (RING_S + 5) * 1000 });
    await a.page.locator('#outgoing-call').waitFor({ state: 'hidden' });
    await b.page.locator('#calls-badge').waitFor({ state: 'visible' });
    assert.equal(await b.page.locator('#calls-badge').innerText(), '1');
    await shot(b, 'direct-call-missed-badge.png');
    await b.page.click('[data-nav=history]');
    await b.page.locator('#history li.missed').first().waitFor();
    await shot(b, 'direct-call-history.png');
    await b.page.locator('#calls-badge').waitFor({ state: 'hidden' });
    await until('the missed call to count as seen', async () =>
      (await api(server, 'GET', '/api/calls', { token: sb.accessToken })).json.missedUnseen === 0, 5000);
  } finally {
    await browser?.close();
    const code = await server.stop();
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
