// The web client driven as people use it: Debian's Chromium (fake camera and
// microphone) against a real node. Three users: a host, a guest who arrives
// by invite link, and a listener without a camera. Each top-level test is one
// behaviour and builds on the previous ones (one node, one browser).
// Screenshots for review go to build/screenshots/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test, { after } from 'node:test';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

import { REPO_ROOT, api, newCredentials, postMessage, register, startServer } from '../integration/lib.mjs';
import { CHROMIUM, FLAGS, until } from './browser.mjs';

const SHOTS = path.join(REPO_ROOT, 'build', 'screenshots');
const UI_FLAGS = [...FLAGS, '--auto-select-desktop-capture-source=Entire screen'];

const s = { server: null, browser: null, a: null, b: null, c: null, code: null, roomId: null };

async function newPage(name, init) {
  const context = await s.browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.server.url });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => console.log(`# page error (${name}): ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`# console (${name}): ${m.text()}`));
  return { name, context, page };
}

const shot = (p, file, opts = {}) => p.page.screenshot({ path: path.join(SHOTS, file), ...opts });
const text = (p, sel) => p.page.locator(sel).first().innerText();
const attr = (p, sel, a) => p.page.locator(sel).first().getAttribute(a);
const count = (p, sel) => p.page.locator(sel).count();
const sfu = (p, fn, arg) => p.page.evaluate(fn, arg);

async function registerInUi(p, creds) {
  await p.page.click('#tab-register');
  await p.page.fill('#reg-email', creds.email);
  await p.page.fill('#reg-username', creds.username);
  await p.page.fill('#reg-password', creds.password);
  await p.page.click('#register-submit');
  await p.page.locator('#who').filter({ hasText: creds.username }).waitFor();
  p.user = (await p.page.evaluate(() => JSON.parse(localStorage.getItem('sfu.session')))).user;
  p.creds = creds;
}

// Video decoded by p from every user in others (getStats framesDecoded), still increasing.
async function decodesFrom(p, others, timeoutMs = 45000) {
  const ids = others.map((o) => String(o.user.id));
  const first = await until(`${p.name} to decode video from ${others.map((o) => o.name)}`, async () => {
    const st = await sfu(p, () => window.sfu.stats());
    return ids.every((id) => st[id]?.framesDecoded > 0) ? st : null;
  }, timeoutMs);
  await until(`${p.name}'s decoded frames to increase`, async () => {
    const st = await sfu(p, () => window.sfu.stats());
    return ids.every((id) => st[id].framesDecoded > first[id].framesDecoded);
  });
}

async function controlsReset(p) {
  await until(`${p.name}'s call to end`, async () => (await sfu(p, () => window.sfu.tiles())).length === 0);
  assert.deepEqual(await sfu(p, () => window.sfu.tiles()), []);
  assert.equal(await p.page.locator('#call').isHidden(), true, 'call panel hidden');
  assert.equal(await p.page.locator('#prejoin').isVisible(), true, 'pre-join shown again');
  for (const [id, label] of [['mute', 'Mute'], ['camera', 'Camera off'], ['screen', 'Share screen'], ['hand', 'Raise hand']]) {
    assert.equal(await text(p, `#${id}`), label, `${p.name} #${id} label`);
    assert.equal(await attr(p, `#${id}`, 'aria-pressed'), 'false', `${p.name} #${id} pressed`);
    assert.equal(await p.page.locator(`#${id}`).isDisabled(), true, `${p.name} #${id} disabled`);
  }
  assert.equal(await p.page.locator('#join-call').isEnabled(), true);
  assert.equal(await p.page.locator('#call-banner').isHidden(), true);
}

// A solid-colour PNG, built by hand.
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3).map((_, i) => [r, g, b][i % 3])]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

