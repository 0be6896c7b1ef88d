// Conclave browser client: OWT signaling protocol 1.2 over Socket.IO, WebRTC media.
//
// One RTCPeerConnection per publication and per subscription (the client sends no transport
// id, so the server makes the session id the transport id). The client always offers; local
// ICE candidates trickle through `soac` once the answer is applied. See web/README.md.
//
//   const client = new ConferenceClient();
//   client.addEventListener('streamadded', (e) => client.subscribe(e.detail.stream));
//   const info = await client.join(token);
//   const pub = await client.publish(await navigator.mediaDevices.getUserMedia({audio: true, video: true}));
//   client.addEventListener('chat', (e) => show(e.detail.action, e.detail.message));
//   await client.sendMessage('all', 'hello');
//   await client.leave();

import { io } from '../vendor/socket.io.esm.min.js';

/** Protocol version and SDK identity sent in `login` (what the OWT JS SDK 5.x sends). */
export const PROTOCOL = '1.2';
export const USER_AGENT = Object.freeze({ sdk: { type: 'JavaScript', version: '5.1' } });

const ACK_TIMEOUT_MS = 15000;
const READY_TIMEOUT_MS = 20000;

/** Error carrying the server's error message (the second ack argument). */
export class ConferenceError extends Error {
  constructor(message, request) {
    super(request ? `${request}: ${message}` : message);
    this.name = 'ConferenceError';
    this.serverMessage = message;
  }
}

/**
 * Decodes a token (base64 JSON {tokenId, host, secure, signature}) and returns the portal URL
 * the way the OWT JS SDK does: host as is when it contains "http", else http(s):// + host.
 */
export function portalURL(token) {
  let parsed;
  try {
    parsed = JSON.parse(atob(token));
  } catch (e) {
    throw new ConferenceError('token is not base64 JSON');
  }
  if (!parsed || typeof parsed.host !== 'string' || parsed.host === '') {
    throw new ConferenceError('token has no host');
  }
  if (parsed.host.includes('http')) return parsed.host;
  return (parsed.secure === true ? 'https://' : 'http://') + parsed.host;
}

/** Decodes the notAfter (ms) of a reconnection ticket, or 0. */
function ticketNotAfter(ticket) {
  try {
    return Number(JSON.parse(atob(ticket)).notAfter) || 0;
  } catch (e) {
    return 0;
  }
}

/** A promise with its resolve/reject exposed, bounded by a timeout. */
function deferred(ms, what) {
  let resolve;
  let reject;
  const p = new Promise((res, rej) => { resolve = res; reject = rej; });
  const timer = setTimeout(() => reject(new ConferenceError(`timeout waiting for ${what}`)), ms);
  p.finally(() => clearTimeout(timer)).catch(() => {});
  return { promise: p, resolve, reject };
}

/** Reaction types of chat messages (docs/chat.md). */
export const REACTIONS = Object.freeze(['thumbsUp', 'thumbsDown', 'laugh', 'confused', 'celebrate',
  'oneHundred', 'questionMark', 'clap']);

/**
 * ConferenceClient joins one room. Events (CustomEvent, payload in `detail`):
 *   participantjoined {participant}   participantleft {participant}
 *   participantupdated {participant}   (name or mediaState changed: docs/people.md)
 *   streamadded {stream}   streamremoved {stream}   streamupdated {stream, field, value}
 *   chathistory {messages}   (right after join: the history of the login answer)
 *   chat {action: 'new'|'edit'|'delete'|'react', message}
 *   text {from, to, message}   (OWT; Conclave also sends `chat` new for each: apps use one)
 *   dropped {}   reconnecting {}   reconnected {}
 *   disconnected {reason}   (signaling lost for good: drop, failed reconnection or leave)
 */
