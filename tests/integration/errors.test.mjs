// Cross-cutting behaviour: routing errors, body limits, malformed input,
// health, metrics, and raw garbage on the socket.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import {
  api,
  assertError,
  createRoom,
  getMetrics,
  lines,
  login,
  metricValue,
  newCredentials,
  postMessage,
  rawExchange,
  rawStatus,
  register,
  runOnce,
  sleep,
  startServer,
  withTimeout,
} from './lib.mjs';

const T = { timeout: 90000 };
const MAX_BODY = 64 * 1024;

async function withServer(fn) {
  const server = await startServer();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

test('unknown /api paths are 404 not_found', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'r' });
    const paths = [
      ['GET', '/api/nope'],
      ['GET', '/api/'],
      ['POST', '/api/auth/nope'],
      ['GET', '/api/auth'],
      ['GET', `/api/rooms/${room.id}/nope`],
      ['GET', `/api/rooms/${room.id}/messages/1`],
      ['DELETE', '/api/users/1'],
      ['GET', '/api/health/extra'],
    ];
    for (const [method, path] of paths) {
      assertError(await api(server, method, path, { token: a.accessToken }), 404, 'not_found');
      assertError(await api(server, method, path), 404, 'not_found');
    }
  }));

test('a known path with a wrong method is 405 method_not_allowed', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'r' });
    const calls = [
      ['GET', '/api/auth/register'],
      ['PUT', '/api/auth/register'],
      ['GET', '/api/auth/login'],
      ['DELETE', '/api/auth/refresh'],
      ['GET', '/api/auth/logout'],
      ['POST', '/api/auth/me'],
      ['DELETE', '/api/auth/me'],
      ['POST', '/api/health'],
      ['PUT', '/api/rooms'],
      ['DELETE', '/api/rooms'],
      ['PATCH', `/api/rooms/${room.id}`],
      ['PUT', `/api/rooms/${room.id}`],
      ['GET', `/api/rooms/${room.id}/join`],
      ['GET', `/api/rooms/${room.id}/leave`],
      ['POST', `/api/rooms/${room.id}/members`],
      ['DELETE', `/api/rooms/${room.id}/messages`],
    ];
    for (const [method, path] of calls) {
      assertError(await api(server, method, path, { token: a.accessToken }), 405, 'method_not_allowed');
    }
    // None of them changed anything.
    const r = await api(server, 'GET', `/api/rooms/${room.id}`, { token: a.accessToken });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.room, room);
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: a.accessToken })).status, 200);
  }));

test('a body over 64 KiB is 413 payload_too_large and stores nothing; exactly 64 KiB is fine', T, () =>
  withServer(async (server) => {
    // Register with whitespace padding to an exact size.
    const padTo = (obj, size) => {
      const s = JSON.stringify(obj);
      assert.ok(s.length <= size);
      return s + ' '.repeat(size - Buffer.byteLength(s));
    };
    const tooBig = newCredentials();
    const big = await api(server, 'POST', '/api/auth/register', { rawBody: padTo(tooBig, MAX_BODY + 1) });
    assertError(big, 413, 'payload_too_large');
    const huge = await api(server, 'POST', '/api/auth/register', { rawBody: padTo(tooBig, 1024 * 1024) });
    assertError(huge, 413, 'payload_too_large');
    // Not stored: the same email and username register fine now.
    const fresh = await api(server, 'POST', '/api/auth/register', { body: tooBig });
    assert.equal(fresh.status, 201, fresh.text);

    const exact = newCredentials();
    const ok = await api(server, 'POST', '/api/auth/register', { rawBody: padTo(exact, MAX_BODY) });
    assert.equal(ok.status, 201, `a 65536-byte body is within the limit: ${ok.text.slice(0, 300)}`);

    // A message whose JSON is too big.
    const token = fresh.json.accessToken;
    const room = await createRoom(server, token, { name: 'limits' });
    const msg = await api(server, 'POST', `/api/rooms/${room.id}/messages`, {
      token,
      body: { content: 'x'.repeat(70000) },
    });
    assertError(msg, 413, 'payload_too_large');
    const h = await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token });
    assert.deepEqual(h.json.messages, []);
    // The connection state is sane afterwards.
    await postMessage(server, token, room.id, 'small');
  }));