after(async () => {
  await s.browser?.close();
  if (!s.server) return;
  const code = await s.server.stop();
  assert.equal(code, 0, `node exit code ${code}: ${s.server.stderr().slice(-2000)}`);
  assert.doesNotMatch(s.server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
});

test('a new user registers through the form, sees errors by field, and stays signed in across a reload', { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh installs it`);
  fs.mkdirSync(SHOTS, { recursive: true });
  s.server = await startServer({ args: ['--log-level', process.env.SFU_E2E_LOG || 'warn'] });
  s.browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, ignoreDefaultArgs: ['--headless'], args: UI_FLAGS });
  s.a = await newPage('host');
  await s.a.page.goto(s.server.url + '/');
  await s.a.page.click('#tab-register');
  const creds = newCredentials();
  await s.a.page.fill('#reg-email', creds.email);
  await s.a.page.fill('#reg-username', creds.username);
  await s.a.page.fill('#reg-password', 'short');
  await s.a.page.click('#register-submit');
  assert.match(await text(s.a, '#reg-password-err'), /8 characters/);
  assert.equal(await attr(s.a, '#reg-password', 'aria-invalid'), 'true');
  await s.a.page.fill('#reg-password', creds.password);
  await registerInUi(s.a, creds);
  await s.a.page.reload();
  await s.a.page.locator('#who').filter({ hasText: creds.username }).waitFor();
  assert.equal(await s.a.page.locator('#view-home').isVisible(), true);
});

test('the host creates a private room and gets its invite link', { timeout: 30000 }, async () => {
  const { page } = s.a;
  await page.fill('#room-name', 'Standup');
  await page.check('input[name=visibility][value=private]');
  await page.click('#create-submit');
  await page.locator('#room-title').filter({ hasText: 'Standup' }).waitFor();
  s.code = /#\/room\/([a-z-]+)/.exec(page.url())[1];
  const invite = await page.inputValue('#invite-link');
  assert.ok(invite.includes(s.code), invite);
  assert.equal(await page.locator('#room-private').isVisible(), true);
  s.invite = invite;
  // The node serves the app at the invite link itself.
  assert.equal(new URL(invite).pathname, `/r/${s.code}`);
  const served = await fetch(`${s.server.url}/r/${s.code}`);
  assert.equal(served.status, 200);
  assert.match(await served.text(), /<script type="module" src="\/js\/main.js">/);
  // History for the chat tests: 60 messages over REST before anyone else joins.
  const token = (await page.evaluate(() => JSON.parse(localStorage.getItem('sfu.session')))).accessToken;
  s.roomId = (await api(s.server, 'GET', `/api/rooms/${s.code}`, { token })).json.room.id;
  for (let i = 1; i <= 60; i++) await postMessage(s.server, token, s.roomId, `seed ${i}`);
  await page.click('a[data-nav=home]');
  await page.locator(`#room-list li[data-code="${s.code}"]`).waitFor();
  await shot(s.a, 'home.png');
  await page.click(`#room-list li[data-code="${s.code}"] a.title`);
  await page.locator('#room-title').filter({ hasText: 'Standup' }).waitFor();
});

test('the second user opens the invite link, registers, and lands in the room', { timeout: 30000 }, async () => {
  s.b = await newPage('guest');
  await s.b.page.goto(s.invite);
  await s.b.page.locator('#invite-note').waitFor();
  await registerInUi(s.b, newCredentials());
  await s.b.page.locator('#room-title').filter({ hasText: 'Standup' }).waitFor();
  assert.ok(s.b.page.url().endsWith(`#/room/${s.code}`), s.b.page.url());
  // Both are members, with presence.
  await s.a.page.locator(`#members li[data-user-id="${s.b.user.id}"] .presence`).filter({ hasText: 'online' }).waitFor({ state: 'attached' });
});

test('pre-join previews the camera; both join and decode each other\'s video', { timeout: 90000 }, async () => {
  for (const p of [s.a, s.b]) {
    await until(`${p.name}'s camera preview`, () => p.page.evaluate(() => document.getElementById('preview').videoWidth > 0));
  }
  await shot(s.a, 'prejoin.png');
  await s.a.page.click('#join-call');
  await s.b.page.click('#join-call');
  await decodesFrom(s.a, [s.b]);
  await decodesFrom(s.b, [s.a]);
  for (const [p, o] of [[s.a, s.b], [s.b, s.a]]) {
    await p.page.locator(`#tiles [data-stream="u${o.user.id}-camera"][data-video=live]`).waitFor();
    await p.page.locator('#call-status').filter({ hasText: 'In call' }).waitFor();
    assert.equal(await text(p, `#tiles [data-stream="u${o.user.id}-camera"] .name`), o.user.username);
  }
  assert.equal(await s.a.page.locator('#end-call').isVisible(), true, 'the host can end the call');
  assert.equal(await s.b.page.locator('#end-call').isVisible(), false, 'a guest cannot');
});

test('mute and camera off show on the other side, with the right labels on both, and stop the media', { timeout: 45000 }, async () => {
  const tileOfA = `#tiles [data-stream="u${s.a.user.id}-camera"]`;
  await s.a.page.click('#mute');
  assert.equal(await text(s.a, '#mute'), 'Unmute');
  assert.equal(await attr(s.a, '#mute', 'aria-pressed'), 'true');
  await s.b.page.locator(`${tileOfA}[data-audio-muted=true] .state`).filter({ hasText: 'Muted' }).waitFor();
  await s.a.page.click('#camera');
  assert.equal(await text(s.a, '#camera'), 'Camera on');
  await s.b.page.locator(`${tileOfA}[data-video-muted=true] .state`).filter({ hasText: 'Camera off' }).waitFor();
  assert.equal(await s.b.page.locator(`${tileOfA} .avatar`).isVisible(), true, 'avatar instead of video');
  await s.b.page.click('#tab-people');
  await s.b.page.locator(`#participants li[data-user-id="${s.a.user.id}"]`).filter({ hasText: 'muted · camera off' }).waitFor();
  await s.b.page.click('#tab-chat');
  // Muted means nothing on the wire: the other side receives no packet of A's
  // for two seconds (a few in flight when the buttons were pressed may land).
  const packetsOfA = async () => {
    const st = (await sfu(s.b, () => window.sfu.stats()))[String(s.a.user.id)];
    return st.audioPackets + st.videoPackets;
  };
  await new Promise((r) => setTimeout(r, 500));
  const mutedAt = await packetsOfA();
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(await packetsOfA() - mutedAt <= 2, 'a muted microphone and camera send no packets');
  await s.a.page.click('#mute');
  await s.a.page.click('#camera');
  assert.equal(await text(s.a, '#mute'), 'Mute');
  assert.equal(await text(s.a, '#camera'), 'Camera off');
  await s.b.page.locator(`${tileOfA}[data-audio-muted=false][data-video-muted=false]`).waitFor();
  // Both come back, video starting on a keyframe the other side decodes.
  await decodesFrom(s.b, [s.a], 15000);
  await until('audio from A again', async () => (await packetsOfA()) > mutedAt + 50);
});

test('a third user without a camera joins listen-only and receives both', { timeout: 60000 }, async () => {
  // No devices at all: the pre-join offers listening only.
  s.c = await newPage('listener', () => {
    navigator.mediaDevices.enumerateDevices = async () => [];
    navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('Requested device not found', 'NotFoundError'); };
  });
  const reg = await register(s.server);
  await s.c.page.goto(s.server.url + '/');
  await s.c.page.evaluate((r) => localStorage.setItem('sfu.session', JSON.stringify(r)), { accessToken: reg.accessToken, refreshToken: reg.refreshToken, user: reg.user });
  s.c.user = reg.user;
  await s.c.page.goto(s.invite);
  await s.c.page.locator('#room-title').filter({ hasText: 'Standup' }).waitFor();
  await until('listen-only to be chosen', () => s.c.page.locator('#join-listen').isChecked());
  assert.equal(await s.c.page.locator('#join-listen').isDisabled(), true);
  await s.c.page.click('#join-call');
  await decodesFrom(s.c, [s.a, s.b]);
  assert.deepEqual((await sfu(s.c, () => window.sfu.publishStats())).ssrcs, [], 'a listener publishes nothing');
  assert.equal(await s.c.page.locator('#mute').isDisabled(), true);
  for (const p of [s.a, s.b]) {
    await p.page.locator(`#tiles [data-stream="u${s.c.user.id}-camera"][data-video=none] .state`).filter({ hasText: 'Listening only' }).waitFor();
  }
});

