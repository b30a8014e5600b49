#!/usr/bin/env node
// Chat fan-out bench: a fresh node (build/sfu, or $SFU_BIN) on loopback with
// a temporary data directory, S WebSocket clients spread over R rooms, each
// room receiving M messages per second for D seconds from its own member
// sockets. Every socket of a room must receive every message of that room,
// the sender's included (its copy is the acknowledgement). Measures delivered
// messages per second, delivery latency (receive minus send time on this
// process's monotonic clock), losses, duplicates and order, and the node's CPU
// and RSS from /proc. Writes DIR/report.json and prints a table.
//
//   node bench/chat-fanout.mjs [--sockets 1000] [--rooms 50] [--rate 20]
//        [--duration 60] [--out bench/out/chat-fanout] [--users-per-room 4]
//        [--drain 5] [--data DIR] [--quiet]
//
// Exit code 0 when every expected delivery happened and p99 < 50 ms, 1
// otherwise (the report is written in both cases, with "error" set when the
// run could not be set up or was interrupted).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { SFU_BIN, api, register, sleep, startServer } from '../tests/integration/lib.mjs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const WebSocket = require('ws');

const P99_LIMIT_MS = 50;

// ---------------------------------------------------------------- options --

const DEFAULTS = {
  sockets: 1000,
  rooms: 50,
  rate: 20,
  duration: 60,
  out: 'bench/out/chat-fanout',
  'users-per-room': 4,
  drain: 5,
  data: '',
  quiet: false,
};

const HELP = `usage: node bench/chat-fanout.mjs [options]
  --sockets N          WebSocket clients in all (default 1000)
  --rooms N            rooms; sockets are spread evenly (default 50)
  --rate N             messages per second per room (default 20)
  --duration S         seconds of sending (default 60)
  --out DIR            where report.json goes (default bench/out/chat-fanout)
  --users-per-room N   accounts per room; each holds sockets/rooms/N sockets
                       (default 4; use sockets/rooms for one account per socket)
  --drain S            at most S seconds to wait for the last deliveries (default 5)
  --data DIR           node data directory (default: a fresh one under $TMPDIR, removed after)
  --quiet              no progress lines
env: SFU_BIN (default build/sfu)`;

