// Browser end-to-end: ICE restart mid-call. Two Chromium pages in a call; one
// restarts ICE on both its PeerConnections (the publish side offers with
// iceRestart, the subscribe side asks the node for a new offer), as the web
// client does when a path fails. Both keep the same tiles, the same
// producers (msid track ids t<producer id>) and consumers (each consumer's
// own SSRC in the same section), get new ICE credentials from the node and a
// new candidate pair, and decode again within 3 s. Then, in a network
// namespace, a page whose UDP ports stop working for good (nftables) restarts
// ICE by itself (iceConnectionState disconnected/failed) and both pages
// decode again.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN, api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, launchChromium, openCallPages, until } from './browser.mjs';

/* Per open PeerConnection: the node's ICE ufrag, the selected pair's local
 * port, ICE state, decoded video frames, and per mid of what the node sends
 * (subscribe offers): msid track id and SSRCs. */
const SNAPSHOT = async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed' || !pc.remoteDescription) continue;
    const sdp = pc.remoteDescription.sdp;
    const sections = {};
    let mid = null;
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith('m=')) mid = null;
      if (line.startsWith('a=mid:')) sections[(mid = line.slice(6))] = { msid: null, ssrcs: [] };
      else if (mid && line.startsWith('a=msid:')) sections[mid].msid = line.slice(7);
      else if (mid && /^a=ssrc:\d+ cname/.test(line)) sections[mid].ssrcs.push(Number(/^a=ssrc:(\d+)/.exec(line)[1]));
    }
    const report = await pc.getStats();
    let port = null;
    let frames = 0;
    for (const s of report.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        port = report.get(report.get(s.selectedCandidatePairId)?.localCandidateId)?.port ?? null;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    }
    out.push({
      type: pc.remoteDescription.type,
      ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)[1],
      ice: pc.iceConnectionState,
      port,
      frames,
      sections: pc.remoteDescription.type === 'offer' ? sections : null,
    });
  }
  return out;
};

const frames = (snap) => snap.reduce((a, p) => a + p.frames, 0);
const iceUp = (snap) => snap.every((p) => p.ice === 'connected' || p.ice === 'completed');

test('ICE restart mid-call keeps tiles, producers and consumers and resumes decoding within 3 s', { timeout: 150000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', 'info'] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'restart' } });
    assert.equal(created.status, 201);
    browser = await launchChromium();
    const pages = await openCallPages(browser, server, sessions, created.json.room.code, {
      onPage: (page) => page.on('pageerror', (e) => console.log(`# page error: ${e.message}`)),
    });
    for (const page of pages) {
      await until('both PeerConnections up and video decoded', async () => {
        const snap = await page.evaluate(SNAPSHOT);
        return snap.length === 2 && iceUp(snap) && frames(snap) > 30;
      }, 60000);
    }
    const before = await Promise.all(pages.map((p) => p.evaluate(SNAPSHOT)));
    const tilesBefore = await Promise.all(pages.map((p) => p.evaluate(() => window.sfu.tiles().sort())));
    const statsBefore = await Promise.all(pages.map((p) => p.evaluate(() => window.sfu.stats())));

    // Page 0 restarts ICE on its publish and subscribe PeerConnections.
    const t0 = Date.now();
    await pages[0].evaluate(() => window.sfu.restartIce());
    // The browser keeps the old pair until a new one is nominated.
    const portsBefore = before[0].map((p) => p.port).sort();
    const restarted = await until('new ICE credentials from the node, ICE up again on a new pair', async () => {
      const snap = await pages[0].evaluate(SNAPSHOT);
      const renewed = snap.every((p) => !before[0].some((b) => b.ufrag === p.ufrag));
      const moved = JSON.stringify(snap.map((p) => p.port).sort()) !== JSON.stringify(portsBefore);
      return snap.length === 2 && renewed && moved && iceUp(snap) ? snap : null;
    }, 10000);
    const mark = await Promise.all(pages.map((p) => p.evaluate(SNAPSHOT)));
    // Resumed: a frame decoded after the new pair came up, on both pages...
    await Promise.all([0, 1].map((i) => until(`page ${i} to decode after the restart`, async () =>
      frames(await pages[i].evaluate(SNAPSHOT)) > frames(mark[i]), 10000)));
    const resumedMs = Date.now() - t0;
    console.log(`# restart to decoding on both pages: ${resumedMs} ms`);
    assert.ok(resumedMs <= 3000, `decoding resumed ${resumedMs} ms after the restart began`);
    // ...and it goes on.
    for (let i = 0; i < 2; i++) {
      await until(`page ${i} to keep decoding after the restart`, async () =>
        frames(await pages[i].evaluate(SNAPSHOT)) > frames(mark[i]) + 5, 10000);
    }

    // A real restart: new candidates, so a new selected pair on page 0's side.
    const portsAfter = restarted.map((p) => p.port).sort();
    assert.notDeepEqual(portsAfter, portsBefore, 'the selected pairs use the new candidates');

    const after = await Promise.all(pages.map((p) => p.evaluate(SNAPSHOT)));
    for (let i = 0; i < 2; i++) {
      // The same subscribe sections: producer (msid t<id>) and consumer SSRCs.
      const subBefore = before[i].find((p) => p.type === 'offer').sections;
      const subAfter = after[i].find((p) => p.type === 'offer').sections;
      assert.deepEqual(subAfter, subBefore, `page ${i}: the node sends the same producers under the same consumers`);
      assert.deepEqual(await pages[i].evaluate(() => window.sfu.tiles().sort()), tilesBefore[i], `page ${i}: same tiles`);
      const s = await pages[i].evaluate(() => window.sfu.stats());
      for (const [uid, u] of Object.entries(statsBefore[i])) {
        assert.deepEqual(s[uid].ssrcs.sort(), u.ssrcs.sort(), `page ${i}: inbound SSRCs from ${uid} unchanged`);
      }
    }
    assert.ok(Object.values(after[1].find((p) => p.type === 'offer').sections).some((x) => x.msid), 'page 1 receives page 0');
    const status = await pages[0].evaluate(() => window.sfu.status());
    assert.equal(status, 'In call');
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

const canImpair = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;

test('a page whose UDP path dies restarts ICE by itself and both pages decode again', {
  timeout: 240000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const run = await new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/netns-call.mjs'),
      '--cut-path', '1', '--seconds', '5'], { env: { ...process.env, SFU_BIN }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 230000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`netns-call --cut-path exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(line));
    });
  });
  console.log(`# path cut: ${JSON.stringify(run.cut)}`);
  const { cut } = run;
  assert.ok(cut.resumedMs !== null && cut.resumedMs <= 20000, `decoding resumed ${cut.resumedMs} ms after the path died`);
  assert.equal(cut.after.ufrags.length, 2);
  for (const u of cut.after.ufrags) assert.ok(!cut.before.ufrags.includes(u), 'new ICE credentials from the node on both PeerConnections');
  for (const p of cut.after.ports) assert.ok(!cut.before.ports.includes(p), 'the selected pairs use new local ports');
  assert.equal(cut.status, 'In call');
  for (let i = 0; i < 2; i++) assert.ok(run.subscribers[i].fps > 5, `page ${i} decodes after the restart (${run.subscribers[i].fps.toFixed(1)} fps)`);
});