test('malformed JSON and non-object JSON are 400 invalid_json', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'json' });
    const bodies = ['{"email":', 'not json', '{email: "a@b.c"}', "{'a':1}", '{"a":1}}', '{"a":1,}', '[]', '[{"name":"x"}]',
      '"a string"', '123', 'true', 'null', '\u00ff\u00fe'];
    const targets = [
      [undefined, '/api/auth/register'],
      [undefined, '/api/auth/login'],
      [undefined, '/api/auth/refresh'],
      [a.accessToken, '/api/rooms'],
      [a.accessToken, `/api/rooms/${room.id}/messages`],
    ];
    for (const [token, path] of targets) {
      for (const rawBody of bodies) {
        const res = await api(server, 'POST', path, { token, rawBody });
        assertError(res, 400, 'invalid_json');
        assert.ok(!('field' in res.json.error), `no field on invalid_json: ${res.text}`);
      }
    }
    // Invalid UTF-8 inside a JSON string is not JSON either.
    const badUtf8 = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    assertError(await api(server, 'POST', '/api/rooms', { token: a.accessToken, rawBody: badUtf8 }), 400, 'invalid_json');
    // Nothing was created.
    const list = await api(server, 'GET', '/api/rooms', { token: a.accessToken });
    assert.deepEqual(list.json.rooms.map((r) => r.id), [room.id]);
    const h = await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token: a.accessToken });
    assert.deepEqual(h.json.messages, []);
  }));

test('wrong JSON types are invalid_field naming the field', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'types' });
    const cases = [
      ['/api/auth/register', undefined, { ...newCredentials(), password: 12345678 }, 'password'],
      ['/api/auth/register', undefined, { ...newCredentials(), email: { address: 'a@b.c' } }, 'email'],
      ['/api/auth/register', undefined, { ...newCredentials(), username: true }, 'username'],
      ['/api/auth/refresh', undefined, { refreshToken: ['x'] }, 'refreshToken'],
      ['/api/rooms', a.accessToken, { name: 5 }, 'name'],
      ['/api/rooms', a.accessToken, { name: 'ok', private: 'true' }, 'private'],
      [`/api/rooms/${room.id}/messages`, a.accessToken, { content: 5 }, 'content'],
      [`/api/rooms/${room.id}/messages`, a.accessToken, { content: false }, 'content'],
    ];
    for (const [path, token, body, field] of cases) {
      assertError(await api(server, 'POST', path, { token, body }), 400, 'invalid_field', field);
    }
  }));

test('errors are JSON with an error object', T, () =>
  withServer(async (server) => {
    const samples = [
      await api(server, 'GET', '/api/nope'),
      await api(server, 'GET', '/api/auth/me'),
      await api(server, 'POST', '/api/auth/login', { rawBody: '{' }),
      await api(server, 'POST', '/api/auth/register', { body: { email: 'x' } }),
      await api(server, 'PUT', '/api/health'),
    ];
    for (const res of samples) {
      assert.ok(res.status >= 400, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `content-type of ${res.status}`);
      assert.deepEqual(Object.keys(res.json), ['error'], res.text);
      const keys = Object.keys(res.json.error).sort();
      assert.ok(
        JSON.stringify(keys) === '["code","message"]' || JSON.stringify(keys) === '["code","field","message"]',
        `error keys: ${keys}`,
      );
    }
  }));