function parseFlags(argv) {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(HELP);
      process.exit(0);
    }
    const eq = a.indexOf('=');
    const k = (eq > 0 ? a.slice(0, eq) : a).replace(/^--/, '');
    if (!a.startsWith('--') || !(k in DEFAULTS)) throw new Error(`unknown flag ${a}\n${HELP}`);
    if (typeof DEFAULTS[k] === 'boolean') {
      o[k] = true;
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (typeof DEFAULTS[k] === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a}: '${v}' is not a positive number`);
      o[k] = n;
    } else {
      o[k] = v;
    }
  }
  for (const k of ['sockets', 'rooms', 'users-per-room']) {
    if (!Number.isInteger(o[k])) throw new Error(`--${k} must be an integer`);
  }
  if (o.sockets < o.rooms) throw new Error(`--sockets (${o.sockets}) must be at least --rooms (${o.rooms})`);
  if (o.rate > 1000) throw new Error('--rate is at most 1000 messages per second per room');
  if (o.duration > 3600) throw new Error('--duration is at most 3600 s');
  return o;
}

// ------------------------------------------------------------------ /proc --

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// CPU seconds (utime + stime) and VmRSS (KiB) of pid, or null once it is gone.
function procUsage(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK, rssKiB: rss ? Number(rss[1]) : 0 };
  } catch {
    return null;
  }
}

// Machine-wide CPU seconds from /proc/stat (all cores summed): busy (user,
// nice, system, irq, softirq), iowait and steal (time the hypervisor gave to
// someone else), or null.
function machineUsage() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , iowait, irq, softirq, steal = 0] = f;
    return { busyS: (user + nice + system + irq + softirq) / CLK_TCK, iowaitS: iowait / CLK_TCK, stealS: steal / CLK_TCK };
  } catch {
    return null;
  }
}

// Soft RLIMIT_NOFILE of pid ('self' for this process), or null.
function openFileLimit(pid = 'self') {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- helpers --

// Nearest-rank percentile of an ascending typed array (first n entries).
function pct(sorted, n, p) {
  if (n === 0) return null;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
}

const round = (x, d = 2) => (x === null || x === undefined ? null : Number(x.toFixed(d)));

// Runs fn over items with at most `limit` in flight; rejects on the first failure.
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  let failed = null;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = failed ?? e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed;
  return out;
}

// A growable Float64Array of latency samples.
class Samples {
  constructor(cap) {
    this.a = new Float64Array(Math.max(1024, cap));
    this.n = 0;
  }
  push(x) {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  sorted() {
    return this.a.subarray(0, this.n).sort();
  }
}

function log(o, line) {
  if (!o.quiet) console.log(line);
}

// ------------------------------------------------------------------- plan --

// Rooms of sockets: room r gets floor(S/R) sockets (the first S mod R rooms
// one more), held by min(users-per-room, sockets in the room) accounts in turn.
function makePlan(o) {
  const rooms = [];
  const base = Math.floor(o.sockets / o.rooms);
  const extra = o.sockets % o.rooms;
  let userCount = 0;
  for (let r = 0; r < o.rooms; r++) {
    const n = base + (r < extra ? 1 : 0);
    const u = Math.min(o['users-per-room'], n);
    rooms.push({ index: r, socketCount: n, userIndexes: Array.from({ length: u }, (_, k) => userCount + k) });
    userCount += u;
  }
  return { rooms, userCount };
}

// ----------------------------------------------------------------- sockets --

// One bench client: connects, authenticates, joins its room, then counts every
// new_message of that room it receives.
class Client {
  constructor(bench, room, user) {
    this.bench = bench;
    this.room = room;
    this.user = user;
    this.ws = null;
    this.seen = new Uint8Array(bench.maxSeq); // per room sequence number
    this.lastMessageId = 0;
    this.closed = null;
  }

  open(timeoutMs) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.bench.server.url.replace(/^http/, 'ws')}/ws`, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
      });
      this.ws = ws;
      let ready = false;
      const fail = (e) => {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        ws.terminate();
        reject(e);
      };
      const timer = setTimeout(() => fail(new Error(`socket of room ${this.room.index} not ready within ${timeoutMs} ms`)), timeoutMs);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'authenticate', token: this.user.accessToken })));
      ws.on('error', (e) => fail(new Error(`socket of room ${this.room.index}: ${e.message}`)));
      ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        if (!ready) fail(new Error(`socket of room ${this.room.index} closed (${code} ${reason}) during set-up`));
        else if (!this.bench.closing) this.bench.closedEarly.push(this.closed);
      });
      ws.on('message', (data) => {
        const t = performance.now();
        let msg;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          this.bench.unparsable++;
          return;
        }
        if (ready) return this.onMessage(msg, t);
        if (msg.type === 'authenticated') ws.send(JSON.stringify({ type: 'join_room', roomId: this.room.id }));
        else if (msg.type === 'room_joined') {
          ready = true;
          clearTimeout(timer);
          resolve(this);
        } else if (msg.type === 'auth_error' || msg.type === 'error') {
          fail(new Error(`set-up of a socket in room ${this.room.index}: ${msg.type} ${msg.code}: ${msg.message}`));
        }
      });
    });
  }

  onMessage(msg, t) {
    const b = this.bench;
    if (msg.type === 'error') {
      b.errors.set(msg.code, (b.errors.get(msg.code) ?? 0) + 1);
      return;
    }
    if (msg.type !== 'new_message' || !msg.message) return;
    const m = msg.message;
    if (m.roomId !== this.room.id) {
      b.foreign++;
      return;
    }
    const parts = typeof m.content === 'string' ? m.content.split(' ') : [];
    if (parts[0] !== 'bench') return; // not ours
    const seq = Number(parts[2]);
    if (!(seq >= 0 && seq < b.maxSeq)) {
      b.foreign++;
      return;
    }
    if (m.id <= this.lastMessageId) b.outOfOrder++;
    this.lastMessageId = Math.max(this.lastMessageId, m.id);
    if (this.seen[seq]) {
      b.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    b.delivered++;
    const lat = t - Number(parts[1]);
    b.latency.push(lat);
    b.window.push(lat);
  }

  send(content) {
    this.ws.send(JSON.stringify({ type: 'send_message', roomId: this.room.id, content }));
  }
}

// ------------------------------------------------------------------ bench --

