#!/usr/bin/env node
// Churn soak: a fresh node (build/sfu, or $SFU_BIN) with a temporary data
// directory, and W workers that each loop for D seconds: sign in (a new
// session), open a socket, join a room, chat, join the room's call, publish
// audio and video (hand-written SDP), answer the subscribe offers, leave the
// call, close the socket. Every S seconds it samples the node's RSS, heap
// (private anonymous memory from /proc/PID/smaps_rollup), open fds, threads
// and WAL size. Growth is measured after a warm-up, as a least-squares slope
// in KiB per 10 minutes. Writes DIR/report.json and prints a table.
//
//   node bench/soak.mjs [--duration 1800] [--workers 4] [--sample 10]
//        [--warmup 120] [--out bench/out/soak] [--quiet]
//
// Sign-in is with the password every 10th iteration and with the refresh
// token otherwise (scrypt's 64 MiB per hash would swamp every other figure).
// Exit code 0 when the per-minute floors of RSS and heap grow less than 1 MiB
// per 10 minutes after the warm-up, the fd count ends where it was after the warm-up (+/- 8) and no
// iteration failed; 1 otherwise (the report is written in both cases).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { PASSWORD, api, register, sleep, startServer } from '../tests/integration/lib.mjs';
import { connect, createRoom } from '../tests/integration/ws-lib.mjs';

const DEFAULTS = { duration: 1800, workers: 4, sample: 10, warmup: 120, out: 'bench/out/soak', quiet: false };

function parseFlags(argv) {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'help') {
      console.log('usage: node bench/soak.mjs [--duration S] [--workers N] [--sample S] [--warmup S] [--out DIR] [--quiet]');
      process.exit(0);
    }
    if (!(k in DEFAULTS)) throw new Error(`unknown option --${k}`);
    if (k === 'quiet') o.quiet = true;
    else o[k] = k === 'out' ? argv[++i] : Number(argv[++i]);
  }
  if (o.warmup >= o.duration) throw new Error('--warmup must be shorter than --duration');
  return o;
}

// ---- the node's resources, from /proc ----

function sampleProc(pid, dataDir) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  let anon = NaN;
  try {
    anon = Number(/^Anonymous:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    /* older kernels: no smaps_rollup */
  }
  let wal = 0;
  try {
    wal = fs.statSync(path.join(dataDir, 'sfu.db-wal')).size;
  } catch {
    /* no WAL yet */
  }
  return {
    rss_kib: kib('VmRSS'),
    heap_kib: anon,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]),
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    wal_bytes: wal,
  };
}

// The lowest value of each window of w seconds: what stays resident once the
// allocator has given back the transient peaks (scrypt, bursts of frames).
function floors(samples, key, w) {
  const out = new Map();
  for (const s of samples) {
    const k = Math.floor(s.t_s / w);
    if (!out.has(k) || s[key] < out.get(k)[key]) out.set(k, s);
  }
  return [...out.values()];
}

// Least-squares slope of ys over xs (seconds), per 600 s.
function slopePer10Min(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? (num / den) * 600 : 0;
}

// ---- one participant's loop ----

const fingerprint = () => crypto.randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':');

// A browser-like publish offer: audio + video, sendonly, fresh SSRCs.
function publishOffer() {
  const ice = { ufrag: crypto.randomBytes(3).toString('hex'), pwd: crypto.randomBytes(12).toString('hex'), fp: fingerprint() };
  const ssrc = () => crypto.randomInt(1, 0x7fffffff);
  const out = ['v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS s'];
  ['audio', 'video'].forEach((kind, i) => {
    const pt = kind === 'video' ? 96 : 111;
    const s = ssrc();
    out.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0', `a=ice-ufrag:${ice.ufrag}`,
      `a=ice-pwd:${ice.pwd}`, `a=fingerprint:sha-256 ${ice.fp}`, 'a=setup:actpass', `a=mid:${i}`, 'a=sendonly', 'a=rtcp-mux');
    out.push(kind === 'video' ? `a=rtpmap:${pt} VP8/90000` : `a=rtpmap:${pt} opus/48000/2`);
    out.push(`a=msid:s t${i}`, `a=ssrc:${s} cname:soak`, `a=ssrc:${s} msid:s t${i}`);
  });
  return out.join('\r\n') + '\r\n';
}