export class ConferenceClient extends EventTarget {
  /**
   * @param {object} [options]
   * @param {RTCConfiguration} [options.rtcConfiguration] for every RTCPeerConnection; without
   *   `iceServers` there, the STUN/TURN servers the portal hands out in the login answer are used
   * @param {object} [options.socketOptions] extra socket.io-client options
   */
  constructor(options = {}) {
    super();
    this.rtcConfiguration = options.rtcConfiguration || {};
    this.socketOptions = options.socketOptions || {};
    this.socket = null;
    this.me = null; // {id, user, role}
    this.permission = null;
    this.roomId = null;
    this.participants = new Map(); // id → {id, user, role}
    this.streams = new Map(); // id → StreamInfo (1.2 format)
    this.sessions = new Map(); // transport id → Publication | Subscription
    this.iceServers = []; // from the login answer (Conclave extension), with TURN credentials
    this.messages = []; // chat messages known, oldest first (login history, then `chat` events)
    this._ticket = null;
    this._refreshTimer = null;
    this._state = 'idle'; // idle | joining | joined | reconnecting | left
  }

  /** True while the client is in the room. */
  get joined() { return this._state === 'joined' || this._state === 'reconnecting'; }

  /**
   * Connects to the portal named by token and logs in. Resolves with the login result
   * {id, user, role, permission, room: {id, views, participants, streams}}.
   */
  async join(token) {
    if (this._state !== 'idle') throw new ConferenceError('join may be called once');
    this._state = 'joining';
    const url = portalURL(token);
    const socket = io(url, {
      reconnection: true, reconnectionAttempts: 10, reconnectionDelay: 500,
      reconnectionDelayMax: 3000, forceNew: true, ...this.socketOptions,
    });
    this.socket = socket;
    this._listen(socket);
    let info;
    try {
      info = await this._request('login', { token, userAgent: USER_AGENT, protocol: PROTOCOL });
    } catch (e) {
      this._close('login failed');
      throw e;
    }
    this._state = 'joined';
    this.me = { id: info.id, user: info.user, role: info.role };
    this.permission = info.permission;
    this.roomId = info.room.id;
    this.iceServers = Array.isArray(info.iceServers) ? info.iceServers : [];
    for (const p of info.room.participants || []) this.participants.set(p.id, p);
    for (const s of info.room.streams || []) this.streams.set(s.id, s);
    this.messages = ((info.chat && info.chat.messages) || []).slice();
    this._setTicket(info.reconnectionTicket);
    // notifications that overtook the login answer apply after it, once the caller has it
    const early = this._early.splice(0);
    setTimeout(() => {
      this._emit('chathistory', { messages: this.messages.slice() });
      early.forEach((fn) => this._deliver(fn));
    }, 0);
    return info;
  }

  /**
   * Sends an OWT text message to everyone ('all') or to one participant id. Conclave stores
   * it in the chat history too; sendMessage also answers the stored message.
   */
  async send(message, to = 'all') {
    await this._request('text', { to, message: String(message) });
  }

  /**
   * Sends a chat message (chat-send) to 'all' or to one participant id; resolves with the
   * stored message. Everyone it reaches, the sender included, also gets a `chat` new event.
   */
  async sendMessage(to, content) {
    const ans = await this._request('chat-send', { to: to || 'all', content: String(content) });
    return ans && ans.message;
  }

  /** Replaces the content of an own message (chat-edit); resolves with the edited message. */
  async editMessage(id, content) {
    const ans = await this._request('chat-edit', { id, content: String(content) });
    return ans && ans.message;
  }

  /**
   * Sets one's display name (update-name, docs/people.md): 1–64 characters, no control
   * characters. Everyone, oneself included, gets participantupdated.
   */
  async updateName(name) {
    await this._request('update-name', String(name));
  }

  /**
   * Tells the room whether one's camera and microphone are on (update-mediaState):
   * {cameraEnabled?, microphoneEnabled?}, booleans, at least one. Turning one off also mutes
   * that kind of every stream one publishes (others get streamupdated with status inactive).
   */
  async updateMediaState(state = {}) {
    const req = {};
    for (const k of ['cameraEnabled', 'microphoneEnabled']) {
      if (state[k] !== undefined) req[k] = Boolean(state[k]);
    }
    await this._request('update-mediaState', req);
  }

  /** Deletes a message (chat-delete): an own one, or any with a moderating role. */
  async deleteMessage(id) {
    await this._request('chat-delete', { id });
  }

