// Data channels through the node: three Chromium pages in a call send 1,000
// messages each on the reliable channel "app" (text and binary) and 200 on
// the unreliable "state"; every page gets each other page's app messages
// once and in order, marked with the sender's user id, and some state ones;
// the node's /metrics count exactly what it relayed, and a burst over the
// rate limit is cut down to the limit and counted; a reaction from the web
// client's button shows on the sender's tile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, joinCall, signIn, until } from './browser.mjs';

const PER_PAGE = 1000;
const STATE = 200;
const BURST = 2600; // over the node's burst of 2,000 messages

/* The node's sfu_dc_* counters from /metrics. */
async function dcMetrics(server) {
  const text = await (await fetch(server.url + '/metrics')).text();
  const out = {};
  for (const m of text.matchAll(/^sfu_dc_(\w+)_total (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

test('three pages exchange 1,000 data channel messages each through the node', { timeout: 300000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'info'] });
  let browser;
  try {
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await register(server));
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'dc e2e' } });
    assert.equal(created.status, 201);
    const code = created.json.room.code;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const pages = [];
    for (const s of sessions) {
      const page = await (await browser.newContext()).newPage();
      page.on('pageerror', (e) => console.log(`# page error (${s.user.username}): ${e.message}`));
      await signIn(page, server, s);
      await joinCall(page, code);
      pages.push({ page, s });
    }
    for (const { page, s } of pages)
      await until(`${s.user.username}'s data channels to open`, () => page.evaluate(() => window.sfu.dataOpen()), 45000);
    // Each page's channels are open at the node too once every page saw its own
    // open; a short settle lets the last DCEP acks land before the burst.
    await new Promise((r) => setTimeout(r, 1000));

    const t0 = Date.now();
    await Promise.all(pages.map(({ page }, idx) => page.evaluate(async ({ n, state, idx }) => {
      for (let i = 0; i < n; i++) {
        // Every third message binary: 4 bytes of sequence number.
        if (i % 3 === 2) {
          const b = new ArrayBuffer(4);
          new DataView(b).setUint32(0, i);
          window.sfu.sendData(b);
        } else {
          window.sfu.sendData(`p${idx} #${i}`);
        }
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
      }
    }, { n: PER_PAGE, idx })));

    for (const [idx, { page, s }] of pages.entries()) {
      const others = pages.filter((_, j) => j !== idx);
      const got = await until(`${s.user.username} to receive ${2 * PER_PAGE} app messages`, async () => {
        const r = await page.evaluate(() => window.sfu.dataReceived().map((m) => ({
          channel: m.channel, from: m.from,
          data: typeof m.data === 'string' ? m.data : `#${new DataView(m.data).getUint32(0)}`,
        })));
        return r.filter((m) => m.channel === 'app').length >= 2 * PER_PAGE ? r : null;
      }, 120000);
      const app = got.filter((m) => m.channel === 'app');
      assert.equal(app.length, 2 * PER_PAGE, `${s.user.username}: each message once`);
      for (const o of others) {
        const j = pages.indexOf(o);
        const seqs = app.filter((m) => m.from === o.s.user.id).map((m) => Number(/#(\d+)$/.exec(m.data)[1]));
        assert.deepEqual(seqs, Array.from({ length: PER_PAGE }, (_, i) => i), `${s.user.username}: in order from page ${j}`);
        const texts = app.filter((m) => m.from === o.s.user.id && !m.data.startsWith('#'));
        assert.ok(texts.every((m) => m.data.startsWith(`p${j} `)), 'text carries the sender\'s own words');
      }
      assert.ok(!app.some((m) => m.from === s.user.id), 'nobody gets their own messages back');
      console.log(`# ${s.user.username}: ${app.length} app messages in order`);
    }
    console.log(`# ${3 * PER_PAGE} app messages relayed to two pages each in ${Date.now() - t0} ms`);

    // The unreliable channel on its own (beside a reliable burst, SCTP may
    // abandon every unreliable message of a congested association): each page
    // sends STATE messages at 250 a second; every page hears from both others.
    await Promise.all(pages.map(({ page }, idx) => page.evaluate(async ({ state, idx }) => {
      for (let i = 0; i < state; i++) {
        window.sfu.sendData(`s${idx} ${i}`, 'state');
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 40));
      }
    }, { state: STATE, idx })));
    for (const { page, s } of pages) {
      const others = pages.filter((o) => o.s !== s).map((o) => o.s.user.id);
      const state = await until(`${s.user.username} to receive state messages from both others`, async () => {
        const r = await page.evaluate(() => window.sfu.dataReceived().filter((m) => m.channel === 'state')
          .map((m) => ({ from: m.from, data: m.data })));
        return others.every((id) => r.some((m) => m.from === id)) ? r : null;
      }, 15000);
      await new Promise((r) => setTimeout(r, 300));
      console.log(`# ${s.user.username}: ${state.length}+ of ${2 * STATE} state messages`);
      assert.ok(state.every((m) => /^s\d \d+$/.test(m.data)), 'state messages carry their text');
      assert.ok(state.length <= 2 * STATE);
    }

    // The node counted each app message once per receiver, with the bytes
    // the senders sent; state messages as many as it handed on (at least
    // what arrived); nothing dropped.
    const textBytes = (idx) => Array.from({ length: PER_PAGE }, (_, i) => (i % 3 === 2 ? 4 : `p${idx} #${i}`.length))
      .reduce((a, b) => a + b, 0);
    const stateBytes = (idx) => Array.from({ length: STATE }, (_, i) => `s${idx} ${i}`.length).reduce((a, b) => a + b, 0);
    const m0 = await dcMetrics(server);
    console.log(`# node data channel counters: ${JSON.stringify(m0)}`);
    assert.equal(m0.relayed_reliable, 3 * PER_PAGE * 2);
    assert.equal(m0.relayed_reliable_bytes, 2 * [0, 1, 2].map(textBytes).reduce((a, b) => a + b, 0));
    let stateReceived = 0;
    for (const { page } of pages) {
      stateReceived += await page.evaluate(() => window.sfu.dataReceived().filter((m) => m.channel === 'state').length);
    }
    assert.ok(m0.relayed_unreliable >= stateReceived && m0.relayed_unreliable <= 3 * STATE * 2,
      `state messages relayed ${m0.relayed_unreliable}, received ${stateReceived}`);
    if (m0.relayed_unreliable === 3 * STATE * 2) {
      assert.equal(m0.relayed_unreliable_bytes, 2 * [0, 1, 2].map(stateBytes).reduce((a, b) => a + b, 0));
    }
    for (const k of ['dropped_size', 'dropped_rate', 'dropped_full', 'closed_not_reading']) assert.equal(m0[k], 0, k);

    // One page sends a burst over the rate limit at once: the node relays
    // about the burst allowance and counts the rest as dropped. First its
    // allowance refills from the exchange (500 a second).
    await new Promise((r) => setTimeout(r, 4500));
    await pages[1].page.evaluate((n) => { for (let i = 0; i < n; i++) window.sfu.sendData(`b${i}`); }, BURST);
    const m1 = await until('the node to account for the whole burst', async () => {
      const m = await dcMetrics(server);
      const relayed = (m.relayed_reliable - m0.relayed_reliable) / 2;
      return relayed + m.dropped_rate === BURST ? m : null;
    }, 30000);
    const burstRelayed = (m1.relayed_reliable - m0.relayed_reliable) / 2;
    console.log(`# burst of ${BURST}: ${burstRelayed} relayed, ${m1.dropped_rate} dropped over the rate`);
    assert.ok(m1.dropped_rate > 0 && burstRelayed >= 2000, JSON.stringify(m1));
    for (const { page, s } of [pages[0], pages[2]]) {
      await until(`${s.user.username} to receive the relayed part of the burst`, () => page.evaluate((n) =>
        window.sfu.dataReceived().filter((m) => m.channel === 'app' && /^b\d+$/.test(m.data)).length === n, burstRelayed), 30000);
    }
    await new Promise((r) => setTimeout(r, 1000)); // tokens for the reaction

    // The web client's reaction button: the others see it on the sender's tile.
    await pages[0].page.click('#react');
    const sender = sessions[0].user.id;
    for (const { page, s } of pages.slice(1)) {
      await until(`${s.user.username} to show the reaction`, () => page.evaluate((id) =>
        document.querySelector(`#tiles [data-stream="u${id}-camera"] .reaction`)?.textContent === '👍', sender), 15000);
    }
  } catch (e) {
    console.log(server.stderr().slice(-6000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    await browser?.close();
    const code = await server.stop();
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
