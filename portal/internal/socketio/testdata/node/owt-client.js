'use strict';
// Drives a real socket.io client through OWT signaling scenarios against the portal under
// test (portal/server integration tests). Usage:
//   node owt-client.js <v2|v4> <url> <scenario> <params-json>
// Every output line is JSON; intermediate lines carry {"phase": ...} and the last one
// {"final": true, ...}. Interactive scenarios wait for a "go" line on stdin.
const [version, url, scenario, paramsJSON] = process.argv.slice(2);
const P = JSON.parse(paramsJSON || '{}');
const io = version === 'v2' ? require('socket.io-client-v2') : require('socket.io-client-v4').io;
const EVENTS = ['participant', 'stream', 'text', 'progress', 'session-progress', 'drop'];

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function connect(events) {
  const opts = { forceNew: true, reconnection: false, timeout: 10000 };
  if (P.websocket) opts.transports = ['websocket'];
  const s = io(url, opts);
  s.disconnectedReason = null;
  for (const ev of EVENTS) s.on(ev, (data) => events.push({ event: ev, data: data === undefined ? null : data }));
  s.on('disconnect', (reason) => { s.disconnectedReason = String(reason); });
  if (process.env.DEBUG_EIO) {
    const t0 = Date.now();
    const e = s.io.engine;
    const log = (...a) => process.stderr.write(`[eio +${Date.now() - t0}ms] ${a.join(' ')}\n`);
    e.on('upgrading', (t) => log('upgrading', t.name));
    e.on('upgrade', (t) => log('upgrade', t.name));
    e.on('upgradeError', (err) => log('upgradeError', err.message));
    e.on('packet', (p) => log('packet in', p.type, JSON.stringify(p.data || '').slice(0, 80)));
    e.on('packetCreate', (p) => log('packet out', p.type, JSON.stringify(p.data || '').slice(0, 80)));
    e.on('close', (r, d) => log('close', r, d && d.message));
  }
  return s;
}

function waitFor(check, ms) {
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = () => {
      if (check()) return resolve(true);
      if (Date.now() - start > ms) return resolve(false);
      setTimeout(tick, 20);
    };
    tick();
  });
}

async function connected(s) {
  if (!(await waitFor(() => s.connected, 10000))) throw new Error('connect timeout');
}

// req emits a request and resolves with the acknowledgement's arguments (or a timeout marker).
function req(s, name, ...args) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(['timeout']), P.ackTimeout || 8000);
    s.emit(name, ...args, (...reply) => { clearTimeout(timer); resolve(reply); });
  });
}

function loginInfo() {
  const legacy = P.protocol === '1.1' || P.protocol === '1.0';
  return {
    token: P.token,
    userAgent: { sdk: legacy ? { type: 'C++', version: '5.0' } : { type: 'JavaScript', version: '5.1' } },
    protocol: P.protocol || '1.2',
  };
}

function stdinLine() {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.trim());
    });
  });
}

