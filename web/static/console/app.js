// Operator console: rooms (list, create, edit, delete) and a room's live participants, chat
// messages, streams, recordings and streaming-outs, through the MAuth-signed management REST API of the
// server that serves this page. Credentials live only in the `api` variable below.

import { RestClient } from '/console/lib/rest.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 3000;

let api = null; // RestClient of the signed-in service; never persisted
let current = null; // selected room
let timer = null;
let busy = false;

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

function button(text, onClick, className = '') {
  const b = el('button', { type: 'button', className, textContent: text });
  b.addEventListener('click', onClick);
  return b;
}

function showError(e) {
  $('error-text').textContent = e ? (e.message || String(e)) : '';
  $('error').classList.toggle('hidden', !e);
}

function notice(text) {
  $('notice').textContent = text;
  $('notice').classList.toggle('hidden', !text);
  if (text) setTimeout(() => { if ($('notice').textContent === text) notice(''); }, 4000);
}

/** Runs an action, showing its error in the banner; resolves with its result or undefined. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  }
}

const roomPath = (suffix = '') => `/v1/rooms/${encodeURIComponent(current.id)}${suffix}`;

function emptyRow(cols, text) {
  return el('tr', { className: 'empty' }, el('td', { colSpan: cols, textContent: text }));
}

// ---- rooms ----

async function loadRooms() {
  const rooms = await api.get('/v1/rooms?per_page=1000');
  const body = $('rooms');
  body.replaceChildren();
  if (!rooms.length) body.append(emptyRow(3, 'No rooms yet.'));
  for (const r of rooms) {
    const name = el('td', { textContent: r.name, title: 'Open' });
    name.addEventListener('click', () => openRoom(r.id));
    const tr = el('tr', {}, name, el('td', { className: 'mono wide', textContent: r.id }),
      el('td', {}, button('Open', () => openRoom(r.id))));
    tr.dataset.id = r.id;
    tr.classList.toggle('selected', current && current.id === r.id);
    body.append(tr);
  }
  return rooms;
}

async function createRoom(name) {
  const r = await api.post('/v1/rooms', { name });
  notice(`Room "${r.name}" created.`);
  await loadRooms();
  await openRoom(r.id);
}

async function openRoom(id) {
  const r = await attempt(() => api.get(`/v1/rooms/${encodeURIComponent(id)}`));
  if (!r) return;
  current = r;
  $('room').classList.remove('hidden');
  renderRoomSettings(r);
  for (const tr of $('rooms').children) tr.classList.toggle('selected', tr.dataset.id === id);
  await refreshLive();
}

function renderRoomSettings(r) {
  $('room-name').textContent = r.name;
  $('room-id').textContent = r.id;
  $('q-name').value = r.name;
  $('q-plimit').value = r.participantLimit;
  $('q-ilimit').value = r.inputLimit;
  const { _id, id, ...rest } = r;
  $('room-json').value = JSON.stringify(rest, null, 2);
}

async function saveRoom(body) {
  const r = await api.put(roomPath(), body);
  current = { ...r, id: current.id };
  renderRoomSettings(current);
  notice('Room saved.');
  await loadRooms();
}

async function deleteRoom() {
  if (!current || !confirm(`Delete room "${current.name}"? Its live conference ends.`)) return;
  await api.del(roomPath());
  notice(`Room "${current.name}" deleted.`);
  current = null;
  $('room').classList.add('hidden');
  await loadRooms();
}

// ---- live resources ----

async function refreshLive() {
  if (!current || busy) return;
  busy = true;
  try {
    const [participants, streams, recordings, outs, messages] = await Promise.all([
      api.get(roomPath('/participants')), api.get(roomPath('/streams')),
      api.get(roomPath('/recordings')), api.get(roomPath('/streaming-outs')),
      // the chat history may be unavailable (docs/chat.md): the rest still shows
      api.get(roomPath('/messages?limit=100')).catch((e) => ({ error: e })),
    ]);
    const users = new Map(participants.map((p) => [p.id, p.user]));
    renderParticipants(participants);
    renderMessages(messages, new Map(participants.map((p) => [p.id, p.name || p.user])));
    renderStreams(streams, users);
    renderStreamChoices(streams, users);
    renderOutputs('recordings', recordings, (r) => [mediaText(r.media), storageText(r.storage)], '/recordings/');
    renderOutputs('streamingouts', outs, (o) => [o.protocol || '—', o.url || '—'], '/streaming-outs/');
  } catch (e) {
    showError(e);
  } finally {
    busy = false;
  }
}

function renderParticipants(list) {
  $('participant-count').textContent = String(list.length);
  const body = $('participants');
  body.replaceChildren();
  if (!list.length) body.append(emptyRow(4, 'Nobody is in this room.'));
  for (const p of list) {
    const tr = el('tr', {}, el('td', { textContent: p.user }), el('td', { textContent: p.role }),
      el('td', { className: 'mono wide', textContent: p.id }),
      el('td', {}, button('Drop', () => attempt(async () => {
        await api.del(roomPath(`/participants/${encodeURIComponent(p.id)}`));
        notice(`${p.user} dropped.`);
        await refreshLive();
      }), 'danger drop')));
    tr.dataset.id = p.id;
    tr.dataset.user = p.user;
    body.append(tr);
  }
}

/** The room's chat (GET /v1/rooms/{id}/messages), oldest first; content shown as text. */
function renderMessages(list, names) {
  const body = $('messages');
  body.replaceChildren();
  if (list && list.error) {
    body.append(emptyRow(4, `Chat history unavailable: ${list.error.message || list.error}`));
    $('message-count').textContent = '?';
    return;
  }
  const msgs = Array.isArray(list) ? list : [];
  $('message-count').textContent = String(msgs.length);
  if (!msgs.length) body.append(emptyRow(4, 'No messages.'));
  const who = (id) => (id === 'all' || id === 'service' ? id : names.get(id) || id);
  for (const m of msgs) {
    const time = new Date(m.timestamp).toLocaleTimeString();
    const content = el('td', { className: 'wrap', textContent: m.content });
    if (m.edited) content.append(' ', el('span', { className: 'muted', textContent: '(edited)' }));
    const tr = el('tr', {}, el('td', { textContent: time }), el('td', { textContent: who(m.from) }),
      el('td', { textContent: who(m.to) }), content);
    tr.dataset.id = m.id;
    tr.dataset.from = m.from;
    body.append(tr);
  }
}

