// The command line: --help, --version, start-up errors (exit 2, one stderr
// line, nothing written), graceful stop, and what survives a restart.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import {
  HOST,
  api,
  createRoom,
  freePort,
  freeUdpPort,
  lines,
  login,
  makeTempDir,
  postMessage,
  register,
  removeDir,
  runOnce,
  startServer,
  withTimeout,
} from './lib.mjs';

const T = { timeout: 60000 };

// Runs the binary expecting a start-up failure and checks the shared rules:
// exit code 2, exactly one line on stderr, nothing on stdout.
async function expectStartupError(args, { env, dataDir } = {}) {
  const r = await runOnce(args, { env, timeoutMs: 8000 });
  const ctx = `sfu ${args.join(' ')} -> code ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.timedOut, false, `should have exited at once: ${ctx}`);
  assert.equal(r.code, 2, ctx);
  assert.equal(lines(r.stderr).length, 1, `exactly one stderr line: ${ctx}`);
  assert.equal(r.stdout, '', `nothing on stdout: ${ctx}`);
  if (dataDir) {
    assert.deepEqual(fs.readdirSync(dataDir), [], `nothing written to the data dir: ${ctx}`);
  }
  return lines(r.stderr)[0];
}

// Standard port arguments so a binary that wrongly starts cannot collide.
async function portArgs() {
  return ['--listen', `${HOST}:${await freePort()}`, '--rtc-port', String(await freeUdpPort()), '--workers', '1'];
}

test('--help prints usage on stdout and exits 0', T, async () => {
  const r = await runOnce(['--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const flag of ['--listen', '--rtc-port', '--workers', '--data', '--announce-ip', '--log-level', '--tls-cert', '--tls-key', '--version']) {
    assert.ok(r.stdout.includes(flag), `usage mentions ${flag}:\n${r.stdout}`);
  }
  assert.match(r.stdout, /usage/i);
});

test('--version prints "sfu X.Y.Z" and exits 0', T, async () => {
  const r = await runOnce(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^sfu \d+\.\d+\.\d+\S*$/);
  assert.equal(lines(r.stdout).length, 1);
});

test('an unknown flag exits 2 with one stderr line naming it and writes nothing', T, async () => {
  const dir = makeTempDir();
  try {
    const line = await expectStartupError([...(await portArgs()), '--data', dir, '--no-such-flag'], { dataDir: dir });
    assert.ok(line.includes('--no-such-flag'), line);
  } finally {
    removeDir(dir);
  }
});

test('bad flag values exit 2 with one stderr line naming the flag', T, async () => {
  const dir = makeTempDir();
  try {
    const base = ['--data', dir];
    const cases = [
      [['--listen', 'not-an-address'], '--listen'],
      [['--listen', `${HOST}:99999`], '--listen'],
      [['--rtc-port', '70000'], '--rtc-port'],
      [['--rtc-port', 'abc'], '--rtc-port'],
      [['--workers', '0'], '--workers'],
      [['--workers', 'many'], '--workers'],
      [['--log-level', 'loud'], '--log-level'],
      [['--announce-ip', 'not-an-ip'], '--announce-ip'],
    ];
    for (const [bad, flag] of cases) {
      // The good port arguments come first so the bad one overrides them.
      const line = await expectStartupError([...(await portArgs()), ...base, ...bad], { dataDir: dir });
      assert.ok(line.includes(flag), `stderr names ${flag}: ${line}`);
    }
    // A flag without its value.
    const line = await expectStartupError([...(await portArgs()), ...base, '--workers'], { dataDir: dir });
    assert.ok(line.includes('--workers'), line);
  } finally {
    removeDir(dir);
  }
});

test('a wildcard --rtc-bind without --announce-ip exits 2 naming --announce-ip', T, async () => {
  const dir = makeTempDir();
  try {
    for (const bind of ['0.0.0.0', '::', '0:0::0']) {
      const line = await expectStartupError([...(await portArgs()), '--data', dir, '--rtc-bind', bind], { dataDir: dir });
      assert.ok(line.includes('--announce-ip'), `stderr names --announce-ip: ${line}`);
      assert.ok(line.includes('--rtc-bind'), `stderr names --rtc-bind: ${line}`);
    }
    // The environment is held to the same rule.
    const line = await expectStartupError([...(await portArgs()), '--data', dir], { env: { SFU_RTC_BIND: '0.0.0.0' }, dataDir: dir });
    assert.ok(line.includes('--announce-ip'), line);
    // A wildcard is no announce address either.
    const wild = await expectStartupError([...(await portArgs()), '--data', dir, '--announce-ip', '0.0.0.0'], { dataDir: dir });
    assert.ok(wild.includes('--announce-ip'), wild);
  } finally {
    removeDir(dir);
  }
  // With an announce address, the wildcard bind starts and serves.
  const server = await startServer({ args: ['--rtc-bind', '0.0.0.0', '--announce-ip', HOST] });
  try {
    const res = await api(server, 'GET', '/api/health');
    assert.equal(res.status, 200);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test('a bad environment variable exits 2; a flag overrides the environment', T, async () => {
  const dir = makeTempDir();
  try {
    const line = await expectStartupError([...(await portArgs()), '--data', dir], {
      env: { SFU_LOG_LEVEL: 'loud' },
      dataDir: dir,
    });
    assert.ok(line.includes('SFU_LOG_LEVEL') || line.includes('loud'), line);
  } finally {
    removeDir(dir);
  }
  // SFU_LISTEN names one port, --listen another: the flag wins.
  const envPort = await freePort();
  const server = await startServer({ env: { SFU_LISTEN: `${HOST}:${envPort}`, SFU_WORKERS: '1' } });
  try {
    const res = await api(server, 'GET', '/api/health');
    assert.equal(res.status, 200);
    await assert.rejects(
      fetch(`http://${HOST}:${envPort}/api/health`, { signal: AbortSignal.timeout(2000) }),
      'nothing listens on the SFU_LISTEN port when --listen is given',
    );
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test('a TCP port already in use exits 2 and creates no sfu.db', T, async () => {
  const dir = makeTempDir();
  const holder = net.createServer();
  await new Promise((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, HOST, resolve);
  });
  try {
    const port = holder.address().port;
    const line = await expectStartupError(
      ['--listen', `${HOST}:${port}`, '--rtc-port', String(await freeUdpPort()), '--workers', '1', '--data', dir],
      { dataDir: dir },
    );
    assert.ok(line.includes(String(port)) || /in use/i.test(line), `stderr names the problem: ${line}`);
    assert.equal(fs.existsSync(path.join(dir, 'sfu.db')), false);
  } finally {
    await new Promise((r) => holder.close(r));
    removeDir(dir);
  }
});

