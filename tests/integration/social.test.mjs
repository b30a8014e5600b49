// Direct messages (live, offline, unread counts, read receipts), blocks,
// contacts, user search, reports, file uploads and who may download them, and
// the REST rate limits (API, auth, upload).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { api, assertError, assertIsoUtc, register, sleep } from './lib.mjs';
import {
  SAMPLE_FILES,
  closeAll,
  connect,
  joinRoom,
  multipart,
  roomWithMembers,
  sendDm,
  sendMessage,
  upload,
  userWithSocket,
  withChatServer,
} from './ws-lib.mjs';

const T = { timeout: 120000 };
const MAX_UPLOAD = 5 * 1024 * 1024;

function assertDm(m, expected = {}) {
  assert.ok(m && typeof m === 'object', 'dm object');
  assert.ok(Number.isInteger(m.id) && m.id > 0, `dm.id: ${JSON.stringify(m)}`);
  for (const k of ['senderId', 'recipientId']) assert.ok(Number.isInteger(m[k]), `dm.${k}`);
  assert.equal(typeof m.senderName, 'string');
  assert.equal(typeof m.content, 'string');
  assertIsoUtc(m.createdAt, 'dm.createdAt');
  if (m.readAt !== null) assertIsoUtc(m.readAt, 'dm.readAt');
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(m[k], v, `dm.${k}`);
}

// The public view of a user (search, contacts): no email, ever.
function assertPublicUser(u, expected = {}) {
  assert.deepEqual(Object.keys(u).sort(), ['id', 'lastSeen', 'online', 'username'], JSON.stringify(u));
  assert.equal(typeof u.online, 'boolean');
  if (u.lastSeen !== null) assertIsoUtc(u.lastSeen, 'lastSeen');
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(u[k], v, `user.${k}`);
}

const unread = (server, token) => api(server, 'GET', '/api/direct-messages/unread', { token });
const dmHistory = (server, token, otherId, query = '') =>
  api(server, 'GET', `/api/direct-messages/${otherId}${query}`, { token });

// ---------------------------------------------------------------- DMs

test('DMs live: the recipient\'s sockets and the sender\'s other sockets get new_dm; the sender gets the ack', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const a2 = await connect(server, a.accessToken);
    const b2 = await connect(server, b.accessToken);
    try {
      const before = Date.now();
      a.ws.send({ type: 'send_dm', recipientId: b.id, content: 'hi bob', id: 'dm-1' });
      const ack = await a.ws.next((m) => m.id === 'dm-1');
      assert.equal(ack.type, 'new_dm', JSON.stringify(ack));
      assertDm(ack.message, { senderId: a.id, recipientId: b.id, senderName: a.username, content: 'hi bob', readAt: null });
      assert.equal('fileId' in ack.message, false);
      assert.ok(Math.abs(Date.parse(ack.message.createdAt) - before) < 5000);
      for (const c of [b.ws, b2, a2]) {
        assert.deepEqual(await c.next('new_dm'), { type: 'new_dm', message: ack.message });
      }
      await a.ws.expectNothing('new_dm', 300);

      const back = await sendDm(b.ws, a.id, 'hi alice');
      assert.equal((await a.ws.next('new_dm')).message.id, back.id);
      assert.equal((await a2.next('new_dm')).message.id, back.id);
      assert.equal((await b2.next('new_dm')).message.id, back.id);

      // Both directions are one conversation, newest first, for both sides.
      const ha = await dmHistory(server, a.accessToken, b.id);
      assert.equal(ha.status, 200, ha.text);
      assert.deepEqual(ha.json, { messages: [back, ack.message], hasMore: false });
      const hb = await dmHistory(server, b.accessToken, a.id);
      assert.deepEqual(hb.json, ha.json);
    } finally {
      await closeAll([a.ws, a2, b.ws, b2]);
    }
  }));

