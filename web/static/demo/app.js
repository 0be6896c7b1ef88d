// Demo conference page: lobby → POST /dev/join → join, publish camera+mic, subscribe to
// everyone else, video grid, mute buttons (also sent as the participant's media state, so
// others see "camera off"), display names (rename in the side panel), chat and participant list. A page opened with
// #token=<token> joins with that token instead (how an application would hand one over).
// The page is also served at /r/<room path>: the lobby then names that room, and after a
// dev-token join the address bar shows the room's /r/ link.
// window.conclaveDemo exposes the live objects (the browser tests read it).

import { ConferenceClient, isMuted, inboundStats } from './lib/conclave.js';
import { ChatPanel } from './chat.js';

const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  chat: null, // ChatPanel
  publication: null,
  local: null, // MediaStream
  subscriptions: new Map(), // stream id → Subscription
  tiles: new Map(), // 'local' or stream id → tile element
};

window.conclaveDemo = {
  state,
  reconnects: 0,
  /** Inbound statistics of every subscription, by stream id. */
  async stats() {
    const out = {};
    for (const [id, sub] of state.subscriptions) out[id] = await inboundStats(sub.pc);
    return out;
  },
};

function setPhase(phase) {
  document.body.dataset.state = phase;
  $('lobby').classList.toggle('hidden', phase === 'joined');
  $('call').classList.toggle('hidden', phase !== 'joined');
  $('join').disabled = phase === 'joining';
  $('join').textContent = phase === 'joining' ? 'Joining…' : 'Join';
}

function showError(where, message) {
  const el = $(where);
  el.textContent = message || '';
  el.classList.toggle('hidden', !message);
}

/** Asks the dev-only endpoint for {token, path}; explains how to enable it when it is off. */
async function devToken(room, user) {
  let resp;
  try {
    resp = await fetch('/dev/join', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room, user }),
    });
  } catch (e) {
    throw new Error(`cannot reach the server: ${e.message}`);
  }
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 404) {
    throw new Error(body.error || 'This server does not hand out demo tokens. Start the all-in-one binary with CONCLAVE_DEV_TOKENS=1 (development only), or open this page with #token=<token> minted by your application server.');
  }
  if (!resp.ok || !body.token) throw new Error(body.error || `token request failed (${resp.status})`);
  return body;
}

/** The room a /r/<room path> address names, or ''. */
function roomFromLink() {
  if (!location.pathname.startsWith('/r/')) return '';
  try {
    return decodeURIComponent(location.pathname.slice('/r/'.length));
  } catch (e) {
    return '';
  }
}

/** Camera and microphone, falling back to one of them, or none (then the user only watches). */
async function localMedia() {
  const attempts = [
    { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } },
    { audio: false, video: true },
    { audio: true, video: false },
  ];
  for (const c of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch (e) {
      // next attempt
    }
  }
  return null;
}

async function join(token, roomLabel) {
  setPhase('joining');
  showError('lobby-error', '');
  showError('call-error', '');
  const client = new ConferenceClient();
  state.client = client;
  wireClient(client);
  try {
    const info = await client.join(token);
    $('room-title').textContent = roomLabel || info.room.id;
    setPhase('joined');
    setStatus('connected', 'green');
    renderParticipants();
    for (const s of client.streams.values()) onStream(s);
  } catch (e) {
    client.leave();
    setPhase('lobby');
    showError('lobby-error', `Could not join: ${e.message}`);
    return;
  }
  await startPublishing(client);
}

async function startPublishing(client) {
  const perm = client.permission && client.permission.publish;
  if (perm && !perm.audio && !perm.video) return;
  state.local = await localMedia();
  if (!state.local) {
    showError('call-error', 'No camera or microphone available: you can watch and chat.');
    return;
  }
  const tile = tileFor('local', `${displayName(client.participants.get(client.me.id) || client.me)} (you)`, true);
  tile.querySelector('video').srcObject = state.local;
  tile.querySelector('video').muted = true;
  updateLocalButtons();
  try {
    const params = new URLSearchParams(location.search);
    state.publication = await client.publish(state.local, {
      simulcast: params.get('simulcast') === '1', codec: params.get('codec') || undefined,
    });
    state.publication.addEventListener('ended', (e) => {
      if (client.joined) showError('call-error', `Publishing stopped: ${e.detail.reason}`);
    });
  } catch (e) {
    showError('call-error', `Could not publish: ${e.message}`);
  }
}