test('screen share starts, stops through the browser\'s own track end, and is gone on every side', { timeout: 90000 }, async () => {
  const screenTile = `#tiles [data-stream="u${s.b.user.id}-screen"]`;
  const screenDecoded = (p) => until(`${p.name} to decode the screen share`, async () =>
    ((await sfu(p, () => window.sfu.streamStats()))[`u${s.b.user.id}-screen`]?.framesDecoded || 0) > 0, 30000);
  await s.b.page.click('#screen');
  await s.b.page.locator('#screen').filter({ hasText: 'Stop sharing' }).waitFor();
  assert.equal(await attr(s.b, '#screen', 'aria-pressed'), 'true');
  for (const p of [s.a, s.c]) {
    await p.page.locator(screenTile).waitFor();
    await screenDecoded(p);
  }
  assert.equal(await count(s.a, '#tiles .tile'), 4, 'me, guest camera, guest screen, listener');
  await shot(s.a, 'call.png');
  // The browser's "Stop sharing": the track ends.
  await sfu(s.b, () => {
    const t = window.sfu.screenTrack();
    t.stop();
    t.dispatchEvent(new Event('ended'));
  });
  await s.b.page.locator('#screen').filter({ hasText: 'Share screen' }).waitFor();
  assert.equal(await attr(s.b, '#screen', 'aria-pressed'), 'false');
  assert.ok(!(await sfu(s.b, () => window.sfu.tiles())).includes('me-screen'));
  for (const p of [s.a, s.c]) {
    await until(`${p.name} to drop the screen tile`, async () => (await count(p, screenTile)) === 0, 20000);
  }
  // Sharing again works, and stopping from the button does too.
  await s.b.page.click('#screen');
  await s.a.page.locator(screenTile).waitFor();
  await screenDecoded(s.a);
  await s.b.page.click('#screen');
  await until('the host to drop the second share', async () => (await count(s.a, screenTile)) === 0, 20000);
});