test('send_dm errors: yourself, unknown user, bad fields', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    try {
      const bad = async (msg, code) => {
        const r = await a.ws.request({ type: 'send_dm', ...msg });
        assert.equal(r.type, 'error', JSON.stringify({ msg, r }));
        assert.equal(r.code, code, JSON.stringify({ msg, r }));
      };
      await bad({ recipientId: a.id, content: 'me' }, 'invalid_field');
      await bad({ recipientId: 999999, content: 'nobody' }, 'not_found');
      await bad({ recipientId: String(a.id + 1), content: 'x' }, 'invalid_field');
      await bad({ recipientId: a.id + 1, content: '' }, 'invalid_field');
      await bad({ recipientId: a.id + 1, content: 'x'.repeat(4001) }, 'invalid_field');
      await bad({ content: 'no recipient' }, 'invalid_field');
    } finally {
      await a.ws.close();
    }
  }));

test('DMs offline: unread_dms on connect, GET unread, mark_read with read receipts, REST read, history paging', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const c = await userWithSocket(server);
    const b = await register(server);
    let bws;
    try {
      // b is offline: three from a, then one from c.
      const fromA = [];
      for (let i = 1; i <= 3; i++) fromA.push(await sendDm(a.ws, b.user.id, `a${i}`));
      const fromC = await sendDm(c.ws, b.user.id, 'c1');

      const u0 = await unread(server, b.accessToken);
      assert.equal(u0.status, 200, u0.text);
      const expectedCounts = [
        { senderId: c.id, senderName: c.username, count: 1, lastId: fromC.id },
        { senderId: a.id, senderName: a.username, count: 3, lastId: fromA[2].id },
      ];
      assert.deepEqual(u0.json, { unread: expectedCounts, total: 4 }, 'senders by newest unread first');

      bws = await connect(server, b.accessToken);
      assert.deepEqual(bws.unread, { type: 'unread_dms', counts: expectedCounts, messages: [...fromA, fromC] }, 'unread_dms: counts, and the messages oldest first');

      // Read a's first two.
      const marked = await bws.request({ type: 'mark_read', senderId: a.id, upToId: fromA[1].id });
      assert.deepEqual(marked, { type: 'marked_read', senderId: a.id, count: 2, upToId: fromA[1].id, id: marked.id });
      const receipt = await a.ws.next('read_receipt');
      assert.equal(receipt.readerId, b.user.id);
      assert.equal(receipt.upToId, fromA[1].id);
      assertIsoUtc(receipt.readAt, 'readAt');
      assert.deepEqual(Object.keys(receipt).sort(), ['readAt', 'readerId', 'type', 'upToId']);
      await c.ws.expectNothing('read_receipt', 200, 'a receipt for someone else');

      const u1 = await unread(server, b.accessToken);
      assert.deepEqual(u1.json, {
        unread: [expectedCounts[0], { ...expectedCounts[1], count: 1 }],
        total: 2,
      });

      // The rest of a's (no upToId: everything).
      const rest = await bws.request({ type: 'mark_read', senderId: a.id });
      assert.equal(rest.count, 1);
      assert.equal(rest.upToId, fromA[2].id);
      assert.equal((await a.ws.next('read_receipt')).upToId, fromA[2].id);
      // Nothing left to mark: count 0, and no receipt.
      const none = await bws.request({ type: 'mark_read', senderId: a.id });
      assert.equal(none.count, 0);
      assert.equal(none.upToId, 0);
      await a.ws.expectNothing('read_receipt', 400);

      // Over REST, for c's message.
      const r = await api(server, 'POST', `/api/direct-messages/${c.id}/read`, { token: b.accessToken });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { count: 1, upToId: fromC.id });
      const rc = await c.ws.next('read_receipt');
      assert.equal(rc.readerId, b.user.id);
      assert.equal(rc.upToId, fromC.id);
      const r2 = await api(server, 'POST', `/api/direct-messages/${c.id}/read`, { token: b.accessToken, body: { upToId: fromC.id } });
      assert.deepEqual(r2.json, { count: 0, upToId: 0 });
      assertError(await api(server, 'POST', `/api/direct-messages/${c.id}/read`, { token: b.accessToken, body: { upToId: 'x' } }), 400, 'invalid_field', 'upToId');
      assertError(await api(server, 'POST', '/api/direct-messages/999999/read', { token: b.accessToken }), 404, 'not_found');

      assert.deepEqual((await unread(server, b.accessToken)).json, { unread: [], total: 0 });
      const again = await connect(server, b.accessToken);
      assert.deepEqual(again.unread, { type: 'unread_dms', counts: [], messages: [] });
      await again.close();

      // History: newest first, now read; paging with limit/before.
      const h = await dmHistory(server, b.accessToken, a.id);
      assert.equal(h.status, 200, h.text);
      assert.deepEqual(h.json.messages.map((m) => m.id), fromA.map((m) => m.id).reverse());
      for (const m of h.json.messages) assertIsoUtc(m.readAt, 'readAt after mark_read');
      const p1 = await dmHistory(server, b.accessToken, a.id, '?limit=2');
      assert.equal(p1.json.hasMore, true);
      assert.deepEqual(p1.json.messages.map((m) => m.id), [fromA[2].id, fromA[1].id]);
      const p2 = await dmHistory(server, b.accessToken, a.id, `?limit=2&before=${fromA[1].id}`);
      assert.equal(p2.json.hasMore, false);
      assert.deepEqual(p2.json.messages.map((m) => m.id), [fromA[0].id]);
      // a and c never talked to each other.
      assert.deepEqual((await dmHistory(server, a.accessToken, c.id)).json, { messages: [], hasMore: false });
      assertError(await dmHistory(server, b.accessToken, a.id, '?limit=0'), 400, 'invalid_field', 'limit');
      assertError(await dmHistory(server, b.accessToken, a.id, '?before=abc'), 400, 'invalid_field', 'before');
      assertError(await dmHistory(server, b.accessToken, 999999), 404, 'not_found');
      assertError(await dmHistory(server, b.accessToken, 'abc'), 404, 'not_found');
      assertError(await unread(server, undefined), 401, 'unauthorized');
    } finally {
      await closeAll([a.ws, c.ws, bws]);
    }
  }));

