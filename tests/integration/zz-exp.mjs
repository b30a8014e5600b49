import { startChatServer, connect, register } from './ws-lib.mjs';
const s = await startChatServer();
try {
  const u = await register(s);
  const t0 = Date.now();
  const mute = await connect(s, u.accessToken, { autoPong: false });
  const chatty = await connect(s, u.accessToken, { autoPong: false });
  const iv = setInterval(() => { if (chatty.isOpen) chatty.send({ type: 'ping' }); }, 5000);
  const polite = await connect(s, u.accessToken);
  const r = await Promise.allSettled([mute.closed(50000), chatty.closed(50000)]);
  clearInterval(iv);
  console.log('mute', r[0].value ?? r[0].reason?.message, 'pings', mute.pings);
  console.log('chatty', r[1].value ?? r[1].reason?.message, 'pings', chatty.pings, 'after', Date.now() - t0);
  console.log('polite open', polite.isOpen, polite.pings);
  const p = polite.closed(8000);
  await s.stop();
  console.log('on SIGTERM', await p.catch(e => e.message));
} finally { await s.stop(); }