// The answer a receive-only client gives to a subscribe offer.
function subscribeAnswer(offer) {
  const fp = fingerprint();
  const out = ['v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0'];
  const sections = offer.split('\r\nm=').slice(1).map((s) => 'm=' + s);
  const mids = sections.map((s) => /a=mid:(\S+)/.exec(s)[1]);
  out.push(`a=group:BUNDLE ${mids.join(' ')}`);
  sections.forEach((s, i) => {
    const [kind, , , pt] = s.slice(2, s.indexOf('\r\n')).split(' ');
    const rtpmap = new RegExp(`a=rtpmap:${pt} [^\\r]+`).exec(s)?.[0];
    out.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:soak', 'a=ice-pwd:soaksoaksoaksoaksoaksoak',
      `a=fingerprint:sha-256 ${fp}`, 'a=setup:active', `a=mid:${mids[i]}`, /a=sendonly/.test(s) ? 'a=recvonly' : 'a=inactive', 'a=rtcp-mux');
    if (rtpmap) out.push(rtpmap);
  });
  return out.join('\r\n') + '\r\n';
}

// Signs in: with the password every PASSWORD_EVERY iterations (scrypt), else
// with the refresh token kept from the last sign-in.
const PASSWORD_EVERY = 10;

async function signIn(server, user) {
  user.n = (user.n ?? 0) + 1;
  const res = user.refreshToken && user.n % PASSWORD_EVERY
    ? await api(server, 'POST', '/api/auth/refresh', { body: { refreshToken: user.refreshToken } })
    : await api(server, 'POST', '/api/auth/login', { body: { email: user.email, password: user.password }, timeoutMs: 60000 });
  if (res.status !== 200) throw new Error(`sign-in ${res.status}: ${res.text.slice(0, 200)}`);
  user.refreshToken = res.json.refreshToken;
  return res.json;
}

async function iteration(server, user, room, stats) {
  const session = { json: await signIn(server, user) };
  const ws = await connect(server, session.json.accessToken);
  // Subscribe offers are answered as they come, while the socket is open.
  ws.ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'call_subscribe_offer') ws.send({ type: 'call_subscribe_answer', roomId: room.id, version: m.version, sdp: subscribeAnswer(m.sdp) });
  });
  try {
    const joined = await ws.request({ type: 'join_room', roomId: room.id });
    if (joined.type !== 'room_joined') throw new Error(`join_room: ${joined.type}`);
    for (let i = 0; i < 3; i++) {
      const r = await ws.request({ type: 'send_message', roomId: room.id, content: `soak ${stats.iterations} ${i}` });
      if (r.type !== 'new_message') throw new Error(`send_message: ${JSON.stringify(r).slice(0, 200)}`);
      stats.messages++;
    }
    const call = await ws.request({ type: 'call_join', roomId: room.id });
    if (call.type !== 'call_joined') throw new Error(`call_join: ${JSON.stringify(call).slice(0, 200)}`);
    const pub = await ws.request({ type: 'call_publish', roomId: room.id, sdp: publishOffer() });
    if (pub.type !== 'call_publish_answer') throw new Error(`call_publish: ${JSON.stringify(pub).slice(0, 200)}`);
    await sleep(200 + crypto.randomInt(0, 400));
    const left = await ws.request({ type: 'call_leave', roomId: room.id });
    if (left.type !== 'call_left') throw new Error(`call_leave: ${left.type}`);
  } finally {
    await ws.close();
    // Every password sign-in ends its previous session family.
    if (user.n % PASSWORD_EVERY === PASSWORD_EVERY - 1) {
      await api(server, 'POST', '/api/auth/logout', { token: session.json.accessToken, body: { refreshToken: session.json.refreshToken } });
      user.refreshToken = null;
    }
  }
  stats.iterations++;
}