test('blocks: a blocked sender gets error blocked and the recipient gets nothing; unblock restores', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const a2 = await connect(server, a.accessToken);
    try {
      const blk = await api(server, 'POST', `/api/users/${a.id}/block`, { token: b.accessToken });
      assert.equal(blk.status, 204, blk.text);
      assert.equal(blk.text, '');
      assert.equal((await api(server, 'POST', `/api/users/${a.id}/block`, { token: b.accessToken })).status, 204, 'idempotent');

      const r = await a.ws.request({ type: 'send_dm', recipientId: b.id, content: 'let me talk' });
      assert.equal(r.type, 'error', JSON.stringify(r));
      assert.equal(r.code, 'blocked');
      assert.equal(typeof r.message, 'string');
      await Promise.all([b.ws.expectNothing('new_dm', 600), a2.expectNothing('new_dm', 600)]);
      // Not stored either.
      assert.deepEqual((await unread(server, b.accessToken)).json, { unread: [], total: 0 });
      assert.deepEqual((await dmHistory(server, a.accessToken, b.id)).json.messages, []);

      // The block is one-way: b can still write to a.
      const fromB = await sendDm(b.ws, a.id, 'I can still talk to you');
      assert.equal((await a.ws.next('new_dm')).message.id, fromB.id);

      const un = await api(server, 'DELETE', `/api/users/${a.id}/block`, { token: b.accessToken });
      assert.equal(un.status, 204, un.text);
      assert.equal((await api(server, 'DELETE', `/api/users/${a.id}/block`, { token: b.accessToken })).status, 204, 'unblocking twice is fine');
      const ok = await sendDm(a.ws, b.id, 'thanks');
      assert.equal((await b.ws.next('new_dm')).message.id, ok.id);

      assertError(await api(server, 'POST', `/api/users/${b.id}/block`, { token: b.accessToken }), 400, 'invalid_field');
      assertError(await api(server, 'POST', '/api/users/999999/block', { token: b.accessToken }), 404, 'not_found');
      assertError(await api(server, 'POST', '/api/users/abc/block', { token: b.accessToken }), 404, 'not_found');
      assertError(await api(server, 'POST', `/api/users/${a.id}/block`), 401, 'unauthorized');
    } finally {
      await closeAll([a.ws, a2, b.ws]);
    }
  }));

// ---------------------------------------------------------------- contacts, search, reports

