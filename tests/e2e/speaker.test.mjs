// Browser end-to-end: active speaker. Chromium's microphone plays speech made
// at test time with espeak-ng; one page talks while the other's microphone is
// off, then they swap. The node's active_speaker (read off the page's own
// WebSocket) must follow each within 2 s.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';

import { api, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, RECORD_PCS, haveEspeak, joinCall, recordSpeakers, signIn, speechWav, until } from './browser.mjs';


// The page's microphone on or off (a disabled track sends silence).
const setMic = (on) => {
  for (const pc of window.__pcs) {
    for (const s of pc.getSenders()) if (s.track && s.track.kind === 'audio') s.track.enabled = on;
  }
};

const audioFlowing = async () => {
  let packets = 0;
  for (const pc of window.__pcs || []) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived || 0;
    }
  }
  return packets > 50;
};

test('active speaker follows who talks, within 2 s, both ways', {
  timeout: 120000,
  skip: haveEspeak ? false : 'needs espeak-ng (tools/deps.sh installs it)',
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-speaker-'));
  const wav = speechWav(dir, 6);
  const www = process.env.E2E_WWW ? ['--www', process.env.E2E_WWW] : [];
  const server = await startServer({ args: ['--log-level', 'warn', ...www] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const created = await api(server, 'POST', '/api/rooms', { token: sessions[0].accessToken, body: { name: 'speakers' } });
    const code = created.json.room.code;
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'],
      args: [...FLAGS, `--use-file-for-fake-audio-capture=${wav}`],
    });
    const speakers = []; // [ms, userId] as page 0 heard them
    const pages = [];
    for (const [i, s] of sessions.entries()) {
      const context = await browser.newContext();
      await context.addInitScript(RECORD_PCS);
      const page = await context.newPage();
      if (i === 0) recordSpeakers(page, speakers);
      await signIn(page, server, s);
      await joinCall(page, code);
      pages.push(page);
    }
    const ids = sessions.map((s) => s.user.id);
    // Both microphones off once the pages publish (the client enables its
    // tracks when it joins); both hear each other's silent audio.
    for (const p of pages) {
      await until('the page to publish audio', () => p.evaluate(() =>
        window.__pcs.some((pc) => pc.getSenders().some((s) => s.track && s.track.kind === 'audio'))), 30000);
      await p.evaluate(setMic, false);
    }
    for (const p of pages) await until('audio to flow', () => p.evaluate(audioFlowing), 30000);
    await new Promise((r) => setTimeout(r, 1500));
    // Whoever spoke while joining may be the speaker already: the other one
    // talks first.
    const current = speakers.length ? speakers[speakers.length - 1][1] : null;
    const first = current === ids[0] ? 1 : 0;
    const second = 1 - first;
    for (const [talker, quiet] of [[first, second], [second, first]]) {
      await pages[quiet].evaluate(setMic, false);
      const t = Date.now();
      await pages[talker].evaluate(setMic, true);
      await until(`page ${talker} to be the active speaker`,
        () => speakers.some(([at, u]) => u === ids[talker] && at >= t), 6000);
      const took = speakers.find(([at, u]) => u === ids[talker] && at >= t)[0] - t;
      console.log(`# page ${talker} active ${took} ms after it started talking`);
      assert.ok(took <= 2000, `page ${talker} became active ${took} ms after it started talking`);
      // The web client highlights the speaker's tile on the other page.
      await until(`page ${quiet} to highlight the speaker's tile`, () => pages[quiet].evaluate((uid) =>
        Boolean(document.querySelector(`[data-stream="u${uid}-camera"].speaking`)), ids[talker]), 3000);
      // No flapping back to the silent one.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(speakers[speakers.length - 1][1], ids[talker]);
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