  /** Adds (add true) or removes one of the REACTIONS on a message; resolves with the message. */
  async react(id, reaction, add = true) {
    const ans = await this._request('chat-react', { id, reaction, add: Boolean(add) });
    return ans && ans.message;
  }

  /**
   * Fetches older messages (chat-history), oldest first: up to limit (1..100, default 50)
   * messages older than message id `before` (default: the newest). They are merged into
   * `messages` too.
   */
  async messageHistory({ before, limit } = {}) {
    const req = {};
    if (before) req.before = before;
    if (limit) req.limit = limit;
    const ans = await this._request('chat-history', req);
    const got = (ans && ans.messages) || [];
    const known = new Set(this.messages.map((m) => m.id));
    this.messages.push(...got.filter((m) => !known.has(m.id)));
    this.messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // ids sort by creation
    return got;
  }

  /**
   * Publishes the tracks of a MediaStream, each in a sendonly transceiver of a new
   * RTCPeerConnection. Resolves when the server reports the publication ready.
   * @param {MediaStream} stream
   * @param {object} [options]
   * @param {boolean|RTCRtpEncodingParameters[]} [options.simulcast] true: three layers with rids
   *   q/h/f (quarter, half, full resolution) when the browser supports it; or explicit encodings.
   * @param {object} [options.attributes] stream attributes other participants see
   * @param {string} [options.source] video source ('camera' default, or 'screen-cast')
   * @param {boolean} [options.dynacast] false: keep sending simulcast layers nobody receives
   *   (by default the server's `layers` notifications pause and resume them)
   * @param {string} [options.codec] send video only in this codec ('vp8', 'vp9', 'h264', 'av1');
   *   default: the browser's offer, from which the server picks by the room's mediaIn order
   */
  async publish(stream, options = {}) {
    this._requireJoined();
    const pub = new Publication(this, stream, options);
    await pub._start();
    return pub;
  }

  /**
   * Subscribes to a remote stream (StreamInfo from `streams` or a streamadded event).
   * Resolves when media flows; `subscription.stream` is the MediaStream to play.
   * @param {object} streamInfo
   * @param {object} [options] {audio: bool, video: bool|{rid}} (default: what the stream has)
   */
  async subscribe(streamInfo, options = {}) {
    this._requireJoined();
    const sub = new Subscription(this, streamInfo, options);
    await sub._start();
    return sub;
  }

  /** Leaves the room (logout) and closes every peer connection and the socket. */
  async leave() {
    if (this._state === 'left' || this._state === 'idle') return;
    try {
      if (this.socket && this.socket.connected) await this._request('logout', undefined, 3000);
    } catch (e) {
      // leaving anyway
    }
    this._close('left');
  }

  /** Name of a participant id (its user), or the id. */
  userOf(participantId) {
    const p = this.participants.get(participantId);
    return p ? p.user : participantId;
  }

  /** Display name of a participant id: its name (update-name), else its user, else the id. */
  nameOf(participantId) {
    const p = this.participants.get(participantId);
    return p ? p.name || p.user : participantId;
  }

  // ---- internals ----