test('contacts: add, list (with online state), conflict, remove by path and by body', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const b = await userWithSocket(server);
    const c = await register(server);
    try {
      const add = await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: b.id } });
      assert.equal(add.status, 201, add.text);
      assertPublicUser(add.json.contact, { id: b.id, username: b.username, online: true });
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: b.id } }), 409, 'conflict', 'userId');
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: a.user.id } }), 400, 'invalid_field', 'userId');
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: 999999 } }), 404, 'not_found');
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: String(c.user.id) } }), 400, 'invalid_field', 'userId');
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: {} }), 400, 'invalid_field', 'userId');
      assertError(await api(server, 'POST', '/api/contacts', { token: a.accessToken, rawBody: '[1]' }), 400, 'invalid_json');
      assert.equal((await api(server, 'POST', '/api/contacts', { token: a.accessToken, body: { userId: c.user.id } })).status, 201);

      const list = await api(server, 'GET', '/api/contacts', { token: a.accessToken });
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.json.contacts.map((u) => u.id).sort(), [b.id, c.user.id].sort());
      for (const u of list.json.contacts) assertPublicUser(u);
      assert.equal(list.json.contacts.find((u) => u.id === b.id).online, true);
      assert.equal(list.json.contacts.find((u) => u.id === c.user.id).online, false);
      // Contacts are one-way.
      assert.deepEqual((await api(server, 'GET', '/api/contacts', { token: b.accessToken })).json, { contacts: [] });

      const del = await api(server, 'DELETE', `/api/contacts/${b.id}`, { token: a.accessToken });
      assert.equal(del.status, 204, del.text);
      assertError(await api(server, 'DELETE', `/api/contacts/${b.id}`, { token: a.accessToken }), 404, 'not_found');
      assertError(await api(server, 'DELETE', '/api/contacts/abc', { token: a.accessToken }), 404, 'not_found');
      const delBody = await api(server, 'DELETE', '/api/contacts', { token: a.accessToken, body: { userId: c.user.id } });
      assert.equal(delBody.status, 204, delBody.text);
      assert.deepEqual((await api(server, 'GET', '/api/contacts', { token: a.accessToken })).json, { contacts: [] });
      assertError(await api(server, 'GET', '/api/contacts'), 401, 'unauthorized');
    } finally {
      await b.ws.close();
    }
  }));

test('users search: case-insensitive prefix, _ and % literal, at most 20, no emails', T, () =>
  withChatServer(async (server) => {
    const p = `q${crypto.randomBytes(3).toString('hex')}`;
    const a = await register(server, { username: `${p}_alpha` });
    await register(server, { username: `${p}_Beta` });
    await register(server, { username: `${p}Xgamma` });
    const search = (q, token = a.accessToken) => api(server, 'GET', `/api/users?q=${encodeURIComponent(q)}`, { token });

    const under = await search(`${p}_`);
    assert.equal(under.status, 200, under.text);
    assert.deepEqual(under.json.users.map((u) => u.username), [`${p}_alpha`, `${p}_Beta`], '_ is literal, ordered by username');
    for (const u of under.json.users) assertPublicUser(u);
    assert.deepEqual((await search(`${p.toUpperCase()}_`)).json, under.json, 'case-insensitive');
    assert.deepEqual((await search(p)).json.users.map((u) => u.username), [`${p}_alpha`, `${p}_Beta`, `${p}Xgamma`]);
    assert.deepEqual((await search(`${p}%`)).json, { users: [] }, '% is literal');
    assert.deepEqual((await search(`${p}_alpha`)).json.users.map((u) => u.id), [a.user.id], 'a full name matches itself');
    assert.deepEqual((await search('zz_no_such_prefix')).json, { users: [] });

    const many = `m${crypto.randomBytes(3).toString('hex')}`;
    for (let i = 0; i < 22; i++) await register(server, { username: `${many}_${String(i).padStart(2, '0')}` });
    const capped = await search(many);
    assert.equal(capped.json.users.length, 20);
    assert.deepEqual(capped.json.users.map((u) => u.username), Array.from({ length: 20 }, (_, i) => `${many}_${String(i).padStart(2, '0')}`));

    assertError(await api(server, 'GET', '/api/users', { token: a.accessToken }), 400, 'invalid_field', 'q');
    assertError(await search(''), 400, 'invalid_field', 'q');
    assertError(await search('x'.repeat(51)), 400, 'invalid_field', 'q');
    assert.equal((await search('x'.repeat(50))).status, 200);
    assertError(await api(server, 'GET', `/api/users?q=${p}`), 401, 'unauthorized');
  }));