// ---- the run ----

async function main() {
  const o = parseFlags(process.argv.slice(2));
  const log = (...a) => o.quiet || console.error(...a);
  const server = await startServer({ args: ['--log-level', 'warn'] });
  const report = { options: o, samples: [], iterations: 0, messages: 0, failures: [], error: null };
  const stats = report;
  try {
    const owner = await register(server);
    const rooms = [];
    for (let r = 0; r < Math.max(1, Math.ceil(o.workers / 4)); r++) rooms.push(await createRoom(server, owner.accessToken, { name: `soak ${r}` }));
    const users = [];
    for (let w = 0; w < o.workers; w++) {
      const u = await register(server);
      const room = rooms[w % rooms.length];
      const j = await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: u.accessToken });
      if (j.status !== 200) throw new Error(`join ${j.status}`);
      users.push({ ...u, password: PASSWORD, room });
    }
    const t0 = Date.now();
    const end = t0 + o.duration * 1000;
    const sampler = setInterval(() => {
      const s = { t_s: Math.round((Date.now() - t0) / 1000), ...sampleProc(server.proc.pid, server.dataDir), iterations: stats.iterations };
      report.samples.push(s);
      log(`soak: t=${s.t_s}s rss=${s.rss_kib} KiB heap=${s.heap_kib} KiB fds=${s.fds} threads=${s.threads} wal=${s.wal_bytes} it=${s.iterations}`);
    }, o.sample * 1000);
    await Promise.all(users.map(async (u) => {
      while (Date.now() < end) {
        try {
          await iteration(server, u, u.room, stats);
        } catch (e) {
          if (report.failures.length < 50) report.failures.push(String(e.message ?? e));
          await sleep(500);
        }
      }
    }));
    clearInterval(sampler);
  } catch (e) {
    report.error = String(e.stack ?? e);
  } finally {
    await server.stop();
  }
  const after = report.samples.filter((s) => s.t_s >= o.warmup);
  const slopeOfFloors = (samples, key) => {
    const f = floors(samples, key, 60);
    return Math.round(slopePer10Min(f.map((s) => s.t_s), f.map((s) => s[key])));
  };
  const xs = after.map((s) => s.t_s);
  report.summary = {
    iterations: report.iterations,
    messages: report.messages,
    failures: report.failures.length,
    samples_after_warmup: after.length,
    rss_kib_at_warmup: after[0]?.rss_kib,
    rss_kib_end: after.at(-1)?.rss_kib,
    rss_kib_per_10min: Math.round(slopePer10Min(xs, after.map((s) => s.rss_kib))),
    heap_kib_per_10min: Math.round(slopePer10Min(xs, after.map((s) => s.heap_kib))),
    // The same over the per-minute floors: the figure the pass/fail uses.
    rss_floor_kib_per_10min: slopeOfFloors(after, 'rss_kib'),
    heap_floor_kib_per_10min: slopeOfFloors(after, 'heap_kib'),
    fds_at_warmup: after[0]?.fds,
    fds_end: after.at(-1)?.fds,
    fds_max: Math.max(...after.map((s) => s.fds)),
    wal_bytes_max: Math.max(0, ...report.samples.map((s) => s.wal_bytes)),
  };
  const sum = report.summary;
  const ok = !report.error && sum.failures === 0 && after.length >= 2 && sum.rss_floor_kib_per_10min < 1024 && sum.heap_floor_kib_per_10min < 1024 &&
    Math.abs(sum.fds_end - sum.fds_at_warmup) <= 8;
  report.ok = ok;
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify(report, null, 2));
  console.log(Object.entries(sum).map(([k, v]) => `${k.padEnd(22)} ${v}`).join('\n'));
  console.log(`${ok ? 'ok' : 'FAILED'}${report.error ? `: ${report.error}` : ''}${report.failures.length ? `\nfailures: ${report.failures.slice(0, 5).join('; ')}` : ''}`);
  process.exit(ok ? 0 : 1);
}

main();
