// Accounts and tokens: register, login, me, refresh rotation and reuse,
// logout, and access tokens that are expired, forged or malformed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import {
  PASSWORD,
  api,
  assertAuthBody,
  assertError,
  assertUser,
  b64url,
  decodeJwt,
  login,
  newCredentials,
  readSecret,
  register,
  signJwt,
  startServer,
} from './lib.mjs';

const T = { timeout: 60000 };

async function withServer(fn) {
  const server = await startServer();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

const me = (server, token) => api(server, 'GET', '/api/auth/me', { token });
const refresh = (server, refreshToken) => api(server, 'POST', '/api/auth/refresh', { body: { refreshToken } });

test('register -> login -> me returns the same user', T, () =>
  withServer(async (server) => {
    const creds = newCredentials();
    const before = Date.now();
    const reg = await api(server, 'POST', '/api/auth/register', { body: creds });
    assert.equal(reg.status, 201, reg.text);
    assertAuthBody(reg.json, { email: creds.email, username: creds.username });
    const created = Date.parse(reg.json.user.createdAt);
    assert.ok(created >= before - 2000 && created <= Date.now() + 2000, `createdAt is now: ${reg.json.user.createdAt}`);

    const log = await api(server, 'POST', '/api/auth/login', { body: { email: creds.email, password: creds.password } });
    assert.equal(log.status, 200, log.text);
    assertAuthBody(log.json);
    assert.deepEqual(log.json.user, reg.json.user);
    assert.notEqual(log.json.refreshToken, reg.json.refreshToken, 'each login is a new session');
    assert.notEqual(decodeJwt(log.json.accessToken).payload.jti, decodeJwt(reg.json.accessToken).payload.jti);

    for (const token of [reg.json.accessToken, log.json.accessToken]) {
      const m = await me(server, token);
      assert.equal(m.status, 200, m.text);
      assert.deepEqual(m.json, { user: reg.json.user });
    }

    // A second user gets a different id, and /me tells them apart.
    const other = await register(server);
    assert.notEqual(other.user.id, reg.json.user.id);
    const m2 = await me(server, other.accessToken);
    assert.equal(m2.json.user.id, other.user.id);
    assert.equal(m2.json.user.username, other.username);
  }));

test('register rejects a taken email or username, case-insensitively', T, () =>
  withServer(async (server) => {
    const a = await register(server, { email: `Mixed_${Date.now()}@Example.com` });
    const sameEmail = await api(server, 'POST', '/api/auth/register', {
      body: newCredentials({ email: a.email.toUpperCase() }),
    });
    assertError(sameEmail, 409, 'conflict', 'email');
    const exactEmail = await api(server, 'POST', '/api/auth/register', { body: newCredentials({ email: a.email }) });
    assertError(exactEmail, 409, 'conflict', 'email');
    const sameNameBody = newCredentials({ username: a.username.toUpperCase() });
    const sameName = await api(server, 'POST', '/api/auth/register', { body: sameNameBody });
    assertError(sameName, 409, 'conflict', 'username');
    // The rejected registration did not create an account.
    const bad = await api(server, 'POST', '/api/auth/login', {
      body: { email: sameNameBody.email, password: sameNameBody.password },
    });
    assertError(bad, 401, 'invalid_credentials');
    // The original account is intact.
    await login(server, a.email);
  }));

test('register validates each field and names the bad one', T, () =>
  withServer(async (server) => {
    const long = (n, ch = 'a') => ch.repeat(n);
    const cases = [
      // [field, overrides]
      ['email', { email: 'not-an-email' }],
      ['email', { email: 'two@@example.com' }],
      ['email', { email: 'spa ce@example.com' }],
      ['email', { email: '' }],
      ['email', { email: 42 }],
      ['email', { email: null }],
      ['email', { email: undefined }],
      ['username', { username: 'ab' }],
      ['username', { username: long(51) }],
      ['username', { username: 'has space' }],
      ['username', { username: 'has-dash' }],
      ['username', { username: '' }],
      ['username', { username: 123456 }],
      ['username', { username: undefined }],
      ['password', { password: '1234567' }],
      ['password', { password: '🔑🔑🔑🔑🔑🔑🔑' }], // 7 characters, 28 bytes
      ['password', { password: 12345678 }],
      ['password', { password: ['longpassword'] }],
      ['password', { password: undefined }],
    ];
    for (const [field, overrides] of cases) {
      const body = newCredentials(overrides);
      const res = await api(server, 'POST', '/api/auth/register', { body });
      assertError(res, 400, 'invalid_field', field);
      // Nothing was stored: the username is still free.
      if (typeof body.username === 'string' && /^\w{3,50}$/.test(body.username)) {
        const ok = await api(server, 'POST', '/api/auth/register', { body: newCredentials({ username: body.username }) });
        assert.equal(ok.status, 201, `username ${body.username} free after a rejected register: ${ok.text}`);
      }
    }
  }));

test('register accepts the boundary values', T, () =>
  withServer(async (server) => {
    const r3 = await register(server, { username: `a${crypto.randomBytes(1).toString('hex')}`.slice(0, 3) });
    assert.equal(r3.user.username.length, 3);
    const name50 = `u_${crypto.randomBytes(24).toString('hex')}`.slice(0, 50);
    const r50 = await register(server, { username: name50 });
    assert.equal(r50.user.username, name50);
    const r8 = await register(server, { password: 'abcdefgh' });
    await login(server, r8.email, 'abcdefgh');
    const emoji = await register(server, { password: '🔑🔑🔑🔑🔑🔑🔑🔑' }); // 8 characters
    await login(server, emoji.email, '🔑🔑🔑🔑🔑🔑🔑🔑');
    const under = await register(server, { username: 'Under_Score_9' + crypto.randomBytes(3).toString('hex') });
    assert.match(under.user.username, /^Under_Score_9/);
  }));

test('login gives the same 401 for an unknown email and a wrong password', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const unknown = await api(server, 'POST', '/api/auth/login', {
      body: { email: `nobody_${Date.now()}@example.com`, password: PASSWORD },
    });
    assertError(unknown, 401, 'invalid_credentials');
    const wrong = await api(server, 'POST', '/api/auth/login', { body: { email: a.email, password: `${PASSWORD}x` } });
    assertError(wrong, 401, 'invalid_credentials');
    assert.equal(wrong.json.error.message, unknown.json.error.message, 'no hint which part was wrong');
    assert.ok(!('field' in wrong.json.error), 'no field on invalid_credentials');
    // No tokens in either answer.
    assert.ok(!('accessToken' in wrong.json) && !('accessToken' in unknown.json));
    // The right password still works afterwards.
    await login(server, a.email, PASSWORD);
  }));