async function run(o, bench) {
  const report = {
    scenario: 'chat-fanout',
    sockets: o.sockets,
    rooms: o.rooms,
    rate_per_room: o.rate,
    duration_s: o.duration,
  };
  bench.report = report;
  const limit = openFileLimit();
  const need = o.sockets + 200;
  if (limit !== null && limit < need) {
    throw new Error(`open-file limit is ${limit}, ${o.sockets} sockets need about ${need} on each side ` +
      `(this process and the node it starts): raise it with "ulimit -n ${need * 2}"`);
  }

  const plan = makePlan(o);
  report.users = plan.userCount;
  report.sockets_per_user = round(o.sockets / plan.userCount, 2);
  const dataDir = o.data ? path.resolve(o.data) : undefined;
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const server = await startServer({ dataDir, args: ['--limit-ws', '0', '--log-level', 'warn'] });
  bench.server = server;
  const pid = server.proc.pid;
  const nodeLimit = openFileLimit(pid);
  if (nodeLimit !== null && nodeLimit < need) throw new Error(`the node's open-file limit is ${nodeLimit}, below ${need}`);
  log(o, `# node ${SFU_BIN} pid ${pid} at ${server.url}, data ${server.dataDir}; open files: bench ${limit}, node ${nodeLimit}`);
  log(o, `# ${o.rooms} rooms, ${o.sockets} sockets held by ${plan.userCount} accounts; ${o.rate} msg/s per room for ${o.duration} s`);

  // Accounts: registration is an scrypt hash on the node's thread pool, so a
  // few at a time keep both cores busy without queueing behind each other.
  const tSetup = performance.now();
  let registered = 0;
  const regTimer = setInterval(() => log(o, `# registering: ${registered}/${plan.userCount}`), 3000);
  let users;
  try {
    users = await pool(Array.from({ length: plan.userCount }), 6, async () => {
      const u = await register(server);
      registered++;
      return u;
    });
  } finally {
    clearInterval(regTimer);
  }
  const registerS = (performance.now() - tSetup) / 1000;

  // Rooms over REST: the first account creates it, the others join by id
  // (public rooms).
  await pool(plan.rooms, 8, async (room) => {
    const members = room.userIndexes.map((i) => users[i]);
    const res = await api(server, 'POST', '/api/rooms', { token: members[0].accessToken, body: { name: `bench ${room.index}` } });
    if (res.status !== 201) throw new Error(`create room: ${res.status} ${res.text}`);
    room.id = res.json.room.id;
    for (const m of members.slice(1)) {
      const j = await api(server, 'POST', `/api/rooms/${room.id}/join`, { token: m.accessToken });
      if (j.status !== 200) throw new Error(`join room ${room.id}: ${j.status} ${j.text}`);
    }
  });
  const roomsS = (performance.now() - tSetup) / 1000 - registerS;

  // Sockets: each authenticates and joins its room.
  bench.maxSeq = Math.ceil(o.rate * o.duration) + 16;
  const clients = [];
  for (const room of plan.rooms) {
    room.clients = [];
    for (let k = 0; k < room.socketCount; k++) {
      const c = new Client(bench, room, users[room.userIndexes[k % room.userIndexes.length]]);
      room.clients.push(c);
      clients.push(c);
    }
  }
  bench.clients = clients;
  let opened = 0;
  const openTimer = setInterval(() => log(o, `# sockets: ${opened}/${clients.length} joined`), 3000);
  try {
    await pool(clients, 50, async (c) => {
      await c.open(15000);
      opened++;
    });
  } finally {
    clearInterval(openTimer);
  }
  const socketsS = (performance.now() - tSetup) / 1000 - registerS - roomsS;
  report.setup_s = { register: round(registerS, 1), rooms: round(roomsS, 1), sockets: round(socketsS, 1) };
  log(o, `# set-up: ${plan.userCount} registrations ${registerS.toFixed(1)} s, rooms ${roomsS.toFixed(1)} s, ` +
    `${clients.length} sockets ${socketsS.toFixed(1)} s`);
  await sleep(500); // let presence and user_joined noise settle

  // Sending. Room r's n-th message is due at t0 + offset_r + n/rate, offsets
  // spread the rooms over one interval; a 5 ms ticker sends whatever is due,
  // so the rate holds even when the event loop is late (late sends still
  // carry their real send time). Senders take turns over the room's sockets.
  const interval = 1000 / o.rate;
  const perRoom = Math.round(o.rate * o.duration);
  for (const room of plan.rooms) {
    room.offset = (room.index * interval) / plan.rooms.length;
    room.sent = 0;
  }
  let sent = 0;
  let expected = 0;
  const ELD_RES_MS = 5;
  const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
  const eldWindow = monitorEventLoopDelay({ resolution: ELD_RES_MS });
  const cpu0 = process.cpuUsage();
  const m0 = machineUsage();
  const u0 = procUsage(pid);
  let peakRss = u0.rssKiB;
  let minRss = u0.rssKiB;
  const timeline = [];
  const t0 = performance.now();
  eld.enable();
  eldWindow.enable();
  let last = { t: t0, cpuS: u0.cpuS, delivered: 0, machine: m0, client: process.cpuUsage() };
  const sample = () => {
    const u = procUsage(pid);
    if (!u) return null;
    peakRss = Math.max(peakRss, u.rssKiB);
    minRss = Math.min(minRss, u.rssKiB);
    return u;
  };
  const sampler = setInterval(sample, 1000);
  const progress = setInterval(() => {
    const now = performance.now();
    const u = sample();
    if (!u) return;
    const dt = (now - last.t) / 1000;
    const w = bench.window.sorted();
    const m = machineUsage();
    const client = process.cpuUsage();
    const clientS = (client.user + client.system - last.client.user - last.client.system) / 1e6;
    const entry = {
      t_s: round((now - t0) / 1000, 1),
      sent,
      delivered: bench.delivered,
      delivered_per_s: Math.round((bench.delivered - last.delivered) / dt),
      p99_ms: round(pct(w, w.length, 99)),
      max_ms: round(w.length ? w[w.length - 1] : null),
      server_cpu_pct: round(((u.cpuS - last.cpuS) / dt) * 100, 1),
      server_rss_kib: u.rssKiB,
      client_cpu_pct: round((clientS / dt) * 100, 1),
      client_loop_lag_max_ms: round(Math.max(0, eldWindow.max / 1e6 - ELD_RES_MS), 1),
      other_cpu_pct: m && last.machine ? round(Math.max(0, ((m.busyS - last.machine.busyS - (u.cpuS - last.cpuS) - clientS) / dt) * 100), 1) : null,
      steal_pct: m && last.machine ? round(((m.stealS - last.machine.stealS) / dt) * 100, 1) : null,
    };
    timeline.push(entry);
    bench.window = new Samples(65536);
    eldWindow.reset();
    last = { t: now, cpuS: u.cpuS, delivered: bench.delivered, machine: m, client };
    log(o, `# ${entry.t_s.toFixed(0).padStart(3)} s  sent ${sent}  delivered ${bench.delivered}/${expected}  ` +
      `${entry.delivered_per_s}/s  p99 ${entry.p99_ms ?? '-'} max ${entry.max_ms ?? '-'} ms  ` +
      `node CPU ${entry.server_cpu_pct}% RSS ${u.rssKiB} KiB  bench CPU ${entry.client_cpu_pct}% lag ${entry.client_loop_lag_max_ms} ms  ` +
      `others ${entry.other_cpu_pct}% steal ${entry.steal_pct}%`);
  }, 5000);

  await new Promise((resolve) => {
    const ticker = setInterval(() => {
      const now = performance.now() - t0;
      let pending = false;
      for (const room of plan.rooms) {
        const due = Math.min(perRoom, Math.floor((now - room.offset) / interval) + 1);
        while (room.sent < due) {
          const c = room.clients[room.sent % room.clients.length];
          if (c.ws.readyState === WebSocket.OPEN) {
            c.send(`bench ${performance.now()} ${room.sent} room${room.index}`);
            sent++;
            expected += room.clients.length;
          } else {
            bench.sendSkipped++;
          }
          room.sent++;
        }
        if (room.sent < perRoom) pending = true;
      }
      if (!pending && now >= o.duration * 1000) {
        clearInterval(ticker);
        resolve();
      }
    }, 5);
  });
  const sendEnd = performance.now();
  const u1 = procUsage(pid) ?? u0;
  const cpu1 = process.cpuUsage(cpu0);
  const m1 = machineUsage();

  // The last messages get a bounded moment to arrive.
  const drainUntil = performance.now() + o.drain * 1000;
  while (bench.delivered < expected && performance.now() < drainUntil && !bench.closedEarly.length) await sleep(20);
  const drainS = (performance.now() - sendEnd) / 1000;
  eld.disable();
  eldWindow.disable();
  clearInterval(progress);
  clearInterval(sampler);
  const uEnd = procUsage(pid) ?? u1;
  peakRss = Math.max(peakRss, uEnd.rssKiB);

  const sendS = (sendEnd - t0) / 1000;
  const lat = bench.latency.sorted();
  const n = lat.length;
  Object.assign(report, {
    users: plan.userCount,
    sockets_per_user: report.sockets_per_user,
    sent,
    expected_deliveries: expected,
    delivered: bench.delivered,
    lost: expected - bench.delivered,
    delivered_per_s: Math.round(bench.delivered / sendS),
    latency_ms: { p50: round(pct(lat, n, 50), 3), p99: round(pct(lat, n, 99), 3), max: round(n ? lat[n - 1] : null, 3) },
    latency_extra_ms: { p90: round(pct(lat, n, 90), 3), p999: round(pct(lat, n, 99.9), 3), mean: round(n ? lat.reduce((a, b) => a + b, 0) / n : null, 3) },
    server_cpu_pct: round(((u1.cpuS - u0.cpuS) / sendS) * 100, 1),
    server_rss_kib: { start: u0.rssKiB, peak: peakRss, end: uEnd.rssKiB },
    duplicates: bench.duplicates,
    foreign: bench.foreign,
    unparsable: bench.unparsable,
    out_of_order: bench.outOfOrder,
    send_skipped: bench.sendSkipped,
    server_errors: Object.fromEntries(bench.errors),
    sockets_closed_by_node: bench.closedEarly.length,
    send_window_s: round(sendS, 2),
    drain_s: round(drainS, 2),
    client: {
      cpu_pct: round(((cpu1.user + cpu1.system) / 1e6 / sendS) * 100, 1),
      // The histogram holds whole probe intervals; what is beyond the probe's
      // own period is how late this process's event loop ran.
      event_loop_delay_ms: {
        p50: round(Math.max(0, eld.percentile(50) / 1e6 - ELD_RES_MS), 2),
        p99: round(Math.max(0, eld.percentile(99) / 1e6 - ELD_RES_MS), 2),
        max: round(Math.max(0, eld.max / 1e6 - ELD_RES_MS), 2),
      },
    },
    // The rest of the machine during the send window, in % of one core:
    // CPU of every other process, iowait, and steal (a busy neighbour VM).
    others: m0 && m1 ? {
      cpu_pct: round(Math.max(0, ((m1.busyS - m0.busyS - (u1.cpuS - u0.cpuS) - (cpu1.user + cpu1.system) / 1e6) / sendS) * 100), 1),
      iowait_pct: round(((m1.iowaitS - m0.iowaitS) / sendS) * 100, 1),
      steal_pct: round(((m1.stealS - m0.stealS) / sendS) * 100, 1),
    } : null,
    timeline,
    node: { bin: SFU_BIN, node_version: process.version, open_files: { bench: limit, node: nodeLimit } },
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', kernel: os.release(), mem_mib: Math.round(os.totalmem() / 1048576) },
  });
  if (bench.closedEarly.length) {
    const codes = {};
    for (const c of bench.closedEarly) codes[`${c.code} ${c.reason}`.trim()] = (codes[`${c.code} ${c.reason}`.trim()] ?? 0) + 1;
    report.close_codes = codes;
  }
  return report;
}