test('a media UDP port already in use exits 2 and creates no sfu.db', T, async () => {
  const dir = makeTempDir();
  const udpPort = await freeUdpPort();
  const holder = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    holder.once('error', reject);
    holder.bind(udpPort, HOST, resolve);
  });
  try {
    const line = await expectStartupError(
      ['--listen', `${HOST}:${await freePort()}`, '--rtc-port', String(udpPort), '--workers', '1', '--data', dir],
      { dataDir: dir },
    );
    assert.ok(line.includes(String(udpPort)) || /in use/i.test(line), `stderr names the problem: ${line}`);
    assert.equal(fs.existsSync(path.join(dir, 'sfu.db')), false);
  } finally {
    await new Promise((r) => holder.close(r));
    removeDir(dir);
  }
});

test('a data dir that is a regular file exits 2 and leaves the file alone', T, async () => {
  const dir = makeTempDir();
  try {
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, 'keep me');
    const line = await expectStartupError([...(await portArgs()), '--data', file]);
    assert.ok(line.includes(file) || /data/i.test(line), `stderr names the data dir: ${line}`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['not-a-dir']);
    // A path below a regular file is not a directory either.
    await expectStartupError([...(await portArgs()), '--data', path.join(file, 'sub')]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['not-a-dir']);
  } finally {
    removeDir(dir);
  }
});

test('an unwritable data dir exits 2', T, async () => {
  if (process.getuid && process.getuid() === 0) {
    // root writes anywhere chmod allows; /proc is a directory nobody can create files in.
    await expectStartupError([...(await portArgs()), '--data', '/proc']);
    return;
  }
  const dir = makeTempDir();
  try {
    fs.chmodSync(dir, 0o500);
    await expectStartupError([...(await portArgs()), '--data', dir], { dataDir: dir });
  } finally {
    fs.chmodSync(dir, 0o700);
    removeDir(dir);
  }
});

test('an unreadable TLS certificate exits 2 and writes nothing', T, async () => {
  const dir = makeTempDir();
  const tls = makeTempDir();
  try {
    const cert = path.join(tls, 'missing-cert.pem');
    const key = path.join(tls, 'missing-key.pem');
    const line = await expectStartupError([...(await portArgs()), '--data', dir, '--tls-cert', cert, '--tls-key', key], {
      dataDir: dir,
    });
    assert.ok(line.includes(cert) || /cert|tls/i.test(line), `stderr names the certificate: ${line}`);
    // A file that exists but is not a certificate is just as unusable.
    const junk = path.join(tls, 'junk.pem');
    fs.writeFileSync(junk, 'this is not PEM\n');
    await expectStartupError([...(await portArgs()), '--data', dir, '--tls-cert', junk, '--tls-key', junk], { dataDir: dir });
    // --tls-cert without --tls-key.
    await expectStartupError([...(await portArgs()), '--data', dir, '--tls-cert', junk], { dataDir: dir });
  } finally {
    removeDir(dir);
    removeDir(tls);
  }
});

