// GET /api/rooms: which rooms a user sees, newest first, and its pages
// (limit, before, hasMore).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, assertError, createRoom, register, startServer } from './lib.mjs';

const T = { timeout: 60000 };

test('GET /api/rooms lists public rooms and the private ones the caller is in, newest first, in pages', T, async () => {
  const server = await startServer();
  try {
    const a = await register(server);
    const b = await register(server);
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await createRoom(server, a.accessToken, { name: `public ${i}` }));
    const bPrivate = await createRoom(server, b.accessToken, { name: 'b only', private: true });
    const shared = await createRoom(server, b.accessToken, { name: 'b and a', private: true });
    assert.equal((await api(server, 'POST', `/api/rooms/${shared.code}/join`, { token: a.accessToken })).status, 200);
    const ended = await createRoom(server, a.accessToken, { name: 'ended' });
    assert.equal((await api(server, 'DELETE', `/api/rooms/${ended.id}`, { token: a.accessToken })).status, 204);

    const expected = [...created.map((r) => r.id), shared.id].sort((x, y) => y - x);
    const all = await api(server, 'GET', '/api/rooms', { token: a.accessToken });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json.rooms.map((r) => r.id), expected);
    assert.equal(all.json.hasMore, false);
    assert.equal(all.json.rooms.find((r) => r.id === shared.id).memberCount, 2);
    assert.ok(!all.json.rooms.some((r) => r.id === bPrivate.id || r.id === ended.id));

    // Pages of three, following before= from the last id of each page.
    const seen = [];
    let before = 0;
    for (let page = 0; page < 10; page++) {
      const q = `/api/rooms?limit=3${before ? `&before=${before}` : ''}`;
      const res = await api(server, 'GET', q, { token: a.accessToken });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json.rooms.length <= 3);
      seen.push(...res.json.rooms.map((r) => r.id));
      if (!res.json.hasMore) break;
      assert.equal(res.json.rooms.length, 3);
      before = res.json.rooms.at(-1).id;
    }
    assert.deepEqual(seen, expected);

    // b sees its own private rooms too, and a's public ones.
    const bList = await api(server, 'GET', '/api/rooms', { token: b.accessToken });
    assert.deepEqual(bList.json.rooms.map((r) => r.id), [...expected, bPrivate.id].sort((x, y) => y - x));

    for (const q of ['limit=0', 'limit=x', 'before=-1']) assertError(await api(server, 'GET', `/api/rooms?${q}`, { token: a.accessToken }), 400, 'invalid_field');
    assert.equal((await api(server, 'GET', '/api/rooms?limit=100000', { token: a.accessToken })).json.rooms.length, expected.length);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
