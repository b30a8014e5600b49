// Running a node for months: one node per data directory, a config file,
// /metrics kept private, a trusted reverse proxy, access and failed-login
// log lines, and the operator commands `sfu backup` and `sfu admin`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';

import {
  PASSWORD,
  REPO_ROOT,
  SFU_BIN,
  api,
  assertError,
  freePort,
  freeUdpPort,
  login,
  makeCert,
  makeTempDir,
  register,
  removeDir,
  runOnce,
  sleep,
  startServer,
} from './lib.mjs';
import { SAMPLE_FILES, upload } from './ws-lib.mjs';

const T = { timeout: 30000 };

// stderr lines of server that match re, within ms.
async function logLines(server, re, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = server.stderr().split('\n').filter((l) => re.test(l));
    if (found.length || Date.now() > deadline) return found;
    await sleep(50);
  }
}

test('a second node on the same data directory refuses to start, naming the first', T, async () => {
  const server = await startServer();
  try {
    const r = await runOnce([
      '--listen', `127.0.0.1:${await freePort()}`, '--rtc-port', String(await freeUdpPort()), '--workers', '1',
      '--data', server.dataDir,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`data directory '.*' is in use by another sfu process \\(pid ${server.proc.pid}\\)`));
    // The first node is unharmed.
    assert.equal((await api(server, 'GET', '/api/health')).status, 200);
  } finally {
    await server.stop();
  }
  // Once it stopped, the directory can be used again.
  const again = await startServer({ dataDir: makeTempDir() });
  await again.stop();
});