  _requireJoined() {
    if (!this.joined) throw new ConferenceError('not in a room');
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Emits a request and resolves with the ack data ('ok'), rejects with the error string. */
  _request(name, data, timeout = ACK_TIMEOUT_MS) {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      if (!socket) {
        reject(new ConferenceError('not connected', name));
        return;
      }
      const timer = setTimeout(() => reject(new ConferenceError('no answer', name)), timeout);
      const ack = (status, result) => {
        clearTimeout(timer);
        if (status === 'ok' || status === 'success') resolve(result);
        else reject(new ConferenceError(typeof result === 'string' ? result : JSON.stringify(result), name));
      };
      if (data === undefined) socket.emit(name, ack);
      else socket.emit(name, data, ack);
    });
  }

  /** Runs a room notification now, or after the login result when it came before it. */
  _deliver(fn) {
    if (this._state === 'joining') this._early.push(fn);
    else if (this.joined) fn();
  }

  _listen(socket) {
    this._early = [];
    socket.on('participant', (m) => this._deliver(() => this._onParticipant(m)));
    socket.on('stream', (m) => this._deliver(() => this._onStream(m)));
    socket.on('text', (m) => this._deliver(() => this._emit('text', m)));
    socket.on('chat', (m) => this._deliver(() => this._onChat(m)));
    socket.on('progress', (m) => {
      const s = m && this.sessions.get(m.id);
      if (s) s._onProgress(m);
    });
    socket.on('drop', () => {
      this._emit('dropped');
      this._close('dropped');
    });
    socket.on('disconnect', (reason) => {
      if (this._state !== 'joined') return;
      if (reason === 'io server disconnect' || reason === 'io client disconnect') {
        this._close(reason);
        return;
      }
      this._state = 'reconnecting';
      this._emit('reconnecting', { reason });
    });
    socket.on('connect', () => {
      if (this._state === 'reconnecting') this._relogin();
    });
    socket.io.on('reconnect_failed', () => this._close('reconnection failed'));
  }

  async _relogin() {
    if (!this._ticket) {
      this._close('no reconnection ticket');
      return;
    }
    try {
      const answer = await this._request('relogin', this._ticket);
      // Conclave answers the plain ticket; OWT's 1.2 portal answers {ticket, messages}.
      this._setTicket(typeof answer === 'string' ? answer : answer && answer.ticket);
      this._state = 'joined';
      this._emit('reconnected');
    } catch (e) {
      this._close(`relogin failed: ${e.message}`);
    }
  }

  _setTicket(ticket) {
    clearTimeout(this._refreshTimer);
    this._ticket = ticket || null;
    if (!ticket) return;
    const notAfter = ticketNotAfter(ticket);
    if (!notAfter) return;
    const left = notAfter - Date.now();
    const delay = Math.max(1000, left > 120000 ? left - 60000 : left - 10000);
    this._refreshTimer = setTimeout(async () => {
      if (this._state !== 'joined') return;
      try {
        this._setTicket(await this._request('refreshReconnectionTicket'));
      } catch (e) {
        // keep the old ticket; a later socket loss may still relogin with it
      }
    }, delay);
  }

  _onParticipant(m) {
    if (!m) return;
    if (m.action === 'join' && m.data) {
      this.participants.set(m.data.id, m.data);
      this._emit('participantjoined', { participant: m.data });
    } else if (m.action === 'leave') {
      const p = this.participants.get(m.data) || { id: m.data, user: m.data };
      this.participants.delete(m.data);
      this._emit('participantleft', { participant: p });
    } else if (m.action === 'update' && m.data && m.data.id) {
      const p = { ...(this.participants.get(m.data.id) || {}), ...m.data };
      this.participants.set(p.id, p);
      if (this.me && p.id === this.me.id) Object.assign(this.me, { name: p.name, mediaState: p.mediaState });
      this._emit('participantupdated', { participant: p });
    }
  }

  /** Applies a `chat` event to `messages`, then emits it. */
  _onChat(m) {
    if (!m || !m.message || !m.message.id) return;
    const msg = m.message;
    const i = this.messages.findIndex((x) => x.id === msg.id);
    if (m.action === 'delete') {
      if (i >= 0) this.messages.splice(i, 1);
    } else if (i >= 0) {
      this.messages[i] = msg;
    } else if (m.action === 'new') {
      this.messages.push(msg);
    }
    this._emit('chat', { action: m.action, message: msg });
  }

  _onStream(m) {
    if (!m || !m.id) return;
    if (m.status === 'add') {
      this.streams.set(m.id, m.data);
      this._emit('streamadded', { stream: m.data });
    } else if (m.status === 'remove') {
      const s = this.streams.get(m.id) || { id: m.id };
      this.streams.delete(m.id);
      for (const sess of this.sessions.values()) {
        if (sess instanceof Subscription && sess.streamInfo.id === m.id) sess._end('source stream removed');
      }
      this._emit('streamremoved', { stream: s });
    } else if (m.status === 'update' && m.data) {
      const s = this.streams.get(m.id);
      if (!s) return;
      applyUpdate(s, m.data.field, m.data.value);
      this._emit('streamupdated', { stream: s, field: m.data.field, value: m.data.value });
    }
  }

  _close(reason) {
    if (this._state === 'left') return;
    const wasIn = this._state !== 'idle';
    this._state = 'left';
    clearTimeout(this._refreshTimer);
    for (const s of [...this.sessions.values()]) s._end(reason);
    this.sessions.clear();
    if (this.socket) {
      this.socket.io.reconnection(false);
      this.socket.disconnect();
    }
    if (wasIn) this._emit('disconnected', { reason });
  }
}