test('report: 201 with a 1-1000 character reason; bad reasons and unknown users are refused', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const report = (id, body, opts = {}) => api(server, 'POST', `/api/users/${id}/report`, { token: a.accessToken, body, ...opts });
    const ok = await report(b.user.id, { reason: 'spam in DMs' });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json, { reported: true });
    assert.equal((await report(b.user.id, { reason: '😡'.repeat(1000) })).status, 201, '1000 code points');
    assertError(await report(b.user.id, { reason: 'x'.repeat(1001) }), 400, 'invalid_field', 'reason');
    assertError(await report(b.user.id, { reason: '' }), 400, 'invalid_field', 'reason');
    assertError(await report(b.user.id, { reason: 42 }), 400, 'invalid_field', 'reason');
    assertError(await report(b.user.id, {}), 400, 'invalid_field', 'reason');
    assertError(await report(b.user.id, undefined), 400, 'invalid_json');
    assertError(await report(999999, { reason: 'ghost' }), 404, 'not_found');
    assertError(await api(server, 'POST', `/api/users/${b.user.id}/report`, { body: { reason: 'x' } }), 401, 'unauthorized');
  }));

// ---------------------------------------------------------------- files

function filesIn(server) {
  const dir = path.join(server.dataDir, 'files');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

test('uploads: PNG, JPEG, GIF and PDF are accepted, typed by their bytes, and read back by the owner', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    for (const [kind, f] of Object.entries(SAMPLE_FILES)) {
      const res = await upload(server, a.accessToken, { data: f.bytes, filename: f.name, contentType: f.type });
      assert.equal(res.status, 201, `${kind}: ${res.text}`);
      assert.match(res.json.id, /^[0-9a-f]{32}$/);
      assert.deepEqual(res.json, { id: res.json.id, url: `/api/files/${res.json.id}`, type: f.type, size: f.bytes.length });
      const got = await fetch(server.url + res.json.url, { headers: { authorization: `Bearer ${a.accessToken}` }, signal: AbortSignal.timeout(10000) });
      assert.equal(got.status, 200, kind);
      assert.equal(got.headers.get('content-type')?.split(';')[0], f.type);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(f.bytes), `${kind}: same bytes back`);
    }
    // The type comes from the bytes, not from the name or a generic declared type.
    const odd = await upload(server, a.accessToken, { data: SAMPLE_FILES.png.bytes, filename: 'notes.txt', contentType: 'application/octet-stream' });
    assert.equal(odd.status, 201, odd.text);
    assert.equal(odd.json.type, 'image/png');
    const undeclared = await upload(server, a.accessToken, { data: SAMPLE_FILES.pdf.bytes, filename: 'x' });
    assert.equal(undeclared.status, 201, undeclared.text);
    assert.equal(undeclared.json.type, 'application/pdf');

    // A browser-style body (FormData + Blob) works the same.
    const form = new FormData();
    form.append('caption', 'a field that is not a file');
    form.append('file', new Blob([SAMPLE_FILES.gif.bytes], { type: 'image/gif' }), 'form.gif');
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.accessToken}` },
      body: form,
      signal: AbortSignal.timeout(10000),
    });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.equal(body.type, 'image/gif');
    assert.equal(body.size, SAMPLE_FILES.gif.bytes.length);

    // Exactly at the size limit is accepted.
    const big = Buffer.concat([SAMPLE_FILES.png.bytes, Buffer.alloc(MAX_UPLOAD - SAMPLE_FILES.png.bytes.length, 7)]);
    const atLimit = await upload(server, a.accessToken, { data: big, filename: 'big.png', contentType: 'image/png' });
    assert.equal(atLimit.status, 201, atLimit.text);
    assert.equal(atLimit.json.size, MAX_UPLOAD);

    // Stored under the data dir by id only, with nothing half-written left over.
    const names = filesIn(server);
    assert.equal(names.length, 8);
    for (const n of names) assert.match(n, /^[0-9a-f]{32}$/);
  }));

test('uploads refused: too large (413), not an image/PDF (415), lying type (415), not exactly one file (400)', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const png = SAMPLE_FILES.png;

    const huge = Buffer.concat([png.bytes, crypto.randomBytes(7 * 1024 * 1024)]);
    assertError(await upload(server, a.accessToken, { data: huge, filename: 'huge.png', contentType: 'image/png' }), 413, 'payload_too_large');
    const overByOne = Buffer.concat([png.bytes, Buffer.alloc(MAX_UPLOAD + 1 - png.bytes.length)]);
    assertError(await upload(server, a.accessToken, { data: overByOne, filename: 'over.png', contentType: 'image/png' }), 413, 'payload_too_large');

    assertError(await upload(server, a.accessToken, { data: 'just some text, honest', filename: 'picture.png', contentType: 'image/png' }), 415, 'unsupported_type', 'file');
    assertError(await upload(server, a.accessToken, { data: '<svg xmlns="http://www.w3.org/2000/svg"/>', filename: 'x.svg', contentType: 'image/svg+xml' }), 415, 'unsupported_type', 'file');
    assertError(await upload(server, a.accessToken, { data: Buffer.from('MZ\x90\x00executable'), filename: 'a.exe' }), 415, 'unsupported_type', 'file');
    assertError(await upload(server, a.accessToken, { data: png.bytes, filename: 'x.jpg', contentType: 'image/jpeg' }), 415, 'unsupported_type', 'file');

    assertError(
      await upload(server, a.accessToken, {
        parts: [
          { name: 'file', filename: 'one.png', contentType: 'image/png', data: png.bytes },
          { name: 'file2', filename: 'two.png', contentType: 'image/png', data: png.bytes },
        ],
      }),
      400,
      'invalid_field',
      'file',
    );
    assertError(await upload(server, a.accessToken, { parts: [{ name: 'caption', data: 'no file here' }] }), 400, 'invalid_field', 'file');
    assertError(await upload(server, a.accessToken, { data: Buffer.alloc(0), filename: 'empty.png', contentType: 'image/png' }), 400, 'invalid_field', 'file');

    const mp = multipart([{ name: 'file', filename: 'cut.png', contentType: 'image/png', data: png.bytes }]);
    const truncated = mp.body.subarray(0, mp.body.length - 20);
    assertError(
      await api(server, 'POST', '/api/upload', { token: a.accessToken, rawBody: truncated, headers: { 'content-type': mp.contentType } }),
      400,
      'invalid_multipart',
    );
    assertError(await api(server, 'POST', '/api/upload', { token: a.accessToken, body: { file: 'base64?' } }), 415, 'unsupported_media_type');
    assertError(
      await api(server, 'POST', '/api/upload', { rawBody: mp.body, headers: { 'content-type': mp.contentType } }),
      401,
      'unauthorized',
    );

    assert.deepEqual(filesIn(server), [], 'nothing refused was stored');
  }));

test('uploads: path tricks in the filename are ignored; the file is stored under a random id only', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const passwdBefore = fs.readFileSync('/etc/passwd');
    const escapeTarget = path.resolve(server.dataDir, 'files', '../../etc/passwd');
    const existedBefore = fs.existsSync(escapeTarget);
    const names = ['../../etc/passwd', '/etc/passwd', '..\\..\\windows\\win.ini', 'a/../../b.png', '....//....//x.png', '%2e%2e%2fsfu.db', 'sfu.db', 'jwt.secret'];
    const ids = [];
    for (const filename of names) {
      const res = await upload(server, a.accessToken, { data: SAMPLE_FILES.png.bytes, filename, contentType: 'image/png' });
      assert.equal(res.status, 201, `${filename}: ${res.text}`);
      assert.match(res.json.id, /^[0-9a-f]{32}$/);
      ids.push(res.json.id);
    }
    assert.equal(new Set(ids).size, names.length, 'a fresh id per upload');
    assert.deepEqual(filesIn(server), [...ids].sort(), 'files/ holds exactly the ids');
    for (const p of walk(server.dataDir)) {
      const base = path.basename(p);
      assert.ok(!/passwd|win\.ini|b\.png|x\.png|%2e/i.test(base), `nothing named after the client's filename: ${p}`);
    }
    // The database and the secret were not overwritten by the uploads named after them.
    assert.equal(fs.statSync(path.join(server.dataDir, 'jwt.secret')).size, 32);
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: a.accessToken })).status, 200);
    assert.equal(fs.existsSync(escapeTarget), existedBefore, `${escapeTarget} was not created`);
    assert.ok(fs.readFileSync('/etc/passwd').equals(passwdBefore), '/etc/passwd untouched');
  }));