function wireClient(client) {
  client.addEventListener('participantjoined', (e) => {
    addSystemMessage(`${displayName(e.detail.participant)} joined.`);
    renderParticipants();
  });
  client.addEventListener('participantleft', (e) => {
    addSystemMessage(`${displayName(e.detail.participant)} left.`);
    renderParticipants();
  });
  client.addEventListener('participantupdated', (e) => onParticipantUpdated(e.detail.participant));
  client.addEventListener('streamadded', (e) => onStream(e.detail.stream));
  client.addEventListener('streamremoved', (e) => removeTile(e.detail.stream.id));
  client.addEventListener('streamupdated', (e) => updateBadges(e.detail.stream));
  // every message comes as `chat` new (and, for OWT clients, as `text` too): show `chat` only
  state.chat = new ChatPanel(client, $('messages'), (m) => showError('call-error', m));
  client.addEventListener('chathistory', () => addSystemMessage(`You joined as ${client.me.user}.`)); // after the history
  client.addEventListener('reconnecting', () => setStatus('reconnecting…', 'red'));
  client.addEventListener('reconnected', () => {
    window.conclaveDemo.reconnects++;
    setStatus('connected', 'green');
  });
  client.addEventListener('dropped', () => endCall('dropped', 'You were removed from the room by an operator.'));
  client.addEventListener('disconnected', (e) => {
    if (document.body.dataset.state === 'joined') endCall('disconnected', `Disconnected: ${e.detail.reason}`);
  });
}

function setStatus(text, color) {
  const s = $('status');
  s.textContent = text;
  s.className = `badge ${color}`;
}

/** Subscribes to a stream of someone else and gives it a tile. */
async function onStream(info, attempt = 1) {
  const client = state.client;
  if (!info || !info.info || info.info.owner === client.me.id) return;
  if (info.type === 'mixed') return; // the demo shows forward streams only
  if (attempt === 1 && state.tiles.has(info.id)) return;
  const tile = tileFor(info.id, client.nameOf(info.info.owner), false);
  tile.dataset.owner = info.info.owner;
  updateBadges(info);
  try {
    const sub = await client.subscribe(info);
    if (!client.joined || !client.streams.has(info.id)) {
      sub.stop();
      return;
    }
    state.subscriptions.set(info.id, sub);
    tile.querySelector('video').srcObject = sub.stream;
    sub.addEventListener('ended', (e) => {
      console.warn(`subscription to ${info.id} ended: ${e.detail.reason}`);
      state.subscriptions.delete(info.id);
    });
  } catch (e) {
    console.warn(`subscription to ${info.id} failed (attempt ${attempt}): ${e.message}`);
    if (!client.joined || !client.streams.has(info.id)) return;
    if (attempt < 3) {
      setTimeout(() => onStream(info, attempt + 1), 1000);
      return;
    }
    showError('call-error', `Could not receive ${client.nameOf(info.info.owner)}: ${e.message}`);
  }
}

/** A participant's display name: the name it chose (update-name), else its user. */
function displayName(p) {
  return (p && (p.name || p.user)) || '?';
}

function setTileName(tile, name) {
  tile.querySelector('.name').textContent = name;
  tile.querySelector('.avatar').textContent = (name || '?').trim().charAt(0).toUpperCase();
}

function tileFor(key, name, local) {
  let tile = state.tiles.get(key);
  if (tile) return tile;
  tile = $('tile-template').content.firstElementChild.cloneNode(true);
  tile.dataset.key = key;
  tile.classList.toggle('local', local);
  setTileName(tile, name);
  state.tiles.set(key, tile);
  if (local) $('grid').prepend(tile);
  else $('grid').append(tile);
  return tile;
}

function removeTile(key) {
  const tile = state.tiles.get(key);
  if (tile) tile.remove();
  state.tiles.delete(key);
  const sub = state.subscriptions.get(key);
  if (sub) sub.stop().catch(() => {});
  state.subscriptions.delete(key);
}

function setBadges(tile, audioOff, videoOff) {
  tile.querySelector('.mute-audio').classList.toggle('hidden', !audioOff);
  tile.querySelector('.mute-video').classList.toggle('hidden', !videoOff);
  tile.classList.toggle('video-off', videoOff);
  tile.dataset.audio = audioOff ? 'muted' : 'on';
  tile.dataset.video = videoOff ? 'muted' : 'on';
}

function updateBadges(info) {
  if (state.publication && info.id === state.publication.id) {
    updateLocalButtons(); // an operator may have muted our stream
    return;
  }
  const tile = state.tiles.get(info.id);
  if (!tile) return;
  // the stream's own status, or the owner's media state (docs/people.md)
  const p = info.info && state.client.participants.get(info.info.owner);
  const ms = (p && p.mediaState) || {};
  setBadges(tile, isMuted(info, 'audio') || ms.microphoneEnabled === false,
    isMuted(info, 'video') || ms.cameraEnabled === false);
}

/** A participant changed its name or media state: tiles, list and chat follow. */
function onParticipantUpdated(p) {
  const client = state.client;
  if (p.id === client.me.id) {
    const local = state.tiles.get('local');
    if (local) setTileName(local, `${displayName(p)} (you)`);
  }
  for (const s of client.streams.values()) {
    if (!s.info || s.info.owner !== p.id) continue;
    const tile = state.tiles.get(s.id);
    if (tile) setTileName(tile, displayName(p));
    updateBadges(s);
  }
  renderParticipants();
}