function printTable(r) {
  const f = (x, d = 2) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
  const big = (x) => Number(x).toLocaleString('en-US');
  const rows = [
    ['sockets / rooms / accounts', `${r.sockets} / ${r.rooms} / ${r.users} (${r.sockets_per_user} sockets each)`],
    ['rate', `${r.rate_per_room} msg/s per room, ${r.duration_s} s (sent for ${f(r.send_window_s)} s)`],
    ['sent', big(r.sent)],
    ['deliveries', `${big(r.delivered)} of ${big(r.expected_deliveries)} (lost ${big(r.lost)}, duplicates ${r.duplicates}, out of order ${r.out_of_order})`],
    ['delivered/s', big(r.delivered_per_s)],
    ['latency ms', `p50 ${f(r.latency_ms.p50)}  p90 ${f(r.latency_extra_ms.p90)}  p99 ${f(r.latency_ms.p99)}  p99.9 ${f(r.latency_extra_ms.p999)}  max ${f(r.latency_ms.max)}`],
    ['node CPU', `${f(r.server_cpu_pct, 1)} % of one core`],
    ['node RSS KiB', `start ${big(r.server_rss_kib.start)}  peak ${big(r.server_rss_kib.peak)}  end ${big(r.server_rss_kib.end)}`],
    ['bench client', `CPU ${f(r.client.cpu_pct, 1)} %, event-loop delay p99 ${f(r.client.event_loop_delay_ms.p99)} ms max ${f(r.client.event_loop_delay_ms.max)} ms`],
    ['rest of machine', r.others ? `other processes ${f(r.others.cpu_pct, 1)} %, iowait ${f(r.others.iowait_pct, 1)} %, steal ${f(r.others.steal_pct, 1)} %` : '-'],
    ['node errors / closes', `${JSON.stringify(r.server_errors)} / ${r.sockets_closed_by_node}`],
    ['machine', `${r.machine.cores} cores, ${r.machine.cpu}, Linux ${r.machine.kernel}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

// ------------------------------------------------------------------- main --

async function main() {
  let o;
  try {
    o = parseFlags(process.argv.slice(2));
  } catch (e) {
    console.error(`chat-fanout: ${e.message}`);
    return 2;
  }
  const bench = {
    server: null,
    clients: [],
    closing: false,
    report: null,
    maxSeq: 0,
    delivered: 0,
    duplicates: 0,
    outOfOrder: 0,
    foreign: 0,
    unparsable: 0,
    sendSkipped: 0,
    errors: new Map(),
    closedEarly: [],
    latency: new Samples(Math.min(Math.ceil(o.sockets * o.rate * o.duration) + 1024, 1 << 25)),
    window: new Samples(65536),
  };
  const outFile = path.join(o.out, 'report.json');
  const writeReport = (r) => {
    fs.mkdirSync(o.out, { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(r, null, 2) + '\n');
  };
  const cleanup = async () => {
    bench.closing = true;
    for (const c of bench.clients) c.ws?.terminate();
    if (bench.server) await bench.server.stop();
  };

  // Everything is bounded: set-up (registration is the slow part, ~72 ms of
  // scrypt per account), sending, drain and shutdown.
  const budgetS = Math.ceil(120 + o.sockets / 10 + o.duration + o.drain + 30);
  const watchdog = setTimeout(async () => {
    console.error(`chat-fanout: still running after ${budgetS} s; giving up`);
    writeReport({ ...(bench.report ?? { scenario: 'chat-fanout' }), error: `timed out after ${budgetS} s` });
    await cleanup().catch(() => {});
    process.exit(1);
  }, budgetS * 1000);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, async () => {
      console.error(`chat-fanout: ${sig}; stopping the node`);
      writeReport({ ...(bench.report ?? { scenario: 'chat-fanout' }), error: `interrupted by ${sig}` });
      await cleanup().catch(() => {});
      process.exit(1);
    });
  }

  let report;
  try {
    report = await run(o, bench);
  } catch (e) {
    console.error(`chat-fanout: ${e.message}`);
    const tail = bench.server?.stderr().trim().split('\n').slice(-20).join('\n');
    if (tail) console.error(`node stderr (last lines):\n${tail}`);
    writeReport({ ...(bench.report ?? { scenario: 'chat-fanout' }), error: e.message });
    await cleanup().catch(() => {});
    return 1;
  }
  await cleanup();
  clearTimeout(watchdog);
  const exitCode = bench.server.exited()?.code;
  report.node.exit_code = exitCode ?? null;
  const warnings = bench.server.stderr().trim();
  if (warnings) report.node.stderr_tail = warnings.split('\n').slice(-10);
  report.pass = report.lost === 0 && report.latency_ms.p99 !== null && report.latency_ms.p99 < P99_LIMIT_MS;
  writeReport(report);
  printTable(report);
  console.log(`\n${report.pass ? 'PASS' : 'FAIL'}: ${report.lost === 0 ? 'nothing lost' : `${report.lost} deliveries lost`}, ` +
    `p99 ${report.latency_ms.p99} ms (limit ${P99_LIMIT_MS} ms); report ${outFile}`);
  return report.pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`chat-fanout: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