test('file access: the owner, room members once it was posted there, DM parties; strangers get 404', T, () =>
  withChatServer(async (server) => {
    const owner = await userWithSocket(server);
    const member = await userWithSocket(server);
    const stranger = await register(server);
    const friend = await userWithSocket(server);
    const get = (token, id) => api(server, 'GET', `/api/files/${id}`, { token });
    try {
      const up = await upload(server, owner.accessToken, { data: SAMPLE_FILES.jpeg.bytes, filename: 'p.jpg', contentType: 'image/jpeg' });
      assert.equal(up.status, 201, up.text);
      const fid = up.json.id;

      assert.equal((await get(owner.accessToken, fid)).status, 200);
      assertError(await get(member.accessToken, fid), 404, 'not_found');
      assertError(await get(stranger.accessToken, fid), 404, 'not_found');
      assertError(await get(owner.accessToken, 'f'.repeat(32)), 404, 'not_found');
      assertError(await get(owner.accessToken, 'not-an-id'), 404, 'not_found');
      assertError(await get(owner.accessToken, fid.toUpperCase()), 404, 'not_found');
      assertError(await get(undefined, fid), 401, 'unauthorized');

      // Only the uploader may attach it.
      const room = await roomWithMembers(server, owner, [member], { name: 'files' });
      await joinRoom(owner.ws, room.id);
      await joinRoom(member.ws, room.id);
      const steal = await member.ws.request({ type: 'send_message', roomId: room.id, content: 'mine now', fileId: fid });
      assert.equal(steal.code, 'invalid_field', JSON.stringify(steal));

      const msg = await sendMessage(owner.ws, room.id, 'a photo', { fileId: fid });
      assert.equal(msg.fileId, fid);
      assert.equal((await member.ws.next('new_message')).message.fileId, fid);
      const h = await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token: member.accessToken });
      assert.equal(h.json.messages[0].fileId, fid, 'history keeps the fileId');
      const asMember = await get(member.accessToken, fid);
      assert.equal(asMember.status, 200, 'a room member may read it once it was posted');
      assertError(await get(stranger.accessToken, fid), 404, 'not_found');

      // A DM carrying a file shares it with the recipient only.
      const up2 = await upload(server, owner.accessToken, { data: SAMPLE_FILES.pdf.bytes, filename: 'd.pdf', contentType: 'application/pdf' });
      const dm = await sendDm(owner.ws, friend.id, 'the document', { fileId: up2.json.id });
      assert.equal(dm.fileId, up2.json.id);
      assert.equal((await friend.ws.next('new_dm')).message.fileId, up2.json.id);
      const asFriend = await fetch(`${server.url}/api/files/${up2.json.id}`, { headers: { authorization: `Bearer ${friend.accessToken}` }, signal: AbortSignal.timeout(10000) });
      assert.equal(asFriend.status, 200);
      assert.ok(Buffer.from(await asFriend.arrayBuffer()).equals(SAMPLE_FILES.pdf.bytes));
      assertError(await get(member.accessToken, up2.json.id), 404, 'not_found');

      // When the room ends, its members lose access (the owner keeps it).
      assert.equal((await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: owner.accessToken })).status, 204);
      assertError(await get(member.accessToken, fid), 404, 'not_found');
      assert.equal((await get(owner.accessToken, fid)).status, 200);
    } finally {
      await closeAll([owner.ws, member.ws, friend.ws]);
    }
  }));