test('--config FILE: options from the file, flags win, a bad line names file and line', T, async () => {
  const dir = makeTempDir('sfu-conf-');
  const token = 'metrics-token-0123456789';
  try {
    const file = path.join(dir, 'sfu.conf');
    fs.writeFileSync(file, ['# node options', 'log-level = "warn"', `metrics-token = ${token}`, 'access-log = on', ''].join('\n'));
    // The file says warn; the flag says info and wins (access lines are info).
    const server = await startServer({ args: ['--config', file, '--log-level', 'info'] });
    try {
      const health = await api(server, 'GET', '/api/health');
      assert.equal(health.status, 200);
      const access = await logLines(server, /mod=access .*GET \/api\/health 200/);
      assert.ok(access.length >= 1, `an access line per request:\n${server.stderr().slice(-2000)}`);
      // The token from the file opens /metrics to a forwarded (non-loopback) client.
      const fwd = { 'x-forwarded-for': '203.0.113.9' };
      assert.equal((await api(server, 'GET', '/metrics', { headers: fwd })).status, 403);
      assert.equal((await api(server, 'GET', '/metrics', { headers: fwd, token })).status, 200);
    } finally {
      await server.stop();
    }
    fs.appendFileSync(file, 'no-such-option = 1\n');
    const bad = await runOnce(['--config', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /sfu\.conf:5: unknown option 'no-such-option'/);
    const missing = await runOnce(['--config', path.join(dir, 'absent.conf')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--config: cannot read '.*absent\.conf'/);
  } finally {
    removeDir(dir);
  }
});

test('/metrics answers loopback clients only, unless they come through a proxy; the token opens it', T, async () => {
  const server = await startServer();
  try {
    assert.equal((await api(server, 'GET', '/metrics')).status, 200);
    const fwd = await api(server, 'GET', '/metrics', { headers: { 'x-forwarded-for': '198.51.100.7' } });
    assertError(fwd, 403, 'forbidden');
    // No token configured: none opens it.
    const guess = await api(server, 'GET', '/metrics', { headers: { 'x-forwarded-for': '198.51.100.7' }, token: 'x'.repeat(24) });
    assertError(guess, 403, 'forbidden');
  } finally {
    await server.stop();
  }
});

test('--trusted-proxy: X-Forwarded-For from that address names the client for rate limits; from others it is ignored', T, async () => {
  const attempt = (server, ip) =>
    api(server, 'POST', '/api/auth/login', {
      body: { email: 'nobody@example.test', password: 'wrong password' },
      headers: { 'x-forwarded-for': `10.9.9.9, ${ip}` },
    });
  const proxied = await startServer({ args: ['--trusted-proxy', '127.0.0.1', '--limit-auth', '2'] });
  try {
    assert.equal((await attempt(proxied, '192.0.2.1')).status, 401);
    assert.equal((await attempt(proxied, '192.0.2.1')).status, 401);
    assertError(await attempt(proxied, '192.0.2.1'), 429, 'rate_limited');
    // Another client behind the same proxy has its own bucket.
    assert.equal((await attempt(proxied, '192.0.2.2')).status, 401);
    const failed = await logLines(proxied, /failed login for an unknown email from 192\.0\.2\.1/);
    assert.ok(failed.length >= 2, `failed logins are logged with the client's address:\n${proxied.stderr().slice(-2000)}`);
  } finally {
    await proxied.stop();
  }
  const direct = await startServer({ args: ['--limit-auth', '2'] });
  try {
    assert.equal((await attempt(direct, '192.0.2.1')).status, 401);
    assert.equal((await attempt(direct, '192.0.2.2')).status, 401);
    // Not a trusted proxy: both came from 127.0.0.1 and share its bucket.
    assertError(await attempt(direct, '192.0.2.3'), 429, 'rate_limited');
  } finally {
    await direct.stop();
  }
});

test('sfu backup DEST while the node runs: the copy is a data directory with the same users, tokens and files', T, async () => {
  const server = await startServer();
  const dest = path.join(makeTempDir('sfu-bak-'), 'backup');
  let restored = null;
  try {
    const alice = await register(server);
    const up = await upload(server, alice.accessToken, { data: SAMPLE_FILES.png.bytes, filename: 'p.png', contentType: 'image/png' });
    assert.equal(up.status, 201, up.text);
    const r = await runOnce(['backup', dest, '--data', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sfu\.db, jwt\.secret, 1 file/);
    assert.equal(fs.statSync(path.join(dest, 'sfu.db')).mode & 0o077, 0, 'the copy is private to its owner');
    // An existing destination is refused.
    const twice = await runOnce(['backup', dest, '--data', server.dataDir]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /must not exist yet/);
    await server.stop();

    restored = await startServer({ dataDir: dest });
    const again = await login(restored, alice.email, PASSWORD);
    assert.equal(again.user.id, alice.user.id);
    // The old access token still verifies: jwt.secret came along.
    const me = await api(restored, 'GET', '/api/auth/me', { token: alice.accessToken });
    assert.equal(me.status, 200, me.text);
    const got = await fetch(restored.url + up.json.url, { headers: { authorization: `Bearer ${alice.accessToken}` } });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(SAMPLE_FILES.png.bytes), 'the upload is in the backup');
  } finally {
    await restored?.stop();
    await server.stop();
    removeDir(path.dirname(dest));
  }
});

test('sfu admin: users list and delete, reports list and resolve', T, async () => {
  const server = await startServer();
  try {
    const a = await register(server);
    const b = await register(server);
    const admin = (...args) => runOnce(['admin', ...args, '--data', server.dataDir]);
    const users = await admin('users', 'list');
    assert.equal(users.code, 0, users.stderr);
    const rows = users.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(rows[0], ['id', 'username', 'email', 'created_at', 'last_seen']);
    assert.deepEqual(rows.slice(1).map((r) => r[1]), [a.user.username, b.user.username]);

    assert.equal((await api(server, 'POST', `/api/users/${b.user.id}/report`, { token: a.accessToken, body: { reason: 'spam\tand more' } })).status, 201);
    const reports = await admin('reports', 'list');
    assert.equal(reports.code, 0, reports.stderr);
    const rep = reports.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rep.length, 2, reports.stdout);
    assert.deepEqual(rep[1].slice(2), [String(a.user.id), a.user.username, String(b.user.id), b.user.username, 'spam and more']);
    assert.equal((await admin('reports', 'resolve', rep[1][0])).code, 0);
    assert.equal((await admin('reports', 'list')).stdout.trim().split('\n').length, 1, 'resolved reports are gone');

    const del = await admin('users', 'delete', String(b.user.id));
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted/);
    const gone = await api(server, 'POST', '/api/auth/login', { body: { email: b.email, password: PASSWORD } });
    assertError(gone, 401, 'invalid_credentials');
    const missing = await admin('users', 'delete', String(b.user.id));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no user with id/);
    const bad = await admin('users', 'frobnicate');
    assert.equal(bad.code, 2);
  } finally {
    await server.stop();
  }
});