function statusOf(s, kind) {
  const m = s.media && s.media[kind];
  if (!m) return null;
  return m.status || 'active';
}

function muteCell(s, kind) {
  const status = statusOf(s, kind);
  if (!status || s.type === 'mixed') return el('td', { textContent: '—' }); // a mix cannot be muted
  const active = status === 'active';
  const b = button(active ? 'Mute' : 'Unmute', () => attempt(async () => {
    await api.patch(roomPath(`/streams/${encodeURIComponent(s.id)}`),
      [{ op: 'replace', path: `/media/${kind}/status`, value: active ? 'inactive' : 'active' }]);
    await refreshLive();
  }), `mute-${kind}`);
  const badge = el('span', { className: `badge ${active ? 'green' : 'red'}`, textContent: active ? 'on' : 'muted' });
  return el('td', {}, el('span', { className: 'row' }, badge, b));
}

// typeCell shows a stream's kind; a forward stream gets a toggle that mixes it into (or
// takes it out of) the room's first view, the mixed stream <roomId>-<label>.
function typeCell(s) {
  const text = `${s.type}${s.info && s.info.type ? ` / ${s.info.type}` : ''}`;
  const views = (s.info && s.info.inViews) || null;
  const labels = ((current && current.views) || []).map((v) => v.label);
  if (s.type !== 'forward' || !views || !labels.length) return el('td', { textContent: text });
  const view = labels[0];
  const mixed = views.includes(view);
  const b = button(mixed ? `Unmix from ${view}` : `Mix into ${view}`, () => attempt(async () => {
    await api.patch(roomPath(`/streams/${encodeURIComponent(s.id)}`),
      [{ op: mixed ? 'remove' : 'add', path: '/info/inViews', value: view }]);
    await refreshLive();
  }), 'mix');
  return el('td', {}, el('span', { className: 'row' }, el('span', { textContent: text }), b));
}

function ownerOf(s, users) {
  const owner = s.info && s.info.owner;
  return owner ? (users.get(owner) || owner) : (s.info && s.info.label) || '—';
}

function renderStreams(list, users) {
  $('stream-count').textContent = String(list.length);
  const body = $('streams');
  body.replaceChildren();
  if (!list.length) body.append(emptyRow(5, 'No streams.'));
  for (const s of list) {
    const tr = el('tr', {}, el('td', { textContent: ownerOf(s, users) }), typeCell(s),
      muteCell(s, 'audio'), muteCell(s, 'video'), el('td', { className: 'mono wide', textContent: s.id }));
    tr.dataset.id = s.id;
    tr.dataset.type = s.type;
    body.append(tr);
  }
}

function renderStreamChoices(list, users) {
  for (const id of ['recording-stream', 'streaming-stream']) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren();
    if (!list.length) sel.append(el('option', { value: '', textContent: 'no streams' }));
    for (const s of list) sel.append(el('option', { value: s.id, textContent: `${ownerOf(s, users)} · ${s.id.slice(0, 8)}` }));
    if (list.some((s) => s.id === keep)) sel.value = keep;
  }
}