// ---------------------------------------------------------------- REST rate limits

function assertRateLimited(res, what) {
  assertError(res, 429, 'rate_limited');
  const ms = res.json.error.retryAfter;
  assert.ok(Number.isInteger(ms) && ms > 0, `${what}: retryAfter in ms: ${res.text}`);
  assert.equal(res.headers.get('retry-after'), String(Math.ceil(ms / 1000)), `${what}: Retry-After is retryAfter in whole seconds`);
  return ms;
}

test('REST API requests are rate limited per user (429, retryAfter, Retry-After) and recover', T, () =>
  withChatServer({ limits: { '--limit-api': '2' } }, async (server) => {
    const a = await register(server);
    const b = await register(server);
    // 2 per second, burst 4.
    const statuses = [];
    let limited;
    for (let i = 0; i < 12 && !limited; i++) {
      const res = await api(server, 'GET', '/api/auth/me', { token: a.accessToken });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, `no 429 in ${statuses}`);
    assert.ok(statuses.filter((s) => s === 200).length >= 4, `the burst of 4 was served: ${statuses}`);
    const ms = assertRateLimited(limited, 'api');
    assert.ok(ms <= 501, `at 2/s the next token is at most 500 ms away (${ms})`);
    // Per user: b is not affected.
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: b.accessToken })).status, 200);
    // Every authenticated route shares the bucket.
    assertRateLimited(await api(server, 'GET', '/api/contacts', { token: a.accessToken }), 'contacts');
    await sleep(ms + 100);
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: a.accessToken })).status, 200, 'served again after retryAfter');
  }));

