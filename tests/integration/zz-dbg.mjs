import { startChatServer } from './ws-lib.mjs';
import net from 'node:net';
const s = await startChatServer();
try {
  const sock = net.connect(s.port, '127.0.0.1');
  const chunks = [];
  sock.on('data', d => chunks.push(d));
  sock.on('close', () => console.log('tcp closed'));
  sock.on('error', e => console.log('tcp err', e.code));
  await new Promise(r => sock.on('connect', r));
  sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise(r => setTimeout(r, 300));
  const payload = Buffer.from(JSON.stringify({type:'authenticate', token:'x'}));
  const mask = Buffer.from([1,2,3,4]);
  const hdr = Buffer.from([0x81, 0x80 | payload.length]);
  const masked = Buffer.from(payload.map((b,i)=>b ^ mask[i%4]));
  sock.write(Buffer.concat([hdr, mask, masked]));
  await new Promise(r => setTimeout(r, 1000));
  const all = Buffer.concat(chunks);
  const i = all.indexOf('\r\n\r\n');
  console.log(all.slice(0,i).toString());
  console.log(all.slice(i+4).toString('hex'));
  sock.destroy();
} finally { await s.stop(); }