test('GET /api/health reports ok, uptime and the version', T, async () => {
  const v = await runOnce(['--version']);
  const version = v.stdout.trim().replace(/^sfu\s+/, '');
  await withServer(async (server) => {
    const h1 = await api(server, 'GET', '/api/health');
    assert.equal(h1.status, 200, h1.text);
    assert.match(h1.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(h1.json.status, 'ok');
    assert.equal(h1.json.store, 'ok');
    assert.equal(h1.json.version, version);
    assert.equal(typeof h1.json.uptimeSeconds, 'number');
    assert.ok(h1.json.uptimeSeconds >= 0 && h1.json.uptimeSeconds < 60, `uptime ${h1.json.uptimeSeconds}`);
    await sleep(2100);
    const h2 = await api(server, 'GET', '/api/health');
    assert.ok(h2.json.uptimeSeconds >= h1.json.uptimeSeconds + 1, `uptime grows: ${h1.json.uptimeSeconds} -> ${h2.json.uptimeSeconds}`);
  });
});

test('GET /metrics: Prometheus text with HELP/TYPE, users and rooms gauges, uptime', T, () =>
  withServer(async (server) => {
    const m0 = await getMetrics(server);
    assert.equal(m0.status, 200, m0.text);
    assert.match(m0.contentType ?? '', /^text\/plain/);
    const types = { sfu_http_requests_total: 'counter', sfu_users: 'gauge', sfu_rooms: 'gauge', sfu_uptime_seconds: null };
    for (const [name, type] of Object.entries(types)) {
      assert.match(m0.text, new RegExp(`^# HELP ${name} \\S`, 'm'), `HELP for ${name}`);
      const t = new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(m0.text);
      assert.ok(t, `TYPE for ${name}`);
      if (type) assert.equal(t[1], type, `${name} is a ${type}`);
    }
    // Every sample belongs to a metric with HELP and TYPE.
    for (const s of m0.samples) {
      const base = s.name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(
        m0.text.includes(`# TYPE ${s.name} `) || m0.text.includes(`# TYPE ${base} `),
        `TYPE line for sample ${s.name}`,
      );
    }
    assert.equal(metricValue(m0.samples, 'sfu_users'), 0);
    assert.equal(metricValue(m0.samples, 'sfu_rooms'), 0);
    assert.ok(metricValue(m0.samples, 'sfu_uptime_seconds') >= 0);
    assert.ok(m0.samples.some((s) => s.name === 'sfu_uptime_seconds'), 'uptime sample present');

    const a = await register(server);
    const b = await register(server);
    await register(server);
    const r1 = await createRoom(server, a.accessToken, { name: 'one' });
    await createRoom(server, b.accessToken, { name: 'two', private: true });
    await createRoom(server, b.accessToken, { name: 'three' });
    const del = await api(server, 'DELETE', `/api/rooms/${r1.id}`, { token: a.accessToken });
    assert.equal(del.status, 204);

    const m1 = await getMetrics(server);
    assert.equal(metricValue(m1.samples, 'sfu_users'), 3);
    assert.equal(metricValue(m1.samples, 'sfu_rooms'), 2, 'live rooms only');
  }));

test('sfu_http_requests_total counts by method, route pattern and status', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const outsider = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'count me', private: true });
    const route = '/api/rooms/:id/messages';
    const count = (samples, labels) => metricValue(samples, 'sfu_http_requests_total', labels);

    const before = (await getMetrics(server)).samples;
    for (let i = 0; i < 3; i++) await postMessage(server, a.accessToken, room.id, `n${i}`);
    for (let i = 0; i < 2; i++) {
      const res = await api(server, 'POST', `/api/rooms/${room.id}/messages`, { token: outsider.accessToken, body: { content: 'x' } });
      assert.equal(res.status, 403);
    }
    const bad = await api(server, 'POST', `/api/rooms/${room.id}/messages`, { token: a.accessToken, body: { content: '' } });
    assert.equal(bad.status, 400);
    for (let i = 0; i < 4; i++) assert.equal((await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token: a.accessToken })).status, 200);
    assert.equal((await api(server, 'GET', '/api/health')).status, 200);

    const want = [
      [{ method: 'POST', route, status: '201' }, 3],
      [{ method: 'POST', route, status: '403' }, 2],
      [{ method: 'POST', route, status: '400' }, 1],
      [{ method: 'GET', route, status: '200' }, 4],
    ];
    // Counters may be bumped just after the reply is written: wait up to 2 s.
    let after;
    const deadline = Date.now() + 2000;
    do {
      after = (await getMetrics(server)).samples;
      if (want.every(([l, n]) => count(after, l) - count(before, l) >= n)) break;
      await sleep(100);
    } while (Date.now() < deadline);
    for (const [labels, n] of want) {
      assert.equal(count(after, labels) - count(before, labels), n, `delta of ${JSON.stringify(labels)}`);
    }
    assert.ok(
      count(after, { method: 'GET', route: '/api/health', status: '200' }) > count(before, { method: 'GET', route: '/api/health', status: '200' }),
      'health requests are counted under their route',
    );
    // Route labels are patterns, never concrete ids or codes.
    for (const s of after.filter((x) => x.name === 'sfu_http_requests_total')) {
      assert.ok(['method', 'route', 'status'].every((k) => k in s.labels), `labels of ${JSON.stringify(s.labels)}`);
      assert.ok(!s.labels.route.includes(`/${room.id}/`) && !s.labels.route.endsWith(`/${room.id}`), `route ${s.labels.route}`);
      assert.ok(!s.labels.route.includes(room.code), `route ${s.labels.route}`);
      assert.match(s.labels.status, /^\d{3}$/);
      assert.ok(Number.isInteger(s.value) && s.value >= 0);
    }
  }));

