// Boot, routing by location.hash and the top navigation.
//   #/            rooms          #/room/CODE   a room (pre-join, call, chat)
//   #/dms[/ID]    messages       #/people      search and contacts
//   #/history     calls
// Invite links are /r/CODE (the node serves the app there); ?r=CODE works too.
import { initAuth } from './auth.js';
import { initCall, callState } from './call.js';
import { initChat } from './chat.js';
import { initDirectCall } from './direct-call.js';
import { initDms, showDms, startDms } from './dm.js';
import { initHistory, showHistory } from './history.js';
import { initHome, showHome } from './home.js';
import './hook.js';
import { initPeople, showPeople } from './people.js';
import { initRoom, showRoom } from './room.js';
import { api, clear, session, signedIn } from './session.js';
import { $, on, parseRoomCode } from './util.js';
import { connect, disconnect } from './ws.js';

const VIEWS = ['auth', 'home', 'room', 'dms', 'people', 'history'];

export function showView(name) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const signed = signedIn();
  $('nav').hidden = !signed;
  $('me').hidden = !signed;
  $('who').textContent = signed ? session.user.username : '';
  document.body.dataset.view = name;
  updateBanner();
}

function updateBanner() {
  const c = callState();
  const inRoomView = document.body.dataset.view === 'room' && location.hash === `#/room/${c.code}`;
  $('call-banner').hidden = !c.active || inRoomView;
  if (c.active) {
    $('call-banner-text').textContent = `In a call in ${c.roomName}`;
    $('call-banner-link').href = `#/room/${c.code}`;
  }
}
on('call-changed', updateBanner);

function takeInvite() {
  const fromPath = /^\/r\/([a-z]{4}-[a-z]{4}-[a-z]{4})\/?$/.exec(location.pathname)?.[1];
  const fromQuery = parseRoomCode(new URLSearchParams(location.search).get('r') || '');
  const code = fromPath || fromQuery;
  if (code) {
    sessionStorage.setItem('sfu.invite', code);
    history.replaceState(null, '', `/#/room/${code}`);
  }
}

async function route() {
  if (!signedIn()) {
    $('invite-note').hidden = !sessionStorage.getItem('sfu.invite');
    showView('auth');
    return;
  }
  const invite = sessionStorage.getItem('sfu.invite');
  if (invite) {
    sessionStorage.removeItem('sfu.invite');
    if (location.hash !== `#/room/${invite}`) {
      location.hash = `#/room/${invite}`;
      return;
    }
  }
  const [, view, arg] = /^#\/?([a-z]*)\/?(.*)$/.exec(location.hash || '#/') || [];
  switch (view) {
    case 'room': showView('room'); await showRoom(decodeURIComponent(arg)); break;
    case 'dms': showView('dms'); await showDms(arg ? Number(arg) : null); break;
    case 'people': showView('people'); await showPeople(); break;
    case 'history': showView('history'); await showHistory(); break;
    default: showView('home'); await showHome();
  }
  updateBanner();
}

function afterSignIn() {
  connect().catch(() => {});
  startDms();
  route();
}

async function signOut() {
  if (callState().active) await callState().leave();
  try {
    await api('POST', '/api/auth/logout', { refreshToken: session.refresh });
  } catch {
    /* signed out locally either way */
  }
  localSignOut();
}

function localSignOut() {
  disconnect();
  clear();
  location.hash = '#/';
  route();
}

document.addEventListener('DOMContentLoaded', () => {
  takeInvite();
  initAuth(afterSignIn);
  initHome();
  initRoom();
  initChat();
  initCall();
  initDms();
  initPeople();
  initHistory();
  initDirectCall();
  $('sign-out').addEventListener('click', signOut);
  on('signed-out', localSignOut);
  window.addEventListener('hashchange', () => route().catch((e) => console.error(e)));
  if (signedIn()) afterSignIn();
  else route();
});
