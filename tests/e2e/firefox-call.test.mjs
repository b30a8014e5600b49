// Browser end-to-end: Firefox ESR and Chromium in one call. Firefox's
// max-bundle publish offer puts its video section at port 0 with
// a=bundle-only; the node must take it, so each browser decodes the other's
// audio and video. Runs in a network namespace with a veth pair (Firefox
// gathers no loopback candidates). Needs root (unshare -n, ip) and Debian's
// firefox-esr (tools/deps.sh) with puppeteer-core (WebDriver BiDi).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN } from '../integration/lib.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const canNetns = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'ip', 'link', 'show', 'lo']).status === 0;
const skip = !fs.existsSync(FIREFOX) ? `${FIREFOX} is missing: tools/deps.sh installs firefox-esr`
  : !canNetns ? 'needs root with unshare and ip' : false;

function run() {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/firefox-call.mjs')], {
      env: { ...process.env, SFU_BIN }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 230000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`firefox-call exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(line));
    });
  });
}

test('Firefox and Chromium in one call decode each other\'s audio and video', { timeout: 240000, skip }, async () => {
  const r = await run();
  console.log(`# firefox: ${JSON.stringify(r.firefox)}`);
  console.log(`# chromium: ${JSON.stringify(r.chromium)}`);
  assert.match(r.firefox.userAgent, /Firefox\//);
  // The case at stake: Firefox's video section is bundle-only at port 0.
  assert.match(r.firefoxOffer, /\r\nm=video 0 [^\r]*\r\n(?:a=[^\r]*\r\n|c=[^\r]*\r\n)*?a=bundle-only\r\n/, 'Firefox offered a bundle-only video section');
  for (const [who, s] of [['Firefox', r.firefox], ['Chromium', r.chromium]]) {
    assert.ok(s.first.framesDecoded > 10 && s.first.audioPackets > 20, `${who} decodes the other's video and audio: ${JSON.stringify(s.first)}`);
    assert.ok(s.later.framesDecoded > s.first.framesDecoded, `${who}'s decoded frames keep rising`);
    assert.ok(s.later.audioPackets > s.first.audioPackets, `${who}'s audio keeps arriving`);
  }
  assert.ok(r.participants.includes(`u${r.chromium.from}-camera`), `Chromium shows Firefox's tile: ${r.participants}`);
});