test('refresh rotates the refresh token and issues a working access token', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const r1 = await refresh(server, a.refreshToken);
    assert.equal(r1.status, 200, r1.text);
    assertAuthBody(r1.json, { id: a.user.id });
    assert.notEqual(r1.json.refreshToken, a.refreshToken, 'a new refresh token');
    assert.notEqual(r1.json.accessToken, a.accessToken);
    const m = await me(server, r1.json.accessToken);
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.user.id, a.user.id);

    const r2 = await refresh(server, r1.json.refreshToken);
    assert.equal(r2.status, 200, r2.text);
    assert.notEqual(r2.json.refreshToken, r1.json.refreshToken);
    assert.notEqual(r2.json.refreshToken, a.refreshToken);
  }));

test('presenting a rotated refresh token revokes its whole family, and only it', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const other = await login(server, a.email); // a second session: another family
    const r1 = await refresh(server, a.refreshToken);
    assert.equal(r1.status, 200, r1.text);
    const r2 = await refresh(server, r1.json.refreshToken);
    assert.equal(r2.status, 200, r2.text);

    // r1's token was already rotated: reuse.
    const reuse = await refresh(server, r1.json.refreshToken);
    assertError(reuse, 401, 'refresh_token_reused');
    // The newest token of the family is dead too.
    const newest = await refresh(server, r2.json.refreshToken);
    assert.equal(newest.status, 401, newest.text);
    assert.equal(typeof newest.json?.error?.code, 'string');
    // And so is the original one.
    const original = await refresh(server, a.refreshToken);
    assert.equal(original.status, 401, original.text);

    // The other session's family is untouched.
    const otherRefresh = await refresh(server, other.refreshToken);
    assert.equal(otherRefresh.status, 200, otherRefresh.text);
    assert.equal(otherRefresh.json.user.id, a.user.id);
  }));

test('an unknown or malformed refresh token is invalid_refresh_token', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    // Same form as a real one (base64url of 32 bytes), never issued.
    const forged = b64url(crypto.randomBytes(32));
    assertError(await refresh(server, forged), 401, 'invalid_refresh_token');
    assertError(await refresh(server, 'not-a-token'), 401, 'invalid_refresh_token');
    // An access token is not a refresh token.
    assertError(await refresh(server, a.accessToken), 401, 'invalid_refresh_token');
    // A missing or non-string refreshToken is a bad field.
    assertError(await api(server, 'POST', '/api/auth/refresh', { body: {} }), 400, 'invalid_field', 'refreshToken');
    assertError(await api(server, 'POST', '/api/auth/refresh', { body: { refreshToken: 12345 } }), 400, 'invalid_field', 'refreshToken');
    // None of this hurt the real token.
    assert.equal((await refresh(server, a.refreshToken)).status, 200);
  }));

