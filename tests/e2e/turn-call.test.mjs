// Browser end-to-end through a real TURN server: Debian's coturn on its own
// loopback ports with use-auth-secret, the node started with --turn-secret
// and --ice-servers naming it, and two Chromium pages whose PeerConnections
// are forced to iceTransportPolicy "relay". Media must flow through coturn's
// relay (the selected pair's local candidate is a relay candidate) with the
// per-user credentials the node handed out.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { HOST, api, freeUdpPort, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, joinCall, signIn, until } from './browser.mjs';

const TURNSERVER = process.env.TURNSERVER || '/usr/bin/turnserver';

/* Every PeerConnection the page makes uses only relay candidates; the
 * configurations it was given land in window.__pcConfigs. */
const FORCE_RELAY = () => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.__pcConfigs = [];
  window.RTCPeerConnection = function (config = {}) {
    window.__pcConfigs.push(JSON.parse(JSON.stringify(config)));
    const pc = new Orig({ ...config, iceTransportPolicy: 'relay' });
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
};

/* Per PeerConnection: the selected pair's candidate types and decoded frames. */
const PATHS = async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    let pair = null;
    let frames = 0;
    for (const s of report.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    }
    out.push({
      state: pc.connectionState,
      local: pair ? report.get(pair.localCandidateId)?.candidateType : null,
      remote: pair ? report.get(pair.remoteCandidateId)?.candidateType : null,
      frames,
    });
  }
  return out;
};

/* coturn on 127.0.0.1 only: a listening port, a small relay range, the
 * TURN REST secret, no TLS, no CLI, loopback peers allowed (the node). */
async function startCoturn(secret, dir) {
  const port = await freeUdpPort();
  const relayMin = await freeUdpPort();
  const log = path.join(dir, 'turn.log');
  const proc = spawn(TURNSERVER, [
    '-n', '--listening-ip', HOST, '--relay-ip', HOST, '--listening-port', String(port),
    '--min-port', String(relayMin), '--max-port', String(relayMin + 50),
    '--use-auth-secret', '--static-auth-secret', secret, '--realm', 'sfu.test',
    '--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-cli', '--no-tcp-relay',
    '--userdb', path.join(dir, 'turndb'), '--pidfile', path.join(dir, 'turn.pid'),
    '--log-file', log, '--simple-log', '--verbose',
  ], { stdio: 'ignore' });
  const exited = new Promise((r) => proc.once('exit', r));
  await until('coturn to listen', () => fs.existsSync(log) && /listener opened on|Total UDP servers/i.test(fs.readFileSync(log, 'utf8')), 10000);
  return {
    url: `turn:${HOST}:${port}?transport=udp`,
    log: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''),
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

test('two browsers call through coturn with relay-only ICE and --turn-secret credentials', {
  timeout: 150000,
  skip: fs.existsSync(TURNSERVER) ? false : `${TURNSERVER} is missing: tools/deps.sh installs coturn`,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-turn-'));
  const secret = crypto.randomBytes(18).toString('base64');
  const turn = await startCoturn(secret, dir);
  const server = await startServer({ args: ['--ice-servers', turn.url, '--turn-secret', secret, '--log-level', 'info'] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'relay call' } });
    assert.equal(created.status, 201);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: FLAGS });
    const pages = [];
    for (const s of sessions) {
      const context = await browser.newContext();
      await context.addInitScript(FORCE_RELAY);
      const page = await context.newPage();
      await signIn(page, server, s);
      await joinCall(page, created.json.room.code);
      pages.push({ page, session: s });
    }
    // The credentials each page was given: "<expiry>:<user id>" and
    // base64(HMAC-SHA1(secret, username)), valid for about a day.
    for (const { page, session } of pages) {
      const configs = await until('PeerConnections', async () => {
        const c = await page.evaluate(() => window.__pcConfigs);
        return c.length >= 1 ? c : null;
      });
      for (const c of configs) {
        const ice = c.iceServers.find((s) => s.urls.includes(turn.url));
        assert.ok(ice, `the page got the TURN URL: ${JSON.stringify(c)}`);
        const m = /^(\d+):(\d+)$/.exec(ice.username);
        assert.ok(m, `TURN REST username: ${ice.username}`);
        assert.equal(Number(m[2]), session.user.id);
        const ttl = Number(m[1]) - Date.now() / 1000;
        assert.ok(ttl > 86000 && ttl <= 86400 + 5, `expiry ${ttl} s ahead`);
        assert.equal(ice.credential, crypto.createHmac('sha1', secret).update(ice.username).digest('base64'));
      }
    }
    for (const { page, session } of pages) {
      const first = await until(`${session.user.username} to decode video over the relay`, async () => {
        const p = await page.evaluate(PATHS);
        return p.length >= 2 && p.every((x) => x.state === 'connected') && p.some((x) => x.frames > 10) ? p : null;
      }, 60000);
      for (const x of first) assert.equal(x.local, 'relay', `selected pair goes through the relay: ${JSON.stringify(first)}`);
      const frames = first.reduce((a, x) => a + x.frames, 0);
      await until(`${session.user.username}'s decoded frames to keep rising`, async () => {
        const p = await page.evaluate(PATHS);
        return p.every((x) => x.local === 'relay') && p.reduce((a, x) => a + x.frames, 0) > frames + 30;
      }, 20000);
    }
    // coturn saw the node's users allocate with those credentials.
    const log = turn.log();
    for (const s of sessions) assert.match(log, new RegExp(`user <\\d+:${s.user.id}>: incoming packet ALLOCATE processed, success`), 'coturn logged the REST username');
  } catch (e) {
    console.log(server.stderr().slice(-4000).replace(/^/gm, '# node: '));
    console.log(turn.log().slice(-4000).replace(/^/gm, '# coturn: '));
    throw e;
  } finally {
    await browser?.close();
    const code = await server.stop();
    await turn.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `node exit code ${code}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
