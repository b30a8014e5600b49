// Browser end-to-end: a WHEP session without a chosen participant follows
// the room's active speaker. Two Chromium participants publish camera and
// microphone through the web client, each camera at its own shape (16:9 and
// square, kept by every simulcast layer), and their microphones play speech
// made with espeak-ng; a plain page plays the room over WHEP. One talks while
// the other's microphone is off, then they swap: each time the WHEP page
// must decode the talker's video (told by the frame's shape in its own
// getStats) within a bounded time, and keep decoding it. Then the speaker
// leaves the call and the WHEP page shows the one left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { api, createRoom, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, RECORD_PCS, haveEspeak, joinCall, launchChromium, recordSpeakers, signIn, speechWav, until, whepPlay } from './browser.mjs';

const SIZES = [[640, 360], [480, 480]]; // participant i's camera: wide, square
const FOLLOW_MS = 8000; // from the talker's microphone on to its video decoded on the WHEP page

/* An init script: the camera at one size (the fake device crops to it). */
const CAMERA_SIZE = ([width, height]) => {
  const md = navigator.mediaDevices;
  const orig = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => orig(c && c.video
    ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: { exact: width }, height: { exact: height } } }
    : c);
};

// The page's microphone on or off (a disabled track sends silence).
const setMic = (on) => {
  for (const pc of window.__pcs) {
    for (const s of pc.getSenders()) if (s.track && s.track.kind === 'audio') s.track.enabled = on;
  }
};


/* What the WHEP page decodes now: frames so far, and the last frame's shape. */
const whepVideo = (page) => page.evaluate(async () => {
  for (const s of (await window.__whep.pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      return { framesDecoded: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0 };
    }
  }
  return { framesDecoded: 0, width: 0, height: 0 };
});

/* Which participant's camera a frame came from, by its shape (-1: neither). */
function whose({ width, height }) {
  if (!width || !height) return -1;
  const ratio = width / height;
  return SIZES.findIndex(([w, h]) => Math.abs(ratio - w / h) < 0.05);
}

test('a WHEP session follows the active speaker both ways, and the one left when it leaves', {
  timeout: 240000,
  skip: haveEspeak ? false : 'needs espeak-ng (tools/deps.sh installs it)',
}, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-whep-speaker-'));
  const wav = speechWav(dir, 8);
  const server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'info'] });
  let browser;
  try {
    const sessions = [await register(server), await register(server)];
    const viewer = await register(server);
    const room = await createRoom(server, sessions[0].accessToken, { name: 'whep speaker' });
    assert.equal((await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: viewer.accessToken })).status, 200);
    browser = await launchChromium([`--use-file-for-fake-audio-capture=${wav}`]);
    const speakers = []; // [ms, userId] as participant 0's WebSocket heard them
    const pages = [];
    for (const [i, s] of sessions.entries()) {
      const context = await browser.newContext();
      await context.addInitScript(RECORD_PCS);
      await context.addInitScript(CAMERA_SIZE, SIZES[i]);
      const page = await context.newPage();
      page.on('pageerror', (e) => console.log(`# page error (${i}): ${e.message}`));
      if (i === 0) recordSpeakers(page, speakers);
      await signIn(page, server, s);
      await joinCall(page, room.code);
      pages.push(page);
    }
    const ids = sessions.map((s) => s.user.id);
    // Both microphones off once publishing; each decodes the other's camera.
    for (const p of pages) {
      await until('the page to publish audio and video', () => p.evaluate(() =>
        window.__pcs.some((pc) => pc.getSenders().filter((s) => s.track).length >= 2)), 30000);
      await p.evaluate(setMic, false);
    }
    for (const [i, p] of pages.entries()) {
      await until(`page ${i} to decode the other's video`, async () => {
        const st = (await p.evaluate(() => window.sfu.stats()))[ids[1 - i]];
        return st && st.framesDecoded > 10;
      }, 60000);
    }

    const whep = await (await browser.newContext()).newPage();
    whep.on('pageerror', (e) => console.log(`# page error (whep): ${e.message}`));
    await whep.goto(`${server.url}/api/health`);
    await whepPlay(whep, `${server.url}/whep/${room.code}`, viewer.accessToken);
    const first = await until('the WHEP page to decode a participant\'s video', async () => {
      const v = await whepVideo(whep);
      return v.framesDecoded > 10 && whose(v) >= 0 ? v : null;
    }, 60000);
    const shown = whose(first);
    console.log(`# WHEP shows participant ${shown} first (${first.width}x${first.height})`);

    // The one not shown talks first, so each turn is a switch.
    for (const [talker, quiet] of [[1 - shown, shown], [shown, 1 - shown]]) {
      await pages[quiet].evaluate(setMic, false);
      const t = Date.now();
      await pages[talker].evaluate(setMic, true);
      const seen = await until(`the WHEP page to decode participant ${talker}'s video`, async () => {
        const v = await whepVideo(whep);
        return whose(v) === talker ? { ...v, at: Date.now() } : null;
      }, FOLLOW_MS + 30000, 100);
      const active = speakers.find(([at, u]) => u === ids[talker] && at >= t);
      console.log(`# participant ${talker} talks: active speaker after ${active ? active[0] - t : '-'} ms, ` +
        `its video on the WHEP page after ${seen.at - t} ms (${seen.width}x${seen.height})`);
      assert.ok(seen.at - t <= FOLLOW_MS, `the WHEP page showed participant ${talker} ${seen.at - t} ms after it started talking`);
      // It keeps decoding the talker, not flapping back.
      await until(`the WHEP page to keep decoding participant ${talker}`, async () => {
        const v = await whepVideo(whep);
        assert.equal(whose(v), talker, `the WHEP page went back to ${v.width}x${v.height}`);
        return v.framesDecoded >= seen.framesDecoded + 30;
      }, 20000);
    }
    // The speaker leaves the call: the WHEP page shows the one left, on the
    // same stream (its numbering carries on, or the browser would drop it).
    const last = shown; // the second talker, the speaker now
    const t = Date.now();
    await pages[last].evaluate(() => window.sfu.leaveCall());
    const other = 1 - last;
    const seen = await until(`the WHEP page to decode participant ${other}'s video after ${last} left`, async () => {
      const v = await whepVideo(whep);
      return whose(v) === other ? { ...v, at: Date.now() } : null;
    }, FOLLOW_MS + 30000, 100);
    console.log(`# participant ${last} left: participant ${other}'s video on the WHEP page after ${seen.at - t} ms`);
    assert.ok(seen.at - t <= FOLLOW_MS, `the WHEP page showed participant ${other} ${seen.at - t} ms after the speaker left`);
    await until(`the WHEP page to keep decoding participant ${other}`, async () =>
      (await whepVideo(whep)).framesDecoded >= seen.framesDecoded + 30, 20000);
  } catch (e) {
    console.log(server.stderr().slice(-6000).replace(/^/gm, '# node: '));
    throw e;
  } finally {
    await browser?.close();
    const code = await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
    assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
  }
});
