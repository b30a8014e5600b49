#!/usr/bin/env node
// Chat fan-out bench: a fresh node on loopback, S WebSocket clients in R rooms,
// each room receiving M messages per second for D seconds. Every member
// socket of a room must receive every message of that room (the sender's own
// sockets included). Reports delivered messages per second, delivery latency
// (send to receive, one process clock), lost messages, node CPU and RSS.
//
//   node bench/chat-fanout.mjs [--sockets 1000] [--rooms 50] [--rate 20]
//                              [--duration 60] [--users-per-room 4] [--out DIR]
//
// Users: --users-per-room accounts per room, each holding sockets/rooms/users
// sockets (tabs), so 1,000 sockets need 200 registrations, not 1,000 (each
// costs a scrypt hash on the node). Every socket is a full client: its own
// connection, authentication and join_room.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

import { api, register, startServer } from '../tests/integration/lib.mjs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const WebSocket = require('ws');

function flags(argv) {
  const o = { sockets: 1000, rooms: 50, rate: 20, duration: 60, 'users-per-room': 4, out: 'bench/out/chat-fanout' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o) || argv[i + 1] === undefined) throw new Error(`unknown or valueless flag ${argv[i]}`);
    o[k] = k === 'out' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return o;
}

function usage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssKiB: rss }; // USER_HZ is 100 on Linux
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

function openSocket(server, token, roomId, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    const timer = setTimeout(() => reject(new Error('socket set-up timed out')), 20000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'authenticate', token })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data);
      if (msg.type === 'authenticated') ws.send(JSON.stringify({ type: 'join_room', roomId }));
      else if (msg.type === 'room_joined') {
        clearTimeout(timer);
        resolve(ws);
      } else if (msg.type === 'error' || msg.type === 'auth_error') reject(new Error(msg.message));
      else onMessage(msg);
    });
    ws.on('error', reject);
  });
}

async function main() {
  const o = flags(process.argv.slice(2));
  const usersPerRoom = o['users-per-room'];
  const socketsPerUser = Math.max(1, Math.round(o.sockets / (o.rooms * usersPerRoom)));
  const server = await startServer({ args: ['--limit-ws', '0', '--log-level', 'warn'] });
  const pid = server.proc.pid;
  const latencies = [];
  let delivered = 0;
  const sent = [];
  let stop = false;
  try {
    console.log(`# ${o.rooms} rooms x ${usersPerRoom} users x ${socketsPerUser} sockets = ${o.rooms * usersPerRoom * socketsPerUser} sockets; ${o.rate} msg/s per room for ${o.duration} s`);
    const users = await inBatches([...Array(o.rooms * usersPerRoom).keys()], 8, () => register(server));
    const rooms = [];
    for (let r = 0; r < o.rooms; r++) {
      const members = users.slice(r * usersPerRoom, (r + 1) * usersPerRoom);
      const created = await api(server, 'POST', '/api/rooms', { token: members[0].accessToken, body: { name: `bench ${r}` } });
      const id = created.json.room.id;
      for (const m of members.slice(1)) await api(server, 'POST', `/api/rooms/${id}/join`, { token: m.accessToken });
      rooms.push({ id, members });
    }
    const onMessage = (msg) => {
      if (msg.type !== 'new_message') return;
      const m = /^b:([\d.]+):/.exec(msg.message.content);
      if (!m) return;
      delivered++;
      latencies.push(performance.now() - Number(m[1]));
    };
    const plan = rooms.flatMap((room) => room.members.flatMap((u) => Array.from({ length: socketsPerUser }, () => ({ room, u }))));
    const sockets = await inBatches(plan, 50, async ({ room, u }) => ({ room, u, ws: await openSocket(server, u.accessToken, room.id, onMessage) }));
    const firstSocket = new Map();
    for (const s of sockets) if (!firstSocket.has(s.u)) firstSocket.set(s.u, s.ws);
    const membersSockets = socketsPerUser * usersPerRoom;
    console.log(`# ${sockets.length} sockets connected and joined`);

    const u0 = usage(pid);
    const t0 = performance.now();
    let peakRss = u0.rssKiB;
    const interval = 1000 / o.rate;
    const timers = rooms.map((room, ri) => {
      let n = 0;
      const send = () => {
        if (stop) return;
        const sender = room.members[n % room.members.length];
        const content = `b:${performance.now()}:${ri}:${n++}`;
        firstSocket.get(sender).send(JSON.stringify({ type: 'send_message', roomId: room.id, content }));
        sent.push(membersSockets);
      };
      return setTimeout(() => { send(); room.timer = setInterval(send, interval); }, (ri * interval) / rooms.length);
    });
    const progress = setInterval(() => {
      const u = usage(pid);
      peakRss = Math.max(peakRss, u.rssKiB);
      const expected = sent.reduce((a, b) => a + b, 0);
      console.log(`# ${((performance.now() - t0) / 1000).toFixed(0)} s: sent ${sent.length}, delivered ${delivered}/${expected}, RSS ${u.rssKiB} KiB`);
    }, 5000);
    await new Promise((r) => setTimeout(r, o.duration * 1000));
    stop = true;
    timers.forEach(clearTimeout);
    rooms.forEach((room) => clearInterval(room.timer));
    const elapsed = (performance.now() - t0) / 1000;
    const u1 = usage(pid);
    const expected = sent.reduce((a, b) => a + b, 0);
    // The last messages get a bounded moment to arrive.
    for (let i = 0; i < 50 && delivered < expected; i++) await new Promise((r) => setTimeout(r, 100));
    clearInterval(progress);
    for (const s of sockets) s.ws.terminate();
    latencies.sort((a, b) => a - b);
    const report = {
      scenario: 'chat-fanout',
      sockets: sockets.length,
      rooms: o.rooms,
      users: users.length,
      rate_per_room: o.rate,
      duration_s: o.duration,
      sent: sent.length,
      expected_deliveries: expected,
      delivered,
      lost: expected - delivered,
      delivered_per_s: Math.round(delivered / elapsed),
      latency_ms: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) ?? null },
      server_cpu_pct: Number((((u1.cpuS - u0.cpuS) / elapsed) * 100).toFixed(1)),
      server_rss_kib: { start: u0.rssKiB, peak: Math.max(peakRss, u1.rssKiB), end: u1.rssKiB },
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', kernel: os.release() },
    };
    fs.mkdirSync(o.out, { recursive: true });
    fs.writeFileSync(path.join(o.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    const f = (x) => (x === null ? '-' : x.toFixed(2));
    console.log(`sockets ${report.sockets}  rooms ${report.rooms}  sent ${report.sent}  delivered ${delivered}/${expected} (lost ${report.lost})`);
    console.log(`delivered/s ${report.delivered_per_s}  latency ms p50 ${f(report.latency_ms.p50)} p99 ${f(report.latency_ms.p99)} max ${f(report.latency_ms.max)}`);
    console.log(`node CPU ${report.server_cpu_pct}%  RSS KiB start ${u0.rssKiB} peak ${report.server_rss_kib.peak} end ${u1.rssKiB}`);
    console.log(`report: ${path.join(o.out, 'report.json')}`);
    return report.lost === 0 && report.latency_ms.p99 !== null && report.latency_ms.p99 < 50 ? 0 : 1;
  } finally {
    stop = true;
    await server.stop();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`chat-fanout: ${e.message}`);
  process.exit(2);
});