test('room chat works both ways with a typing indicator, links, wrapping and no HTML injection', { timeout: 30000 }, async () => {
  await s.a.page.click('#chat-input');
  await s.a.page.keyboard.type('hello from the host');
  await s.b.page.locator('#typing').filter({ hasText: `${s.a.user.username} is typing` }).waitFor();
  // Several people typing at once.
  await s.c.page.click('#chat-input');
  await s.c.page.keyboard.type('hm');
  await s.b.page.locator('#typing').filter({ hasText: `${s.a.user.username} and ${s.c.user.username} are typing` }).waitFor();
  await s.c.page.fill('#chat-input', '');
  await s.b.page.locator('#typing').filter({ hasText: new RegExp(`^${s.a.user.username} is typing`) }).waitFor();
  await s.a.page.keyboard.press('Enter');
  await s.b.page.locator('#messages .msg .body').filter({ hasText: 'hello from the host' }).waitFor();
  await until('the typing indicator to clear', async () => (await text(s.b, '#typing')) === '', 10000);
  await s.b.page.fill('#chat-input', 'hi host, see https://example.com/page');
  await s.b.page.click('#chat-send');
  await s.a.page.locator('#messages .msg .body').filter({ hasText: 'hi host' }).waitFor();
  assert.equal(await count(s.a, '#messages a[href="https://example.com/page"]'), 1, 'links are clickable');
  const evil = `<img src=x onerror="window.pwned=1">${'W'.repeat(300)}`;
  await s.a.page.fill('#chat-input', evil);
  await s.a.page.keyboard.press('Enter');
  await s.b.page.locator('#messages .msg .body').filter({ hasText: '<img src=x' }).waitFor();
  assert.equal(await count(s.b, '#messages img[src=x]'), 0);
  assert.equal(await s.b.page.evaluate(() => window.pwned), undefined);
  const overflow = await s.b.page.evaluate(() => { const m = document.getElementById('messages'); return m.scrollWidth - m.clientWidth; });
  assert.ok(overflow <= 1, `long words wrap (overflow ${overflow}px)`);
  assert.ok((await count(s.b, '#messages time')) > 0, 'messages have times');
});

test('a shared image shows as a preview on the other side', { timeout: 30000 }, async () => {
  await s.a.page.setInputFiles('#chat-file', { name: 'sunrise.png', mimeType: 'image/png', buffer: png(160, 90, [240, 140, 40]) });
  const img = s.b.page.locator('#messages .msg img.preview-img').first();
  await img.waitFor();
  await until('the image to decode', () => img.evaluate((i) => i.complete && i.naturalWidth === 160));
  assert.match(await img.getAttribute('src'), /^data:image\/png;base64,/);
  assert.match(await img.getAttribute('alt'), /sunrise\.png/);
  await img.scrollIntoViewIfNeeded();
  await s.b.page.locator('.side').screenshot({ path: path.join(SHOTS, 'chat.png') });
});

test('history loads older messages when scrolling back', { timeout: 30000 }, async () => {
  const before = await count(s.b, '#messages .msg');
  assert.equal(await count(s.b, '#messages .msg .body >> text="seed 1"'), 0, 'the oldest are not loaded yet');
  await s.b.page.evaluate(() => { const m = document.getElementById('messages'); m.scrollTop = 0; m.dispatchEvent(new Event('scroll')); });
  await s.b.page.locator('#messages .msg .body').filter({ hasText: /^seed 1$/ }).waitFor();
  assert.ok((await count(s.b, '#messages .msg')) > before);
  await s.b.page.locator('#messages .day').filter({ hasText: 'Beginning of the conversation' }).waitFor();
  const ids = await s.b.page.$$eval('#messages .msg', (els) => els.map((e) => Number(e.dataset.id)));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'oldest first');
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
});