function mediaText(media) {
  if (!media) return '—';
  return ['audio', 'video'].filter((k) => media[k]).map((k) => `${k} ← ${String(media[k].from || '').slice(0, 8)}`).join(', ');
}

function storageText(storage) {
  if (!storage) return '—';
  const file = storage.file ? String(storage.file).split('/').pop() : '';
  return [storage.host, file].filter(Boolean).join(': ') || JSON.stringify(storage);
}

function renderOutputs(tbodyId, list, cells, pathPart) {
  const body = $(tbodyId);
  body.replaceChildren();
  if (!list.length) body.append(emptyRow(4, 'None running.'));
  for (const o of list) {
    const tr = el('tr', {}, el('td', { className: 'mono wide', textContent: o.id }),
      ...cells(o).map((c) => el('td', { className: 'wrap', textContent: c })),
      el('td', {}, button('Stop', () => attempt(async () => {
        await api.del(roomPath(pathPart + encodeURIComponent(o.id)));
        notice('Stopped.');
        await refreshLive();
      }), 'danger stop')));
    tr.dataset.id = o.id;
    body.append(tr);
  }
}

/** The media of an output for a stream: its audio and video, whichever it has. */
function mediaFor(streamId) {
  const row = $('streams').querySelector(`tr[data-id="${CSS.escape(streamId)}"]`);
  const cells = row ? row.children : [];
  const media = {};
  if (cells[2] && cells[2].textContent !== '—') media.audio = { from: streamId };
  if (cells[3] && cells[3].textContent !== '—') media.video = { from: streamId };
  if (!media.audio && !media.video) media.audio = { from: streamId };
  return media;
}

async function startRecording() {
  const stream = $('recording-stream').value;
  if (!stream) throw new Error('Pick a stream to record.');
  const r = await api.post(roomPath('/recordings'), { container: $('recording-container').value, media: mediaFor(stream) });
  notice(`Recording ${r && r.id ? r.id : ''} started.`);
  await refreshLive();
}

async function startStreamingOut() {
  const stream = $('streaming-stream').value;
  if (!stream) throw new Error('Pick a stream to send.');
  const o = await api.post(roomPath('/streaming-outs'), { url: $('streaming-url').value.trim(), media: mediaFor(stream) });
  notice(`Streaming-out ${o && o.id ? o.id : ''} started.`);
  await refreshLive();
}

// ---- session ----

function schedule() {
  clearInterval(timer);
  if ($('auto-refresh').checked) timer = setInterval(refreshLive, REFRESH_MS);
}

async function signIn(id, key) {
  const candidate = new RestClient(location.origin, id, key);
  await candidate.get('/v1/rooms?per_page=1');
  api = candidate;
  $('who').textContent = `service ${id}`;
  $('signin').classList.add('hidden');
  $('app').classList.remove('hidden');
  document.body.dataset.state = 'signed-in';
  await attempt(loadRooms);
  schedule();
}

function signOut() {
  api = null;
  current = null;
  clearInterval(timer);
  $('service-key').value = '';
  $('room').classList.add('hidden');
  $('rooms').replaceChildren();
  $('app').classList.add('hidden');
  $('signin').classList.remove('hidden');
  document.body.dataset.state = 'signed-out';
}

function onSubmit(id, fn) {
  $(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(null);
    await attempt(fn);
  });
}

function init() {
  document.body.dataset.state = 'signed-out';
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-error').classList.add('hidden');
    try {
      await signIn($('service-id').value.trim(), $('service-key').value);
    } catch (err) {
      $('signin-error').textContent = `Sign-in failed: ${err.message}`;
      $('signin-error').classList.remove('hidden');
    }
  });
  onSubmit('create-form', async () => {
    await createRoom($('new-room').value.trim());
    $('new-room').value = '';
  });
  onSubmit('quick-form', () => saveRoom({
    name: $('q-name').value.trim(),
    participantLimit: Number($('q-plimit').value),
    inputLimit: Number($('q-ilimit').value),
  }));
  $('save-json').addEventListener('click', () => attempt(async () => {
    let body;
    try {
      body = JSON.parse($('room-json').value);
    } catch (e) {
      throw new Error(`The JSON is not valid: ${e.message}`);
    }
    await saveRoom(body);
  }));
  onSubmit('recording-form', startRecording);
  onSubmit('streaming-form', startStreamingOut);
  $('delete-room').addEventListener('click', () => attempt(deleteRoom));
  $('refresh').addEventListener('click', () => attempt(async () => { await loadRooms(); await refreshLive(); }));
  $('auto-refresh').addEventListener('change', schedule);
  $('signout').addEventListener('click', signOut);
  $('error-close').addEventListener('click', () => showError(null));
}

init();