// The certificate a TLS client sees on port (its subject CN), or null.
function servedCn(port) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject?.CN ?? null;
      s.destroy();
      resolve(cn);
    });
    s.on('error', () => resolve(null));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(null);
    });
  });
}

test('SIGHUP reads a renewed TLS certificate again; a broken one is refused and the old one stays', T, async () => {
  const dir = makeTempDir('sfu-tls-');
  const live = makeCert(dir, 'live');
  const port = await freePort();
  const proc = spawn(SFU_BIN, ['--listen', `127.0.0.1:${port}`, '--rtc-port', String(await freeUdpPort()), '--workers', '1',
    '--data', path.join(dir, 'data'), '--tls-cert', live.cert, '--tls-key', live.key], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  try {
    let cn = null;
    for (let i = 0; i < 100 && !cn; i++) {
      cn = await servedCn(port);
      if (!cn) await sleep(50);
    }
    assert.equal(cn, 'live', stderr);
    // Renewal: new files under the same paths, then SIGHUP.
    const renewed = makeCert(dir, 'renewed');
    fs.copyFileSync(renewed.cert, live.cert);
    fs.copyFileSync(renewed.key, live.key);
    proc.kill('SIGHUP');
    await sleep(300);
    assert.equal(await servedCn(port), 'renewed', stderr);
    assert.match(stderr, /TLS certificate reloaded/);
    // A certificate that does not match its key: refused, the renewed one stays.
    const other = makeCert(dir, 'other');
    fs.copyFileSync(other.cert, live.cert);
    proc.kill('SIGHUP');
    await sleep(300);
    assert.match(stderr, /TLS certificate not reloaded: .*does not match/);
    assert.equal(await servedCn(port), 'renewed', stderr);
  } finally {
    proc.kill('SIGTERM');
    await exited;
    removeDir(dir);
  }
});

test('make install DESTDIR=...: binary, web client, a hardened unit that verifies, a config file that a second install keeps', { timeout: 120000 }, async () => {
  const root = makeTempDir('sfu-inst-');
  try {
    const build = path.relative(REPO_ROOT, path.dirname(SFU_BIN));
    // The same flags the binary under test was built with, so make finds it up to date.
    const makeArgs = ['-s', '-C', REPO_ROOT, 'install', `BUILD=${build}`, `SANITIZE=${/asan/.test(build) ? 1 : 0}`, `DESTDIR=${root}`, 'PREFIX=/usr'];
    execFileSync('make', makeArgs, { stdio: 'pipe' });
    const bin = path.join(root, 'usr/bin/sfu');
    assert.ok(fs.statSync(bin).mode & 0o111, 'the binary is executable');
    assert.ok(fs.existsSync(path.join(root, 'usr/share/sfu/www/index.html')));
    const unit = fs.readFileSync(path.join(root, 'etc/systemd/system/sfu.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/sfu --config \/etc\/sfu\/sfu\.conf --data \/var\/lib\/sfu --www \/usr\/share\/sfu\/www$/m);
    for (const opt of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
      'CapabilityBoundingSet=', 'SystemCallFilter=@system-service', 'MemoryDenyWriteExecute=yes', 'ExecReload=/bin/kill -HUP $MAINPID']) {
      assert.ok(unit.split('\n').includes(opt), `the unit sets ${opt}`);
    }
    assert.doesNotMatch(unit, /@[A-Z]+@/, 'every placeholder is filled');
    const unitPath = path.join(root, 'etc/systemd/system/sfu.service');
    try {
      execFileSync('systemd-analyze', ['verify', unitPath], { stdio: 'pipe' });
    } catch (e) {
      // The only complaint allowed: the binary is not installed at /usr/bin on this machine.
      const lines = `${e.stdout}${e.stderr}`.split('\n').filter((l) => l.trim());
      assert.deepEqual(lines.filter((l) => !/Command \/usr\/bin\/sfu is not executable/.test(l)), [], lines.join('\n'));
    }
    const security = execFileSync('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, 'sfu.service'], { encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for sfu\.service: ([\d.]+)/.exec(security)?.[1]);
    assert.ok(exposure <= 2, `systemd rates the unit's exposure ${exposure} (10 = none of its protections)`);
    const conf = path.join(root, 'etc/sfu/sfu.conf');
    assert.ok(fs.existsSync(conf));
    // A second install keeps an edited config.
    fs.appendFileSync(conf, 'log-level = warn\n');
    execFileSync('make', makeArgs, { stdio: 'pipe' });
    assert.match(fs.readFileSync(conf, 'utf8'), /log-level = warn\n$/);

    // The installed binary runs and serves the web client.
    const port = await freePort();
    const proc = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--rtc-port', String(await freeUdpPort()), '--workers', '1', '--data', path.join(root, 'data')],
      { stdio: 'ignore', cwd: root });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      let res = null;
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
        if (!res) await sleep(50);
      }
      assert.equal(res?.status, 200);
      assert.equal(await res.text(), fs.readFileSync(path.join(root, 'usr/share/sfu/www/index.html'), 'utf8'));
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  } finally {
    removeDir(root);
  }
});

test('sfu admin registration closed|invite|open: new accounts refused, by invitation (each code once), open again', T, async () => {
  const server = await startServer();
  try {
    const admin = (...args) => runOnce(['admin', ...args, '--data', server.dataDir]);
    const reg = (n, invite) => {
      const name = `inv_${n}_${Date.now().toString(36)}`;
      return api(server, 'POST', '/api/auth/register', {
        body: { email: `${name}@example.test`, username: name, password: PASSWORD, ...(invite === undefined ? {} : { invite }) },
      });
    };
    assert.match((await admin('registration')).stdout, /registration: open/);
    assert.equal((await admin('registration', 'closed')).code, 0);
    assertError(await reg(1), 403, 'registration_closed');
    // Signing in still works for existing accounts.
    const bad = await admin('registration', 'sometimes');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not open, closed or invite/);

    assert.match((await admin('registration', 'invite')).stdout, /registration: invite/);
    assertError(await reg(2), 403, 'invite_required', 'invite');
    assertError(await reg(3, 'f'.repeat(32)), 403, 'invite_required', 'invite');
    const made = await admin('invites', 'create', '2');
    assert.equal(made.code, 0, made.stderr);
    const codes = made.stdout.trim().split('\n');
    assert.equal(codes.length, 2);
    for (const c of codes) assert.match(c, /^[0-9a-f]{32}$/);
    const ok = await reg(4, codes[0]);
    assert.equal(ok.status, 201, ok.text);
    assertError(await reg(5, codes[0]), 403, 'invite_required', 'invite');
    // A registration that fails for another reason gives its code back.
    const taken = await api(server, 'POST', '/api/auth/register', {
      body: { email: 'someone.new@example.test', username: ok.json.user.username, password: PASSWORD, invite: codes[1] },
    });
    assert.equal(taken.status, 409, taken.text);
    assert.equal((await reg(6, codes[1])).status, 201);
    const list = (await admin('invites', 'list')).stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(list[0], ['code', 'created_at', 'used_at', 'used_by']);
    assert.equal(list.find((r) => r[0] === codes[0])[3], String(ok.json.user.id));

    assert.equal((await admin('registration', 'open')).code, 0);
    assert.equal((await reg(7)).status, 201);
  } finally {
    await server.stop();
  }
});