test('the page works at 375 px: no sideways scroll, controls big enough, remote video above the fold', { timeout: 30000 }, async () => {
  await s.b.page.setViewportSize({ width: 375, height: 812 });
  await s.b.page.waitForTimeout(300);
  const m = await s.b.page.evaluate((aId) => {
    const tile = document.querySelector(`#tiles [data-stream="u${aId}-camera"]`).getBoundingClientRect();
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      mute: document.getElementById('mute').getBoundingClientRect().height,
      tileTop: tile.top, tileHeight: tile.height,
    };
  }, s.a.user.id);
  await shot(s.b, 'mobile-375.png');
  assert.ok(m.overflow <= 0, `no horizontal scroll (${m.overflow}px)`);
  assert.ok(m.mute >= 40, `controls are at least 40 px tall (${m.mute})`);
  assert.ok(m.tileTop + m.tileHeight / 2 < 812, `the remote tile is above the fold (top ${m.tileTop})`);
  await s.b.page.emulateMedia({ colorScheme: 'dark' });
  await shot(s.b, 'mobile-375-dark.png');
  await s.b.page.emulateMedia({ colorScheme: 'light' });
  await s.b.page.setViewportSize({ width: 1280, height: 860 });
});

test('a direct message shows an unread badge, then a read receipt', { timeout: 30000 }, async () => {
  const { page } = s.a;
  await page.click('a[data-nav=people]');
  await page.locator('#call-banner').waitFor(); // still in the call
  await page.fill('#search-q', s.b.user.username);
  await page.click('#search-form button[type=submit]');
  await page.click(`#search-results li[data-user-id="${s.b.user.id}"] a.button`);
  await page.locator('#dm-title').filter({ hasText: s.b.user.username }).waitFor();
  await page.fill('#dm-input', 'psst, a private word');
  await page.keyboard.press('Enter');
  await page.locator('#dm-messages .msg.mine .receipt').filter({ hasText: 'Sent' }).waitFor();
  await s.b.page.locator('#dm-badge').filter({ hasText: '1' }).waitFor();
  await s.b.page.click('a[data-nav=dms]');
  await s.b.page.locator(`#dm-list li[data-user-id="${s.a.user.id}"] .badge`).filter({ hasText: '1' }).waitFor();
  await s.b.page.click(`#dm-list li[data-user-id="${s.a.user.id}"] a`);
  await s.b.page.locator('#dm-messages .msg .body').filter({ hasText: 'psst, a private word' }).waitFor();
  await page.locator('#dm-messages .msg.mine .receipt[data-read=true]').filter({ hasText: 'Read' }).waitFor();
  await until('the unread badge to clear', () => s.b.page.locator('#dm-badge').isHidden());
  await shot(s.b, 'dms.png');
});

test('blocking stops direct messages', { timeout: 30000 }, async () => {
  await s.b.page.click('#dm-block');
  await s.b.page.locator('#dm-block').filter({ hasText: 'Unblock' }).waitFor();
  await s.a.page.fill('#dm-input', 'are you ignoring me?');
  await s.a.page.keyboard.press('Enter');
  await s.a.page.locator('#dm-error').filter({ hasText: 'not accepting' }).waitFor();
  assert.equal(await count(s.a, '#dm-messages .msg .body >> text="are you ignoring me?"'), 0);
  await s.b.page.waitForTimeout(1000);
  assert.equal(await count(s.b, '#dm-messages .msg .body >> text="are you ignoring me?"'), 0, 'nothing delivered');
  assert.equal(await s.b.page.locator('#dm-badge').isHidden(), true);
});

test('the host ends the call and every control resets on every side', { timeout: 45000 }, async () => {
  await s.a.page.click('#call-banner-link');
  await s.a.page.locator('#end-call').waitFor();
  await s.b.page.goto(`${s.server.url}/#/room/${s.code}`);
  await s.b.page.locator('#room-title').filter({ hasText: 'Standup' }).waitFor();
  await s.a.page.click('#end-call');
  for (const p of [s.a, s.b, s.c]) {
    await p.page.locator('#call-status').filter({ hasText: 'ended' }).waitFor();
    await controlsReset(p);
  }
  // The call is in everyone's history, with who was in it.
  await s.a.page.click('a[data-nav=history]');
  const row = s.a.page.locator('#history li').first();
  await row.filter({ hasText: 'Standup' }).waitFor();
  assert.match(await row.innerText(), new RegExp(s.c.user.username));
});