/** Renames oneself (update-name); the participantupdated event then updates the page. */
async function rename(name) {
  if (!state.client || !state.client.joined) return;
  try {
    await state.client.updateName(name);
  } catch (e) {
    showError('call-error', `Could not rename: ${e.message}`);
  }
}

function localEnabled(kind) {
  const t = state.local && state.local.getTracks().find((x) => x.kind === kind);
  return t ? t.enabled : null;
}

function updateLocalButtons() {
  const audio = localEnabled('audio');
  const video = localEnabled('video');
  const a = $('toggle-audio');
  const v = $('toggle-video');
  a.disabled = audio === null;
  v.disabled = video === null;
  a.textContent = audio === false ? 'Unmute mic' : 'Mute mic';
  v.textContent = video === false ? 'Start camera' : 'Stop camera';
  a.classList.toggle('on', audio === false);
  v.classList.toggle('on', video === false);
  a.setAttribute('aria-pressed', String(audio === false));
  v.setAttribute('aria-pressed', String(video === false));
  const tile = state.tiles.get('local');
  const own = state.publication && state.client.streams.get(state.publication.id);
  if (tile) setBadges(tile, audio === false || isMuted(own, 'audio'), video === false || isMuted(own, 'video'));
}

async function toggle(kind) {
  const pub = state.publication;
  if (!pub || localEnabled(kind) === null) return;
  try {
    const on = !localEnabled(kind);
    if (on) await pub.unmute(kind);
    else await pub.mute(kind);
    // tell the room (docs/people.md): others show "camera off" / "mic off" on our tile
    await state.client.updateMediaState(kind === 'video' ? { cameraEnabled: on } : { microphoneEnabled: on });
  } catch (e) {
    showError('call-error', `Could not change ${kind}: ${e.message}`);
  }
  updateLocalButtons();
}

function renderParticipants() {
  const client = state.client;
  const list = $('participants');
  list.replaceChildren();
  for (const p of client.participants.values()) {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    li.dataset.name = displayName(p);
    li.textContent = displayName(p);
    if (p.name && p.name !== p.user) li.append(' ', Object.assign(document.createElement('span'), { className: 'muted', textContent: `(${p.user})` }));
    const ms = p.mediaState || {};
    if (ms.cameraEnabled === false) li.append(' ', Object.assign(document.createElement('span'), { className: 'badge red cam-off', textContent: 'camera off' }));
    if (ms.microphoneEnabled === false) li.append(' ', Object.assign(document.createElement('span'), { className: 'badge red mic-off', textContent: 'mic off' }));
    if (p.id === client.me.id) li.append(' ', Object.assign(document.createElement('span'), { className: 'badge', textContent: 'you' }));
    li.append(' ', Object.assign(document.createElement('span'), { className: 'muted', textContent: p.role }));
    list.append(li);
  }
  $('participant-count').textContent = String(client.participants.size);
}

function addSystemMessage(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  $('messages').append(li);
}

/** Tears the call down and returns to the lobby, with a message. */
function endCall(phase, message) {
  const client = state.client;
  if (client) client.leave();
  if (state.local) state.local.getTracks().forEach((t) => t.stop());
  state.local = null;
  state.publication = null;
  state.subscriptions.clear();
  state.tiles.clear();
  $('grid').replaceChildren();
  $('messages').replaceChildren();
  setPhase('lobby');
  document.body.dataset.state = phase;
  showError('lobby-error', message);
}

function init() {
  setPhase('lobby');
  const linked = roomFromLink();
  if (linked) $('room').value = linked;
  $('join-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const room = $('room').value.trim();
    const user = $('name').value.trim();
    setPhase('joining');
    try {
      const dev = await devToken(room, user);
      if (dev.path) history.replaceState(null, '', `/r/${dev.path}${location.search}`);
      await join(dev.token, room);
    } catch (err) {
      setPhase('lobby');
      showError('lobby-error', err.message);
    }
  });
  $('toggle-audio').addEventListener('click', () => toggle('audio'));
  $('toggle-video').addEventListener('click', () => toggle('video'));
  $('toggle-side').addEventListener('click', () => $('side').classList.toggle('collapsed'));
  $('leave').addEventListener('click', () => endCall('left', ''));
  $('rename-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('rename-input').value.trim();
    if (!name) return;
    $('rename-input').value = '';
    rename(name);
  });
  $('chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text || !state.client) return;
    input.value = '';
    try {
      await state.client.sendMessage('all', text);
    } catch (err) {
      showError('call-error', `Message not sent: ${err.message}`);
    }
  });
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (token) {
    history.replaceState(null, '', location.pathname + location.search);
    join(token, '');
  }
}

init();