async function full() {
  const events = [];
  const s = connect(events);
  await connected(s);
  const r = { final: true, id: s.id };
  r.login = await req(s, 'login', loginInfo());
  if (r.login[0] !== 'ok') return r;
  const legacy = P.protocol === '1.1' || P.protocol === '1.0';
  r.inService = await req(s, 'login', loginInfo());
  r.publish = await req(s, 'publish', legacy
    ? { media: { audio: { source: 'mic' }, video: { source: 'camera' } }, attributes: { a: 1 } }
    : { media: { tracks: [{ type: 'audio', mid: '0', source: 'mic' }, { type: 'video', mid: '1', source: 'camera' }] },
        attributes: { a: 1 }, transport: { type: 'webrtc' } });
  const pub = r.publish[1] || {};
  r.soac = await req(s, 'soac', { id: pub.transportId, signaling: { type: 'offer', sdp: 'v=0\r\n' } }, null);
  r.candidate = await req(s, 'soac', { id: pub.transportId, signaling: { type: 'candidate',
    candidate: { candidate: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } } });
  r.streamControl = await req(s, 'stream-control', { id: pub.id, operation: 'get-region', data: 'common' });
  r.mute = await req(s, 'stream-control', { id: pub.id, operation: 'pause', data: 'audio' });
  r.badPublish = await req(s, 'publish', legacy ? { media: { audio: false } } : { media: {} });
  r.extraPublish = await req(s, 'publish', { media: null, foo: 1 });
  r.garbage = await req(s, 'unpublish', 'garbage');
  r.badSoac = await req(s, 'soac', { id: pub.transportId, signaling: { type: 'bogus' } });
  r.subscribe = await req(s, 'subscribe', legacy
    ? { media: { audio: { from: 'stream1' }, video: { from: 'stream1', simulcastRid: 'r1' } } }
    : { media: { tracks: [{ type: 'video', mid: '2', from: 'stream1', parameters: { bitrate: 'x0.8' } }] },
        transport: { type: 'webrtc', id: pub.transportId } });
  const sub = r.subscribe[1] || {};
  r.subscriptionControl = await req(s, 'subscription-control', { id: sub.id, operation: 'pause', data: 'video' });
  r.unsubscribe = await req(s, 'unsubscribe', { id: sub.id });
  r.unpublish = await req(s, 'unpublish', { id: pub.id });
  r.text = await req(s, 'text', { to: 'all', message: 'hello' });
  r.badText = await req(s, 'text', { to: '', message: 'x' });
  r.refresh = await req(s, 'refreshReconnectionTicket', null);
  await sleep(300);
  r.connectedBeforeLogout = s.connected;
  r.logout = await req(s, 'logout', null);
  r.afterLogout = await req(s, 'text', { to: 'all', message: 'late' });
  r.events = events;
  s.disconnect();
  return r;
}

async function loginOnly() {
  const events = [];
  const s = connect(events);
  await connected(s);
  const r = { final: true };
  r.login = await req(s, 'login', P.raw !== undefined ? P.raw : loginInfo());
  r.disconnected = await waitFor(() => s.disconnectedReason !== null, P.waitDisconnect || 2000);
  r.reason = s.disconnectedReason;
  s.disconnect();
  return r;
}

async function relogin() {
  const events = [];
  const s1 = connect(events);
  await connected(s1);
  const login = await req(s1, 'login', loginInfo());
  if (login[0] !== 'ok') return { final: true, login };
  out({ phase: 'loggedin', id: login[1].id });
  s1.io.engine.close(); // transport loss, as a network failure would cause
  await waitFor(() => s1.disconnectedReason !== null, 5000);
  out({ phase: 'disconnected' });
  await stdinLine();
  const s2 = connect(events);
  await connected(s2);
  const r = { final: true, id: login[1].id };
  r.relogin = await req(s2, 'relogin', P.ticket || login[1].reconnectionTicket);
  r.reuse = await req(s2, 'relogin', login[1].reconnectionTicket);
  await sleep(500);
  r.text = await req(s2, 'text', { to: 'all', message: 'back' });
  await sleep(300);
  r.events = events;
  s2.disconnect();
  return r;
}

async function drop() {
  const events = [];
  const s = connect(events);
  await connected(s);
  const login = await req(s, 'login', loginInfo());
  if (login[0] !== 'ok') return { final: true, login };
  out({ phase: 'loggedin', id: login[1].id });
  const r = { final: true };
  r.disconnected = await waitFor(() => s.disconnectedReason !== null, 10000);
  r.reason = s.disconnectedReason;
  r.events = events;
  return r;
}

async function oversized() {
  const events = [];
  const s = connect(events);
  await connected(s);
  const r = { final: true };
  r.login = await req(s, 'login', loginInfo());
  r.small = await req(s, 'text', { to: 'all', message: 'x'.repeat(1000) });
  P.ackTimeout = 2000;
  r.big = await req(s, 'text', { to: 'all', message: 'x'.repeat(P.size || 200000) });
  r.disconnected = await waitFor(() => s.disconnectedReason !== null, 3000);
  return r;
}

const scenarios = { full, login: loginOnly, relogin, drop, oversized };
scenarios[scenario]().then(
  (r) => { out(r); process.exit(0); },
  (err) => { out({ final: true, error: String(err && err.stack ? err.stack : err) }); process.exit(1); },
);
