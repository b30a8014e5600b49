// WHIP ingest end to end: GStreamer's webrtcbin (tools/whip_publish.py, a
// test pattern in VP8 and a tone in opus) publishes into a room with an
// ingest key; a Chromium participant of the call decodes its video and audio;
// the encoder stops (DELETE on its session) and the ingest leaves the
// Chromium page's view and a WebSocket member's.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { api, createRoom, register, REPO_ROOT, startServer } from '../integration/lib.mjs';
import { connect } from '../integration/ws-lib.mjs';
import { CHROMIUM, FLAGS, joinCall, signIn, until, whepPlay } from './browser.mjs';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-gi
const PUBLISHER = path.join(REPO_ROOT, 'tools', 'whip_publish.py');

const hasWebrtcbin = () =>
  spawnSync(PYTHON, ['-c', "import gi; gi.require_version('Gst','1.0'); gi.require_version('Nice','0.1'); " +
    "from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('webrtcbin')"]).status === 0;

/* The publisher as a child: its stdout lines, and a wait for one of them. */
function startPublisher(url, token) {
  const child = spawn(PYTHON, [PUBLISHER, url, token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let err = '';
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on('data', (d) => {
    if (err.length < 65536) err += d;
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    line: (re, what, ms = 20000) => until(`the publisher to print ${what} (so far: ${lines.join(' | ')})`, () => {
      const bad = lines.find((l) => l.startsWith('error:'));
      if (bad) throw new Error(`publisher: ${bad}\n${err.slice(-2000)}`);
      return lines.find((l) => re.test(l));
    }, ms),
  };
}

test('GStreamer publishes over WHIP; a Chromium participant decodes it; DELETE removes it', {
  timeout: 150000,
  skip: hasWebrtcbin() ? false : 'needs GStreamer webrtcbin with python3-gi (tools/deps.sh installs them)',
}, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'info'] });
  let browser;
  let pub;
  let ws;
  try {
    const host = await register(server);
    const viewer = await register(server);
    const room = await createRoom(server, host.accessToken, { name: 'whip e2e' });
    assert.equal((await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: viewer.accessToken })).status, 200);
    const key = await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: 'test pattern' } });
    assert.equal(key.status, 201, key.text);

    // The host watches the call over the WebSocket; the viewer is in it with Chromium.
    ws = await connect(server, host.accessToken);
    await ws.request({ type: 'call_join', roomId: room.id });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
    await signIn(page, server, viewer);
    await joinCall(page, room.code);

    const t0 = Date.now();
    pub = startPublisher(`${server.url}/whip/${room.code}`, key.json.key);
    const created = await pub.line(/^created /, 'created');
    const location = new URL(created.slice('created '.length));
    assert.match(location.pathname, new RegExp(`^/whip/${room.code}/[0-9a-f]{32}$`));
    await pub.line(/^connected$/, 'connected');
    const joined = await ws.next((m) => m.type === 'participant_joined' && m.participant.ingest, 10000);
    assert.equal(joined.participant.username, 'test pattern');
    const ingestId = String(joined.participant.userId);

    // The viewer decodes the test pattern and hears the tone, and keeps doing so.
    const first = await until('the viewer to decode the ingest\'s video and receive its audio', async () => {
      const s = await page.evaluate(() => window.sfu.stats());
      return s[ingestId] && s[ingestId].framesDecoded > 0 && s[ingestId].audioPackets > 0 ? s[ingestId] : null;
    }, 45000);
    console.log(`# WHIP POST to first decoded frame in Chromium: ${Date.now() - t0} ms`);
    await until('the viewer\'s decoded frames to keep increasing', async () => {
      const s = await page.evaluate(() => window.sfu.stats());
      return s[ingestId].framesDecoded >= first.framesDecoded + 30 && s[ingestId].audioPackets > first.audioPackets;
    }, 20000);
    assert.ok((await page.evaluate(() => window.sfu.tiles())).includes(`u${ingestId}-camera`));

    // The encoder stops: it DELETEs its session and the ingest leaves everyone's view.
    pub.child.kill('SIGTERM');
    await pub.line(/^deleted 200$/, 'deleted 200');
    assert.equal(await pub.exited, 0, pub.stderr().slice(-2000));
    const left = await ws.next((m) => m.type === 'participant_left' && String(m.userId) === ingestId, 10000);
    assert.equal(left.reason, 'left');
    await until('the viewer to drop the ingest\'s tile', async () =>
      !(await page.evaluate(() => window.sfu.tiles())).some((t) => t.startsWith(`u${ingestId}-`)), 15000);
    const gone = await api(server, 'DELETE', location.pathname);
    assert.equal(gone.status, 404, 'the session resource is gone');
  } catch (e) {
    if (pub) console.log(`# publisher: ${pub.lines.join(' | ')}\n${pub.stderr().slice(-3000).replace(/^/gm, '# gst: ')}`);
    console.log(server.stderr().slice(-6000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    if (pub && pub.child.exitCode === null) pub.child.kill('SIGKILL');
    ws?.close();
    await browser?.close();
    const code = await server.stop();
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});


const whepStats = (page) => page.evaluate(async () => {
  const out = { framesDecoded: 0, audioPackets: 0, width: 0 };
  for (const s of (await window.__whep.pc.getStats()).values()) {
    if (s.type !== 'inbound-rtp') continue;
    if (s.kind === 'video') {
      out.framesDecoded += s.framesDecoded || 0;
      out.width = s.frameWidth || out.width;
    }
    if (s.kind === 'audio') out.audioPackets += s.packetsReceived || 0;
  }
  return out;
});

test('a plain Chromium page plays a room participant over WHEP, chosen or by default', { timeout: 150000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'info'] });
  let browser;
  let ws;
  try {
    const host = await register(server);
    const viewer = await register(server);
    const room = await createRoom(server, host.accessToken, { name: 'whep e2e' });
    assert.equal((await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: viewer.accessToken })).status, 200);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    // The host is in the call with the fake camera and microphone.
    const hostPage = await (await browser.newContext()).newPage();
    await signIn(hostPage, server, host);
    await joinCall(hostPage, room.code);
    ws = await connect(server, viewer.accessToken);
    await until('the host to publish', async () =>
      (await hostPage.evaluate(() => window.sfu.publishStats())).ssrcs.length >= 2, 30000);

    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
    await page.goto(`${server.url}/api/health`);
    const t0 = Date.now();
    const chosen = await whepPlay(page, `${server.url}/whep/${room.code}?participant=${host.user.id}`, viewer.accessToken);
    assert.match(chosen, new RegExp(`^/whep/${room.code}/[0-9a-f]{32}$`));
    const first = await until('the WHEP page to decode the host\'s video and receive audio', async () => {
      const s = await whepStats(page);
      return s.framesDecoded > 0 && s.audioPackets > 0 ? s : null;
    }, 45000);
    console.log(`# WHEP POST to first decoded frame: ${Date.now() - t0} ms (${first.width} px wide)`);
    await until('the WHEP page\'s decoded frames to keep increasing', async () =>
      (await whepStats(page)).framesDecoded >= first.framesDecoded + 30, 20000);
    // A viewer is not a participant: nobody in the call was told of it.
    assert.ok(!ws.received.some((m) => m.type === 'participant_joined'), 'a WHEP viewer joined the call');

    const del = await api(server, 'DELETE', chosen);
    assert.equal(del.status, 200, del.text);
    assert.equal((await api(server, 'DELETE', chosen)).status, 404);
    await page.evaluate(() => window.__whep.pc.close());

    // Without a choice it shows the active speaker, here the one publisher.
    await whepPlay(page, `${server.url}/whep/${room.code}`, viewer.accessToken);
    await until('the default WHEP session to decode video', async () => (await whepStats(page)).framesDecoded > 10, 45000);

  } catch (e) {
    console.log(server.stderr().slice(-6000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    ws?.close();
    await browser?.close();
    const code = await server.stop();
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