test('auth requests are rate limited per IP and recover', T, () =>
  withChatServer({ limits: { '--limit-auth': '30' } }, async (server) => {
    // 30 per minute with a burst of 30: quick requests (a 400 counts too) run out.
    let limited;
    let served = 0;
    for (let i = 0; i < 45 && !limited; i++) {
      const res = await api(server, 'POST', '/api/auth/login', { body: {} });
      if (res.status === 429) limited = res;
      else {
        assert.equal(res.status, 400, res.text);
        served += 1;
      }
    }
    assert.ok(limited, 'limited within 45 attempts');
    assert.ok(served >= 30 && served <= 33, `the burst of 30 was served, plus what refilled meanwhile (${served})`);
    const ms = assertRateLimited(limited, 'auth');
    assert.ok(ms <= 2001, `at 0.5/s the next token is at most 2 s away (${ms})`);
    assertRateLimited(await api(server, 'POST', '/api/auth/register', { body: {} }), 'register shares the bucket');
    await sleep(ms + 100);
    const again = await api(server, 'POST', '/api/auth/login', { body: {} });
    assert.equal(again.status, 400, `served again after retryAfter: ${again.text}`);
  }));

test('uploads are rate limited per user and recover; other routes are unaffected', T, () =>
  withChatServer({ limits: { '--limit-upload': '30' } }, async (server) => {
    const a = await register(server);
    let limited;
    let served = 0;
    for (let i = 0; i < 45 && !limited; i++) {
      const res = await upload(server, a.accessToken, { data: 'not an image', filename: 'x.png' });
      if (res.status === 429) limited = res;
      else {
        assert.equal(res.status, 415, res.text);
        served += 1;
      }
    }
    assert.ok(limited, 'limited within 45 uploads');
    assert.ok(served >= 30 && served <= 33, `the burst of 30 was served, plus what refilled meanwhile (${served})`);
    const ms = assertRateLimited(limited, 'upload');
    assert.ok(ms <= 2001, `at 0.5/s the next token is at most 2 s away (${ms})`);
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: a.accessToken })).status, 200, 'the API bucket is separate');
    const other = await register(server);
    const otherUp = await upload(server, other.accessToken, { data: SAMPLE_FILES.png.bytes, filename: 'o.png', contentType: 'image/png' });
    assert.equal(otherUp.status, 201, 'per user');
    await sleep(ms + 100);
    const ok = await upload(server, a.accessToken, { data: SAMPLE_FILES.png.bytes, filename: 'ok.png', contentType: 'image/png' });
    assert.equal(ok.status, 201, `served again after retryAfter: ${ok.text}`);
  }));
