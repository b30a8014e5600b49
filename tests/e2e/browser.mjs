// What the browser suites share: Debian's Chromium with the flags every
// suite needs (see STACK_NOTES: fake devices, loopback candidates), waiting
// on a condition, recording a page's PeerConnections, signing a page in with
// a session made over REST, speech for the fake microphone, and a plain
// page's WHEP session.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/* fn() until it returns something truthy (returned), or throws naming what. */
export async function until(what, fn, timeoutMs = 15000, stepMs = 200) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/* An init script: every RTCPeerConnection the page makes lands in window.__pcs. */
export const RECORD_PCS = () => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...a) {
    const pc = new Orig(...a);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
};

/* Opens the web client signed in as session (tokens as the client keeps them). */
export async function signIn(page, server, session) {
  await page.goto(server.url + '/');
  await page.evaluate((s) => {
    sessionStorage.setItem('accessToken', s.accessToken);
    sessionStorage.setItem('refreshToken', s.refreshToken);
    sessionStorage.setItem('user', JSON.stringify(s.user));
  }, session);
  await page.reload();
}

/* Joins the room by code and its call through the client's automation hook. */
export async function joinCall(page, code) {
  await page.evaluate((c) => window.sfu.joinRoom(c), code);
  await page.evaluate(() => window.sfu.joinCall());
}

/* Debian's Chromium, headed by the new headless mode, with FLAGS (replaced
 * by flags when given) and extra arguments. */
export function launchChromium(extra = [], flags = FLAGS) {
  return chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: [...flags, ...extra] });
}

/* One page per session, each in a context of its own recording its
 * PeerConnections (and running initScripts), signed in and in the call of
 * the room with that code. onPage(page, i) runs before signing in. */
export async function openCallPages(browser, server, sessions, code, { contextOptions = {}, initScripts = [], onPage } = {}) {
  const pages = [];
  for (const [i, s] of sessions.entries()) {
    const context = await browser.newContext(contextOptions);
    await context.addInitScript(RECORD_PCS);
    for (const script of initScripts) await context.addInitScript(script);
    const page = await context.newPage();
    if (onPage) onPage(page, i);
    await signIn(page, server, s);
    await joinCall(page, code);
    pages.push(page);
  }
  return pages;
}

/* espeak-ng, for speech on the fake microphone (tools/deps.sh installs it). */
export const haveEspeak = spawnSync('espeak-ng', ['--version']).status === 0;

/* Writes `times` repeats of a pangram, spoken, as dir/speech.wav: the file
 * for --use-file-for-fake-audio-capture. */
export function speechWav(dir, times) {
  const wav = path.join(dir, 'speech.wav');
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(times);
  assert.equal(spawnSync('espeak-ng', ['-s', '190', '-w', wav, text]).status, 0, 'espeak-ng wrote the speech');
  return wav;
}

/* In a plain page: a receive-only PeerConnection that does the WHEP exchange
 * itself (window.__whep = {pc, location}); returns the session's location. */
export async function whepPlay(page, url, token) {
  return page.evaluate(async ({ url, token }) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP POST: ${res.status} ${await res.text()}`);
    const location = res.headers.get('location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.__whep = { pc, location };
    return location;
  }, { url, token });
}

/* Each active_speaker message the page's WebSocket receives, as
 * [time ms, userId], onto speakers. */
export function recordSpeakers(page, speakers) {
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    try {
      const m = JSON.parse(f.payload);
      if (m.type === 'active_speaker') speakers.push([Date.now(), m.userId]);
    } catch { /* not JSON */ }
  }));
}
