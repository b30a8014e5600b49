// Browser end-to-end: Debian's Chromium (fake camera and microphone) joins
// calls on a real node over loopback. Three participants see and hear each
// other, a fourth joins mid-call, a closed tab leaves, the host ends the call.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, joinCall, signIn, until } from './browser.mjs';

/* CPU seconds (user + system) and RSS in KiB of a process, from /proc. */
function usage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuS: ticks / 100, rssKiB: rss };
}

async function openPage(browser, server, session) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`# page error (${session.user.username}): ${e.message}`));
  await signIn(page, server, session);
  return { context, page, session };
}

/* Media decoded from every other participant, and still flowing. */
async function receivesFrom(p, others, timeoutMs) {
  const ids = others.map((o) => String(o.session.user.id));
  const first = await until(`${p.session.user.username} to decode video and audio from ${ids}`, async () => {
    const s = await p.page.evaluate(() => window.sfu.stats());
    return ids.every((id) => s[id] && s[id].framesDecoded > 0 && s[id].audioPackets > 0) ? s : null;
  }, timeoutMs);
  await until(`${p.session.user.username}'s decoded frames to keep increasing`, async () => {
    const s = await p.page.evaluate(() => window.sfu.stats());
    return ids.every((id) => s[id].framesDecoded > first[id].framesDecoded);
  }, 15000);
}

test('three browsers call, a fourth joins mid-call, a tab closes, the host ends the call', { timeout: 170000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'info'] });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-e2e-'));
  let browser;
  try {
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await register(server));
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'e2e call' } });
    assert.equal(created.status, 201);
    const code = created.json.room.code;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const peers = [];
    for (let i = 0; i < 3; i++) {
      const p = await openPage(browser, server, sessions[i]);
      const t0 = Date.now();
      await joinCall(p.page, code);
      p.joinedAt = t0;
      peers.push(p);
    }
    for (const p of peers) await receivesFrom(p, peers.filter((o) => o !== p), 60000);
    console.log(`# three-party call up; first page joined ${Date.now() - peers[0].joinedAt} ms ago`);
    // RTCP is terminated at the node: each publisher gets its receiver reports
    // (audio and video), which Chromium shows as remote-inbound-rtp.
    for (const p of peers) {
      await until(`${p.session.user.username} to get the node's receiver reports`, async () =>
        (await p.page.evaluate(() => window.sfu.publishStats())).remoteInbound >= 2, 10000);
    }
    // Subscribers receive consumer SSRCs, never a publisher's, and the node's
    // own sender reports for each stream (remote-outbound-rtp).
    const published = new Set();
    for (const p of peers) {
      for (const ssrc of (await p.page.evaluate(() => window.sfu.publishStats())).ssrcs) published.add(ssrc);
    }
    assert.ok(published.size >= 6, `publishers' SSRCs: ${[...published]}`);
    for (const p of peers) {
      const s = await until(`${p.session.user.username} to get the node's sender reports`, async () => {
        const st = await p.page.evaluate(() => window.sfu.stats());
        return Object.values(st).every((u) => u.remoteOutbound >= 2) && Object.keys(st).length === 2 ? st : null;
      }, 15000);
      for (const [uid, u] of Object.entries(s)) {
        assert.ok(u.ssrcs.length >= 2, `${p.session.user.username} inbound SSRCs from ${uid}: ${u.ssrcs}`);
        for (const ssrc of u.ssrcs) assert.ok(!published.has(ssrc), `inbound SSRC ${ssrc} is a publisher's`);
      }
    }
    console.log('# inbound streams carry consumer SSRCs and the node\'s sender reports');
    const u0 = usage(server.proc.pid);
    await new Promise((r) => setTimeout(r, 5000));
    const u1 = usage(server.proc.pid);
    console.log(`# node during the three-party call: ${(((u1.cpuS - u0.cpuS) / 5) * 100).toFixed(1)}% CPU, RSS ${u1.rssKiB} KiB`);

    // A fourth participant joins mid-call: sees all three, and all three see it.
    const late = await openPage(browser, server, sessions[3]);
    const t4 = Date.now();
    await joinCall(late.page, code);
    await receivesFrom(late, peers, 45000);
    console.log(`# join to media from three others: ${Date.now() - t4} ms`);
    for (const p of peers) await receivesFrom(p, [late], 45000);
    console.log('# all three receive from the fourth');

    // One closes its tab: the others drop its tiles.
    const gone = peers.pop();
    const goneId = gone.session.user.id;
    await gone.context.close();
    for (const p of [...peers, late]) {
      await until(`${p.session.user.username} to drop the closed tab's tiles`, async () => {
        const tiles = await p.page.evaluate(() => window.sfu.tiles());
        return !tiles.some((t) => t.startsWith(`u${goneId}-`));
      }, 30000);
    }

    console.log('# closed tab dropped everywhere');
    // The host ends the call for everyone.
    await peers[0].page.evaluate(() => window.sfu.endCall());
    for (const p of [peers[1], late]) {
      await until(`${p.session.user.username} to be told the call ended`, async () =>
        (await p.page.evaluate(() => window.sfu.status())).includes('ended'), 15000);
      assert.deepEqual(await p.page.evaluate(() => window.sfu.tiles()), []);
    }
    const metrics = await (await fetch(server.url + '/metrics')).text();
    const fwd = /sfu_rtp_forwarded_total (\d+)/.exec(metrics);
    if (fwd) console.log(`# packets forwarded: ${fwd[1]}`);
  } catch (e) {
    console.log(server.stderr().slice(-6000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    await browser?.close();
    const code = await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    // Built with SANITIZE=1, any sanitizer report is a failure.
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