/** Applies a stream `update` notification to a StreamInfo. */
function applyUpdate(info, field, value) {
  if (field === '.') {
    Object.assign(info, value);
    return;
  }
  const m = /^(audio|video)\.status$/.exec(field);
  if (m) {
    for (const t of (info.media && info.media.tracks) || []) {
      if (t.type === m[1]) t.status = value;
    }
    return;
  }
  if (field === 'video.layout') info.info = { ...info.info, layout: value };
  if (field === 'activeInput') info.info = { ...info.info, activeInput: value };
}

/** Returns the kinds ('audio', 'video') a StreamInfo carries. */
export function kindsOf(info) {
  const kinds = new Set(((info && info.media && info.media.tracks) || []).map((t) => t.type));
  return { audio: kinds.has('audio'), video: kinds.has('video') };
}

/** Returns true when a kind of a StreamInfo is muted (status 'inactive'). */
export function isMuted(info, kind) {
  const tracks = ((info && info.media && info.media.tracks) || []).filter((t) => t.type === kind);
  return tracks.length > 0 && tracks.every((t) => t.status === 'inactive');
}

/** Common part of publications and subscriptions: one RTCPeerConnection and its signaling. */
class Session extends EventTarget {
  constructor(client) {
    super();
    this.client = client;
    this.id = null;
    this.transportId = null;
    this.pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle', iceServers: client.iceServers, ...client.rtcConfiguration,
    });
    this.ended = false;
    this._candidates = [];
    this._answered = false;
    this._ready = deferred(READY_TIMEOUT_MS, 'the session to be ready');
    this.pc.addEventListener('icecandidate', (e) => this._onCandidate(e.candidate));
  }

  /** Sends the offer of a request ('publish'/'subscribe') and waits for the session. */
  async _negotiate(name, buildRequest) {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const ack = await this.client._request(name, buildRequest());
    this.id = ack.id;
    this.transportId = ack.transportId || ack.id;
    this.client.sessions.set(this.transportId, this);
    await this.client._request('soac', {
      id: this.transportId, signaling: { type: 'offer', sdp: this.pc.localDescription.sdp },
    });
    try {
      await this._ready.promise;
    } catch (e) {
      this._end(e.message);
      throw e;
    }
  }

  async _onProgress(m) {
    if (m.status === 'soac' && m.data && m.data.type === 'answer') {
      try {
        await this.pc.setRemoteDescription({ type: 'answer', sdp: m.data.sdp });
        this._answered = true;
        const queued = this._candidates.splice(0);
        for (const c of queued) this._sendCandidate(c);
      } catch (e) {
        this._ready.reject(new ConferenceError(`bad answer: ${e.message}`));
      }
    } else if (m.status === 'ready' && m.sessionId) {
      this._onSessionReady();
    } else if (m.status === 'error') {
      const err = new ConferenceError(typeof m.data === 'string' ? m.data : 'session error');
      this._ready.reject(err);
      this._end(err.message);
    }
  }

  _onSessionReady() { this._ready.resolve(); }

  _onCandidate(c) {
    if (!c || !c.candidate) return;
    if (this._answered && this.transportId) this._sendCandidate(c);
    else this._candidates.push(c);
  }

  _sendCandidate(c) {
    this.client._request('soac', {
      id: this.transportId,
      signaling: { type: 'candidate', candidate: { candidate: `a=${c.candidate}`, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } },
    }).catch(() => {});
  }

  /** Inbound/outbound RTP statistics of the peer connection (RTCStatsReport). */
  getStats() { return this.pc.getStats(); }

  _end(reason) {
    if (this.ended) return;
    this.ended = true;
    this._ready.reject(new ConferenceError(reason || 'ended'));
    this.pc.close();
    if (this.transportId) this.client.sessions.delete(this.transportId);
    this.dispatchEvent(new CustomEvent('ended', { detail: { reason } }));
  }
}

