// The OWT `text` flow with the plain socket.io-client package at the version the OWT JS SDK 5.1
// bundles (3.1.2, installed as socket.io-client-3), as the SDK drives it, against the real all-in-one (portal and conference agent): Alice and Bob log in with
// their tokens; Alice sends `text` {to: 'all', message}, acknowledged 'ok'; Bob receives the
// `text` event {from: Alice's id, to: 'all', message} with exactly these fields, as before the
// chat extension (docs/chat.md). Bob may also get `chat` new, which the OWT SDK ignores.
// No browser. Env: PORTAL_URL, TOKEN_A, TOKEN_B.

import { io } from 'socket.io-client-3';
import { env, log, check } from './lib.js';

const portal = env('PORTAL_URL');
const USER_AGENT = { sdk: { type: 'JavaScript', version: '5.1' } };

/** Emits a request and resolves with the ack arguments [status, data]. */
function req(s, name, data) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${name}`)), 10000);
    s.emit(name, data, (...reply) => { clearTimeout(timer); resolve(reply); });
  });
}

/** Connects and logs in with token; records `text` and `chat` events. */
async function login(token) {
  const s = io(portal, { forceNew: true, reconnection: false, transports: ['websocket'] });
  s.texts = [];
  s.chats = [];
  s.on('text', (m) => s.texts.push(m));
  s.on('chat', (m) => s.chats.push(m));
  const [status, info] = await req(s, 'login', { token, userAgent: USER_AGENT, protocol: '1.2' });
  check(status === 'ok', `login: ${status} ${JSON.stringify(info)}`);
  return { s, info };
}

async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const started = Date.now();
const sockets = [];
try {
  const alice = await login(env('TOKEN_A'));
  const bob = await login(env('TOKEN_B'));
  sockets.push(alice.s, bob.s);
  log('logged in', alice.info.id, bob.info.id);
  const message = 'hello from an OWT client';
  const ack = await req(alice.s, 'text', { to: 'all', message });
  check(ack[0] === 'ok', `text ack: ${JSON.stringify(ack)}`);
  await until(() => bob.s.texts.length > 0, 10000, "Bob's text event");
  const got = bob.s.texts[0];
  const want = { from: alice.info.id, to: 'all', message };
  check(JSON.stringify(got) === JSON.stringify(want), `text event ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  check(bob.s.texts.length === 1, `Bob got ${bob.s.texts.length} text events`);
  // the chat extension's event, if any, comes besides: one `chat` new with the same content
  await new Promise((r) => setTimeout(r, 300));
  const chats = bob.s.chats.filter((c) => c.message && c.message.content === message);
  check(chats.every((c) => c.action === 'new'), `unexpected chat events: ${JSON.stringify(bob.s.chats)}`);
  const [lstatus] = await req(alice.s, 'logout');
  check(lstatus === 'ok', `logout: ${lstatus}`);
  console.log(`RESULT ${JSON.stringify({ test: 'owt-text', ok: true, ms: Date.now() - started, text: got, chatEvents: chats.length })}`);
  process.exitCode = 0;
} catch (e) {
  console.log(`RESULT ${JSON.stringify({ test: 'owt-text', ok: false, ms: Date.now() - started, error: String(e && e.stack || e) })}`);
  process.exitCode = 1;
} finally {
  sockets.forEach((s) => s.disconnect());
}
process.exit();
