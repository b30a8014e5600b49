// Room chat: history with paging, live messages, typing for several people,
// unread badge and marker while the panel is out of sight.
import { api, session } from './session.js';
import { $, on } from './util.js';
import { MessageList, wireCompose } from './messages.js';
import { request, send } from './ws.js';

let room = null;
let list = null;
const typing = new Map(); // userId -> {name, timer}
let unread = 0;
let typingSent = 0;
let typingStopTimer = null;

export function chatVisible() {
  return !$('panel-chat').hidden && !document.hidden && !$('view-room').hidden && $('panel-chat').offsetParent !== null;
}

export function chatOpened(r, joined, keep = false) {
  room = r;
  if (!keep) {
    list.reset();
    typing.clear();
    renderTyping();
    setUnread(0);
  }
  if (keep) {
    for (const m of joined.messages) list.add(m, !chatVisible());
  } else list.set(joined.messages, joined.hasMore);
}

export function chatClosed() {
  room = null;
  list?.reset();
  typing.clear();
  renderTyping();
  setUnread(0);
}

function setUnread(n) {
  unread = n;
  $('chat-badge').hidden = n === 0;
  $('chat-badge').textContent = n ? String(n) : '';
  $('chat-badge').setAttribute('aria-label', `${n} unread`);
}

function renderTyping() {
  const names = [...typing.values()].map((t) => t.name);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names.length} people are typing…`;
  $('typing').textContent = text;
}

function onTyping(value) {
  if (!room) return;
  clearTimeout(typingStopTimer);
  if (!value.trim()) {
    if (typingSent) send({ type: 'typing_stop', roomId: room.id });
    typingSent = 0;
    return;
  }
  if (Date.now() - typingSent > 3000) {
    send({ type: 'typing_start', roomId: room.id });
    typingSent = Date.now();
  }
  typingStopTimer = setTimeout(() => {
    if (room && typingSent) send({ type: 'typing_stop', roomId: room.id });
    typingSent = 0;
  }, 4000);
}

export function initChat() {
  list = new MessageList($('messages'), {
    loadOlder: (before) => api('GET', `/api/rooms/${room.id}/messages?limit=50&before=${before}`),
  });
  wireCompose({
    form: $('chat-form'), input: $('chat-input'), fileInput: $('chat-file'), errorEl: $('chat-error'), onTyping,
    sendFn: async (content, fileId) => {
      const r = room;
      const ack = await request({ type: 'send_message', roomId: r.id, content, ...(fileId ? { fileId } : {}) });
      typingSent = 0;
      clearTimeout(typingStopTimer);
      if (room === r) list.add(ack.message, false);
    },
  });
  on('ws:new_message', (m) => {
    if (!room || m.message.roomId !== room.id) return;
    const visible = chatVisible();
    list.add(m.message, !visible);
    if (!visible && m.message.senderId !== session.user.id) setUnread(unread + 1);
    const t = typing.get(m.message.senderId);
    if (t) {
      clearTimeout(t.timer);
      typing.delete(m.message.senderId);
      renderTyping();
    }
  });
  on('ws:typing', (m) => {
    if (!room || m.roomId !== room.id || m.userId === session.user.id) return;
    clearTimeout(typing.get(m.userId)?.timer);
    if (m.typing) {
      // The node says false after 5-6 s; drop it ourselves if that is lost.
      typing.set(m.userId, { name: m.username, timer: setTimeout(() => { typing.delete(m.userId); renderTyping(); }, 8000) });
    } else typing.delete(m.userId);
    renderTyping();
  });
  on('ws:user_left', (m) => {
    if (room && m.roomId === room.id && typing.delete(m.userId)) renderTyping();
  });
  on('chat-shown', () => setUnread(0));
  document.addEventListener('visibilitychange', () => {
    if (chatVisible()) setUnread(0);
  });
}