/** Default simulcast layers: quarter, half and full resolution. */
const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4.0, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2.0, maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1500000 },
];

/** True when the browser can send simulcast with rids (sendEncodings in addTransceiver). */
export function simulcastSupported() {
  return typeof RTCRtpSender !== 'undefined' && typeof RTCRtpTransceiver !== 'undefined' &&
    'setParameters' in RTCRtpSender.prototype;
}

/**
 * Restricts a video transceiver to one codec (plus retransmission and FEC), so that the
 * server cannot pick another; browsers without setCodecPreferences keep their default offer.
 */
function preferCodec(transceiver, codec) {
  if (typeof transceiver.setCodecPreferences !== 'function' || !RTCRtpSender.getCapabilities) return;
  const all = RTCRtpSender.getCapabilities('video').codecs;
  const want = `video/${codec}`.toLowerCase();
  const chosen = all.filter((c) => c.mimeType.toLowerCase() === want);
  if (!chosen.length) throw new ConferenceError(`the browser cannot send ${codec}`);
  const helpers = all.filter((c) => /\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType));
  transceiver.setCodecPreferences([...chosen, ...helpers]);
}

/** A local stream published to the room. Events: ended {reason}. */
export class Publication extends Session {
  constructor(client, stream, options) {
    super(client);
    this.stream = stream;
    this.options = options;
  }

  async _start() {
    const tracks = [];
    for (const track of this.stream.getTracks()) {
      const init = { direction: 'sendonly', streams: [this.stream] };
      if (track.kind === 'video' && this.options.simulcast && simulcastSupported()) {
        init.sendEncodings = Array.isArray(this.options.simulcast) ? this.options.simulcast : SIMULCAST_LAYERS;
      }
      const tr = this.pc.addTransceiver(track, init);
      if (track.kind === 'video' && this.options.codec) preferCodec(tr, this.options.codec);
      tracks.push({ tr, kind: track.kind });
    }
    const source = this.options.source || 'camera';
    try {
      await this._negotiate('publish', () => ({
        media: { tracks: tracks.map(({ tr, kind }) => ({ type: kind, mid: tr.mid, source: kind === 'audio' ? 'mic' : source })) },
        attributes: this.options.attributes || {},
        transport: { type: 'webrtc' },
      }));
    } catch (e) {
      this._end(e.message);
      throw e;
    }
  }

  async _onProgress(m) {
    if (m.status === 'layers' && m.data) {
      await this._pauseLayers(m.data.mid, Array.isArray(m.data.paused) ? m.data.paused : []);
      return;
    }
    await super._onProgress(m);
  }

  /**
   * Dynacast (a Conclave extension): the server names the simulcast layers nobody receives;
   * their encodings stop (active false) until the server no longer names them. Layers the
   * application turned off itself stay off: only what this method paused is resumed.
   */
  async _pauseLayers(mid, paused) {
    if (this.options.dynacast === false || this.ended) return;
    this._demand = { mid, paused };
    const tr = this.pc.getTransceivers().find((t) => t.mid === mid);
    if (!tr || !tr.sender) return;
    const mine = new Set(this._serverPaused || []);
    const params = tr.sender.getParameters();
    let changed = false;
    for (const enc of params.encodings || []) {
      if (!enc.rid) continue;
      const want = paused.includes(enc.rid);
      if (want && enc.active !== false) {
        enc.active = false;
        mine.add(enc.rid);
        changed = true;
      } else if (!want && mine.has(enc.rid)) {
        enc.active = true;
        mine.delete(enc.rid);
        changed = true;
      }
    }
    if (!changed) return;
    try {
      await tr.sender.setParameters(params);
      this._serverPaused = mine;
      this.dispatchEvent(new CustomEvent('layers', { detail: { paused: [...mine] } }));
    } catch (e) {
      // e.g. a renegotiation in progress: try the latest demand again shortly
      setTimeout(() => {
        if (this._demand) this._pauseLayers(this._demand.mid, this._demand.paused);
      }, 500);
    }
  }

