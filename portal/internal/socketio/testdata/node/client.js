'use strict';
// Drives one real socket.io client against the Go server under test and prints a single
// JSON result line. Usage: node client.js <v2|v4> <upgrade|websocket|polling> <url> <text-json>
const [version, mode, url, textJSON] = process.argv.slice(2);
const text = JSON.parse(textJSON);

const io = version === 'v2' ? require('socket.io-client-v2') : require('socket.io-client-v4').io;
const opts = { forceNew: true, reconnection: false, timeout: 10000 };
if (mode === 'websocket') opts.transports = ['websocket'];
if (mode === 'polling') opts.upgrade = false;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout waiting for ' + what)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function emitWithAck(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...reply) => resolve(reply)));
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

function engineOf(socket) {
  return socket.io.engine;
}

async function waitForWebSocket(socket) {
  const engine = engineOf(socket);
  if (engine.transport.name === 'websocket') return;
  await withTimeout(once(engine, 'upgrade'), 10000, 'upgrade');
}

async function run() {
  const socket = io(url, opts);
  const welcome = once(socket, 'welcome');
  socket.on('connect_error', (err) => fail('connect_error: ' + (err && err.message)));
  await withTimeout(once(socket, 'connect'), 10000, 'connect');
  const result = { ok: false, version, mode, id: socket.id };
  result.welcome = await withTimeout(welcome, 5000, 'welcome');
  if (mode === 'upgrade') await waitForWebSocket(socket);

  const [status, data] = await withTimeout(emitWithAck(socket, 'echo', { text }, 'second'), 5000, 'echo ack');
  result.echoStatus = status;
  result.echoRoundTrip = data && data.text === text;
  result.echoArgs = data && data.args;

  const pushed = once(socket, 'pushed');
  socket.emit('push', { text });
  result.pushedRoundTrip = (await withTimeout(pushed, 5000, 'pushed')) === text;

  result.nullArgs = await withTimeout(emitWithAck(socket, 'nulls', 1, null), 5000, 'nulls ack');
  result.transport = engineOf(socket).transport.name;

  const engineClosed = once(engineOf(socket), 'close');
  socket.disconnect();
  await withTimeout(engineClosed, 5000, 'engine close');
  result.ok = result.echoStatus === 'ok' && result.echoRoundTrip && result.pushedRoundTrip;
  return result;
}

function fail(message) {
  process.stdout.write(JSON.stringify({ ok: false, version, mode, error: message }) + '\n');
  process.exit(1);
}

run().then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(result.ok ? 0 : 1);
  },
  (err) => fail(String(err && err.stack ? err.stack : err)),
);