test('SIGTERM and SIGINT stop the node with exit code 0 and free the port', T, async () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const server = await startServer();
    try {
      const res = await api(server, 'GET', '/api/health');
      assert.equal(res.status, 200);
      const exited = new Promise((resolve) => server.proc.once('exit', (c, s) => resolve({ c, s })));
      server.proc.kill(sig);
      const { c, s } = await withTimeout(exited, 5000, `exit after ${sig}`);
      assert.equal(s, null, `${sig} must be handled, not fatal; stderr:\n${server.stderr()}`);
      assert.equal(c, 0, `${sig} -> exit 0; stderr:\n${server.stderr()}`);
      assert.equal(server.stdout(), '', 'logs go to stderr, not stdout');
    } finally {
      await server.stop();
    }
    // The listening port is released.
    const again = net.createServer();
    await new Promise((resolve, reject) => {
      again.once('error', reject);
      again.listen(server.port, HOST, resolve);
    });
    await new Promise((r) => again.close(r));
  }
});

test('jwt.secret is 32 bytes with mode 0600 next to sfu.db', T, async () => {
  const server = await startServer();
  try {
    const secretPath = path.join(server.dataDir, 'jwt.secret');
    const st = fs.statSync(secretPath);
    assert.equal(st.mode & 0o777, 0o600, `mode is ${(st.mode & 0o777).toString(8)}`);
    assert.equal(st.size, 32);
    assert.ok(fs.existsSync(path.join(server.dataDir, 'sfu.db')), 'sfu.db exists');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a restart on the same data dir keeps users, rooms, messages, the secret and issued tokens', T, async () => {
  const dir = makeTempDir();
  try {
    const first = await startServer({ dataDir: dir });
    let alice, bob, room, msgs, secretBefore;
    try {
      alice = await register(first);
      bob = await register(first);
      room = await createRoom(first, alice.accessToken, { name: 'Persistent', private: true });
      const joined = await api(first, 'POST', `/api/rooms/${room.code}/join`, { token: bob.accessToken });
      assert.equal(joined.status, 200, joined.text);
      msgs = [
        await postMessage(first, alice.accessToken, room.id, 'before restart 1'),
        await postMessage(first, bob.accessToken, room.id, 'before restart 2'),
      ];
      secretBefore = fs.readFileSync(path.join(dir, 'jwt.secret'));
    } finally {
      assert.equal(await first.stop(), 0, first.stderr());
    }

    const second = await startServer({ dataDir: dir });
    try {
      assert.ok(fs.readFileSync(path.join(dir, 'jwt.secret')).equals(secretBefore), 'jwt.secret unchanged');
      assert.equal(fs.statSync(path.join(dir, 'jwt.secret')).mode & 0o777, 0o600);

      // An access token issued before the restart still works.
      const me = await api(second, 'GET', '/api/auth/me', { token: alice.accessToken });
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(me.json.user, alice.user);

      // So does a refresh token, and the password.
      const refreshed = await api(second, 'POST', '/api/auth/refresh', { body: { refreshToken: bob.refreshToken } });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(refreshed.json.user.id, bob.user.id);
      const again = await login(second, alice.email);
      assert.equal(again.user.id, alice.user.id);

      // Taken names stay taken.
      const dup = await api(second, 'POST', '/api/auth/register', {
        body: { email: alice.email, username: 'someone_else', password: 'long enough' },
      });
      assert.equal(dup.status, 409, dup.text);

      const got = await api(second, 'GET', `/api/rooms/${room.id}`, { token: bob.accessToken });
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.json.room, { ...room, memberCount: 2 });

      const members = await api(second, 'GET', `/api/rooms/${room.id}/members`, { token: alice.accessToken });
      assert.equal(members.status, 200, members.text);
      assert.deepEqual(
        members.json.members.map((m) => [m.userId, m.role]),
        [[alice.user.id, 'host'], [bob.user.id, 'member']],
      );

      const list = await api(second, 'GET', '/api/rooms', { token: alice.accessToken });
      assert.equal(list.status, 200);
      assert.deepEqual(list.json.rooms.map((r) => r.id), [room.id]);

      const history = await api(second, 'GET', `/api/rooms/${room.id}/messages`, { token: alice.accessToken });
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(history.json.messages, [msgs[1], msgs[0]]);
      assert.equal(history.json.hasMore, false);

      // New ids continue after the old ones.
      const next = await postMessage(second, alice.accessToken, room.id, 'after restart');
      assert.ok(next.id > msgs[1].id, 'message ids keep increasing');
    } finally {
      assert.equal(await second.stop(), 0, second.stderr());
    }
  } finally {
    removeDir(dir);
  }
});