test('garbage on the socket never crashes the node', T, () =>
  withServer(async (server) => {
    const victim = await register(server);
    const port = server.port;
    const reg = JSON.stringify(newCredentials());
    const truncCreds = newCredentials();
    const trunc = JSON.stringify(truncCreds);
    const junk = Buffer.alloc(8192);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    const deepJson = `{"email":${'['.repeat(20000)}${']'.repeat(20000)},"username":"x","password":"y"}`;
    const bursts = [
      ['GARBAGE\r\n\r\n'],
      ['GET\r\n\r\n'],
      ['\r\n\r\n\r\n'],
      ['GET / HTTP/9.9\r\n\r\n'],
      ['GET /api/health HTTP/1.1\r\n\r\n'], // no Host
      ['GET /api/health\r\nHost: x\r\n\r\n'], // no version
      ['GET /api/health HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\n\r\n'],
      [junk],
      [Buffer.from([0, 0, 0, 0, 0x16, 0x03, 0x01, 0x02, 0x00, 0x01])], // TLS-ish hello on plain HTTP
      [`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`],
      [`GET /api/health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`],
      [`GET /api/${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      [`GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'x'.repeat(20000)}\r\n\r\n`],
      [`GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a.'.repeat(3000)}\r\n\r\n`],
      [`POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${trunc.length + 500}\r\n\r\n${trunc}`],
      [`POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"email":`, 200],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 50\r\n\r\n{}'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
      [`POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${(70000).toString(16)}\r\n${'x'.repeat(70000)}\r\n0\r\n\r\n`],
      [`POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(deepJson)}\r\n\r\n${deepJson}`],
      [`POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${victim.accessToken}\r\nContent-Length: 3\r\n\r\n{"n`],
      ['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n'],
      ['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: !!\r\nSec-WebSocket-Version: 99\r\n\r\n', junk],
      ['GET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n'],
      ['POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n'],
      ['G'],
      ['GET /api/health HTTP/1.1\r\nHost: x\r\n'], // headers never finished
      ['GET /api/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['GET /api/rooms/%00%ff%zz HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['DELETE * HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n'],
      [`POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: ${reg.length}\r\n\r\n`, 50, reg.slice(0, 10), 50, reg.slice(10)],
    ];

    // Several rounds, each burst on its own connection, all at once; then
    // the same bursts cut off by a reset right after writing.
    for (let round = 0; round < 3; round++) {
      const results = await withTimeout(
        Promise.all(bursts.map((chunks) => rawExchange(port, chunks, { timeoutMs: 3000, destroyAfterWrite: round === 2 }))),
        20000,
        'garbage round',
      );
      assert.equal(server.exited(), null, `node died in round ${round}; stderr:\n${server.stderr().slice(-3000)}`);
      // Anything that did answer answered with HTTP, not a crash dump.
      for (const r of results) {
        if (r.data.length) {
          assert.ok(rawStatus(r.data) !== null, `an answer starts with a status line: ${JSON.stringify(r.data.slice(0, 80))}`);
        }
      }
    }

    // Idle connections do not block the node.
    const idle = [];
    for (let i = 0; i < 50; i++) idle.push(net.connect({ host: '127.0.0.1', port }).on('error', () => {}));
    try {
      const h = await api(server, 'GET', '/api/health', { timeoutMs: 5000 });
      assert.equal(h.status, 200, 'health answers while 50 idle connections are open');
    } finally {
      for (const s of idle) s.destroy();
    }

    assert.equal(server.exited(), null, `node died; stderr:\n${server.stderr().slice(-3000)}`);
    const health = await api(server, 'GET', '/api/health');
    assert.equal(health.status, 200, health.text);
    assert.equal(health.json.status, 'ok');
    // The API still works and the truncated bodies stored nothing.
    const me = await api(server, 'GET', '/api/auth/me', { token: victim.accessToken });
    assert.equal(me.status, 200, me.text);
    const truncLogin = await api(server, 'POST', '/api/auth/login', { body: { email: truncCreds.email, password: truncCreds.password } });
    assert.equal(truncLogin.status, 401, `a truncated register body must not create an account: ${truncLogin.text}`);
    const again = await api(server, 'POST', '/api/auth/register', { body: truncCreds });
    assert.equal(again.status, 201, again.text);
    await login(server, victim.email);
    const rooms = await api(server, 'GET', '/api/rooms', { token: victim.accessToken });
    assert.deepEqual(rooms.json.rooms, [], 'the truncated room body created nothing');
    // Nothing alarming in the log either.
    assert.ok(!/AddressSanitizer|runtime error|Segmentation|double free/i.test(server.stderr()), lines(server.stderr()).slice(-20).join('\n'));
  }));
