// The room screen: header (invite link, leave, delete), members with
// presence, and the side panel tabs. Chat lives in chat.js, the call in call.js.
import { callState, showPrejoin } from './call.js';
import { chatClosed, chatOpened, chatVisible } from './chat.js';
import { api, session } from './session.js';
import { $, el, emit, fmtLastSeen, inviteLink, on, tablist, toast } from './util.js';
import { connect, request, send } from './ws.js';

export const roomState = { room: null, members: new Map() };
let selectTab = null;

export const currentRoom = () => roomState.room;

export async function showRoom(code) {
  $('room-error').textContent = '';
  if (roomState.room && (roomState.room.code === code || String(roomState.room.id) === code)) {
    if (!callState().active) showPrejoin();
    emit('call-changed');
    return roomState.room;
  }
  return openRoom(code);
}

let opening = null; // {code, promise}: one open at a time per code
export function openRoom(code) {
  if (opening?.code === code) return opening.promise;
  const promise = doOpen(code).finally(() => {
    if (opening?.promise === promise) opening = null;
  });
  opening = { code, promise };
  return promise;
}

async function doOpen(code) {
  const prev = roomState.room;
  if (prev && !(callState().active && callState().roomId === prev.id)) send({ type: 'leave_room', roomId: prev.id });
  roomState.room = null;
  chatClosed();
  let room;
  try {
    ({ room } = await api('POST', `/api/rooms/${encodeURIComponent(code)}/join`));
  } catch (e) {
    $('room-title').textContent = 'Room not available';
    $('room-error').textContent = e.status === 404 ? 'This room does not exist or has ended.' : e.message;
    $('stage').hidden = true;
    return null;
  }
  $('stage').hidden = false;
  await connect();
  const joined = await request({ type: 'join_room', roomId: room.id });
  roomState.room = joined.room || room;
  renderHeader();
  roomState.members = new Map(joined.members.map((m) => [m.userId, m]));
  renderMembers();
  chatOpened(roomState.room, joined);
  if (!(callState().active && callState().roomId === room.id)) showPrejoin();
  emit('room-opened', roomState.room);
  emit('call-changed');
  return roomState.room;
}

function renderHeader() {
  const r = roomState.room;
  $('room-title').textContent = r.name;
  $('room-private').hidden = !r.private;
  $('invite-link').value = inviteLink(r.code);
  // A direct call's room: nobody else can join, and it ends with the call.
  for (const id of ['invite-link', 'copy-invite', 'leave-room']) $(id).hidden = Boolean(r.direct);
  $('delete-room').hidden = r.hostId !== session.user.id;
  document.title = `${r.name} · SFU`;
}

export function renderMembers() {
  const list = [...roomState.members.values()];
  $('members').replaceChildren(...list.map((m) => el('li', { className: 'row-item', dataset: { userId: m.userId } },
    el('span', { className: `dot ${m.online ? 'on' : ''}`, attrs: { 'aria-hidden': 'true' } }),
    el('span', { className: 'grow' }, m.username, m.role === 'host' ? el('span', { className: 'pill' }, 'Host') : null,
      m.userId === session.user.id ? ' (you)' : ''),
    el('span', { className: 'muted small presence' }, fmtLastSeen(m.online, m.lastSeen)))));
}

export function initRoom() {
  selectTab = tablist($('tab-chat').parentElement, (tab) => {
    if (tab.id === 'tab-chat') emit('chat-shown');
  });
  $('copy-invite').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('invite-link').value);
      toast('Invite link copied');
    } catch {
      $('invite-link').select();
      toast('Select and copy the link');
    }
  });
  $('leave-room').addEventListener('click', async () => {
    const r = roomState.room;
    if (!r || !confirm(`Leave ${r.name}? You will stop being a member.`)) return;
    if (callState().active && callState().roomId === r.id) await callState().leave();
    try {
      await api('POST', `/api/rooms/${r.id}/leave`);
      roomState.room = null;
      location.hash = '#/';
    } catch (e) {
      $('room-error').textContent = e.message;
    }
  });
  $('delete-room').addEventListener('click', async () => {
    const r = roomState.room;
    if (!r || !confirm(`Delete ${r.name} for everyone? Its chat and files go with it.`)) return;
    try {
      await api('DELETE', `/api/rooms/${r.id}`);
    } catch (e) {
      $('room-error').textContent = e.message;
    }
  });
  on('ws:presence', (m) => {
    const member = roomState.members.get(m.userId);
    if (!member) return;
    member.online = m.status === 'online';
    member.lastSeen = m.lastSeen;
    renderMembers();
  });
  on('ws:user_joined', (m) => {
    if (m.roomId !== roomState.room?.id) return;
    const member = roomState.members.get(m.userId);
    if (member) member.online = true;
    else roomState.members.set(m.userId, { userId: m.userId, username: m.username, role: 'member', online: true, lastSeen: null });
    renderMembers();
  });
  on('ws:room_ended', (m) => {
    if (m.roomId !== roomState.room?.id) return;
    toast('The room was deleted by its host');
    roomState.room = null;
    chatClosed();
    if (location.hash.startsWith('#/room/')) location.hash = '#/';
  });
  on('ws:reconnected', async () => {
    const r = roomState.room;
    if (!r) return;
    try {
      const joined = await request({ type: 'join_room', roomId: r.id });
      roomState.members = new Map(joined.members.map((m) => [m.userId, m]));
      renderMembers();
      chatOpened(r, joined, true);
    } catch {
      /* the next reconnect tries again */
    }
  });
  void chatVisible;
}

export const showChatTab = () => selectTab?.($('tab-chat'));
export const showPeopleTab = () => selectTab?.($('tab-people'));