test('logout revokes the access token and the given refresh token, not other sessions', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const other = await login(server, a.email);
    const out = await api(server, 'POST', '/api/auth/logout', {
      token: a.accessToken,
      body: { refreshToken: a.refreshToken },
    });
    assert.equal(out.status, 204, out.text);
    assert.equal(out.text, '', '204 has no body');

    assert.equal((await me(server, a.accessToken)).status, 401, 'access token revoked');
    const rt = await refresh(server, a.refreshToken);
    assert.equal(rt.status, 401, `refresh token revoked: ${rt.text}`);
    // Logging out twice with the same token is unauthorized.
    const twice = await api(server, 'POST', '/api/auth/logout', { token: a.accessToken, body: {} });
    assert.equal(twice.status, 401, twice.text);

    // The other session still works.
    assert.equal((await me(server, other.accessToken)).status, 200);
    assert.equal((await refresh(server, other.refreshToken)).status, 200);
  }));

test('logout without a refresh token revokes the access token; without a Bearer it is 401', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const anon = await api(server, 'POST', '/api/auth/logout', { body: { refreshToken: a.refreshToken } });
    assertError(anon, 401, 'unauthorized');
    // The failed logout did not revoke anything.
    assert.equal((await me(server, a.accessToken)).status, 200);

    const out = await api(server, 'POST', '/api/auth/logout', { token: a.accessToken });
    assert.equal(out.status, 204, out.text);
    assertError(await me(server, a.accessToken), 401, 'unauthorized');
    // A new login still works.
    const again = await login(server, a.email);
    assert.equal((await me(server, again.accessToken)).status, 200);
  }));

test('missing, garbage and malformed Bearer tokens are 401 unauthorized', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    assertError(await api(server, 'GET', '/api/auth/me'), 401, 'unauthorized');
    const variants = [
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer garbage' },
      { authorization: 'Bearer a.b.c' },
      { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
      { authorization: a.accessToken }, // no scheme
      { authorization: `Bearer ${a.accessToken}x` }, // broken signature
      { authorization: `Bearer ${a.accessToken.split('.').slice(0, 2).join('.')}` }, // no signature
    ];
    for (const headers of variants) {
      const res = await api(server, 'GET', '/api/auth/me', { headers });
      assertError(res, 401, 'unauthorized');
    }
    // The real one, for contrast.
    assert.equal((await me(server, a.accessToken)).status, 200);
  }));

test('a token signed with the node secret works; expired is token_expired; forged ones are 401', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const key = readSecret(server);
    assert.equal(key.length, 32, 'jwt.secret holds 32 raw bytes');
    const now = Math.floor(Date.now() / 1000);
    const claims = (over = {}) => ({
      sub: String(a.user.id),
      iat: now - 60,
      exp: now + 600,
      jti: crypto.randomBytes(16).toString('hex'),
      ...over,
    });

    // Control: our signing matches the node's, so the cases below test what they claim.
    const good = await me(server, signJwt(claims(), key));
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json.user.id, a.user.id);

    const expired = await me(server, signJwt(claims({ iat: now - 1000, exp: now - 100 }), key));
    assertError(expired, 401, 'token_expired');

    const otherKey = await me(server, signJwt(claims(), crypto.randomBytes(32)));
    assertError(otherKey, 401, 'unauthorized');

    const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}.`;
    assert.equal((await me(server, none)).status, 401, 'alg none without signature');
    const noneSigned = signJwt(claims(), key, { alg: 'none', typ: 'JWT' });
    assert.equal((await me(server, noneSigned)).status, 401, 'alg none with a signature');
    const hs512 = signJwt(claims(), key, { alg: 'HS512', typ: 'JWT' });
    assert.equal((await me(server, hs512)).status, 401, 'alg other than HS256');

    // Swap the payload of a's real token for one naming b, keeping a's signature.
    const [h, , s] = a.accessToken.split('.');
    const p = decodeJwt(a.accessToken).payload;
    const tampered = `${h}.${b64url(JSON.stringify({ ...p, sub: String(b.user.id) }))}.${s}`;
    assertError(await me(server, tampered), 401, 'unauthorized');

    // A well-signed token for a user that does not exist.
    const ghost = await me(server, signJwt(claims({ sub: '999999' }), key));
    assert.equal(ghost.status, 401, ghost.text);
  }));