  /** Mutes a kind ('audio', 'video' or 'av'): disables the local track and tells the room. */
  async mute(kind) { await this._control('pause', kind, false); }

  /** Unmutes a kind ('audio', 'video' or 'av'). */
  async unmute(kind) { await this._control('play', kind, true); }

  async _control(operation, kind, enabled) {
    for (const t of this.stream.getTracks()) {
      if (kind === 'av' || t.kind === kind) t.enabled = enabled;
    }
    await this.client._request('stream-control', { id: this.id, operation, data: kind });
  }

  /** Stops publishing (unpublish) and closes the peer connection. Local tracks stay live. */
  async stop() {
    if (this.ended) return;
    try {
      if (this.id) await this.client._request('unpublish', { id: this.id });
    } finally {
      this._end('unpublished');
    }
  }
}

/** A remote stream received from the room. `stream` is its MediaStream. Events: ended. */
export class Subscription extends Session {
  constructor(client, streamInfo, options) {
    super(client);
    this.streamInfo = streamInfo;
    this.options = options;
    this.stream = new MediaStream();
    this._trackSeen = deferred(READY_TIMEOUT_MS, 'remote tracks');
    this.pc.addEventListener('track', (e) => {
      this.stream.addTrack(e.track);
      this._trackSeen.resolve();
    });
  }

  async _start() {
    const has = kindsOf(this.streamInfo);
    const want = {
      audio: has.audio && this.options.audio !== false,
      video: has.video && this.options.video !== false,
    };
    if (!want.audio && !want.video) throw new ConferenceError('nothing to subscribe to');
    const trs = [];
    for (const kind of ['audio', 'video']) {
      if (want[kind]) trs.push({ kind, tr: this.pc.addTransceiver(kind, { direction: 'recvonly' }) });
    }
    const from = (kind) => {
      const rid = kind === 'video' && this.options.video && this.options.video.rid;
      if (!rid) return this.streamInfo.id;
      const t = this.streamInfo.media.tracks.find((x) => x.type === 'video' && x.rid === rid);
      return t && t.id ? t.id : this.streamInfo.id;
    };
    try {
      await this._negotiate('subscribe', () => ({
        media: { tracks: trs.map(({ kind, tr }) => ({ type: kind, mid: tr.mid, from: from(kind) })) },
        transport: { type: 'webrtc' },
      }));
      await this._trackSeen.promise;
    } catch (e) {
      this._end(e.message);
      throw e;
    }
  }

  /** Pauses a kind ('audio', 'video' or 'av') of this subscription at the server. */
  async mute(kind) {
    await this.client._request('subscription-control', { id: this.id, operation: 'pause', data: kind });
  }

  /** Resumes a kind paused with mute. */
  async unmute(kind) {
    await this.client._request('subscription-control', { id: this.id, operation: 'play', data: kind });
  }

  /** Unsubscribes and closes the peer connection. */
  async stop() {
    if (this.ended) return;
    try {
      if (this.id) await this.client._request('unsubscribe', { id: this.id });
    } finally {
      this._end('unsubscribed');
    }
  }

  _end(reason) {
    if (!this.ended) this._trackSeen.reject(new ConferenceError(reason || 'ended'));
    super._end(reason);
  }
}

/**
 * Sums the inbound-rtp statistics of a peer connection per kind:
 * {video: {bytesReceived, framesDecoded, packetsReceived}, audio: {bytesReceived, packetsReceived}}.
 */
export async function inboundStats(pc) {
  const out = { video: { bytesReceived: 0, framesDecoded: 0, packetsReceived: 0 }, audio: { bytesReceived: 0, packetsReceived: 0 } };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const kind = s.kind || s.mediaType;
    const o = out[kind];
    if (!o) return;
    o.bytesReceived += s.bytesReceived || 0;
    o.packetsReceived += s.packetsReceived || 0;
    if (kind === 'video') o.framesDecoded += s.framesDecoded || 0;
  });
  return out;
}
