// The browsers of the congestion-control lab (web/lab_test.go runs each in its own network
// namespace). MODE=publish: a page publishes Chromium's fake camera (640x480) as VP8
// simulcast with the library's three layers (q, h, f) and prints "STREAM <id>", then every
// second "PUBSTATS {at, layers: [{rid, width, height, fps, kbps}]}". MODE=subscribe: a page
// subscribes to the video of stream STREAM without asking for a layer, renders it, and prints
// every second "SUBSTATS {at, width, height, framesDecoded, framesReceived, freezeCount,
// totalFreezesDuration, pauseCount, totalPausesDuration, bytesReceived, packetsReceived,
// packetsLost, retransmittedPacketsReceived}" from its inbound-rtp statistics. Both run until the file STOP_FILE exists.
// Env: PORTAL_URL, ROOM, MODE, STOP_FILE, STREAM (subscribe); optional CHROMIUM,
// CHROMIUM_ARGS_EXTRA, CONCLAVE_ARTIFACTS.

import { existsSync } from 'node:fs';
import { env, run, newPage, sleep, log } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const mode = env('MODE');
const stopFile = env('STOP_FILE');

/** Installs window.labJoin(room, user), which joins through the dev-token endpoint (runs in the page). */
function installJoin() {
  window.labJoin = async (room, user) => {
    const { ConferenceClient } = await import('/lib/conclave.js');
    const resp = await fetch('/dev/join', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room, user }),
    });
    const { token, error } = await resp.json();
    if (!token) throw new Error(`dev token: ${error}`);
    const client = new ConferenceClient();
    await client.join(token);
    return client;
  };
}

/** Publishes the fake camera as VP8 simulcast and returns the stream id (runs in the page). */
async function publish(room) {
  const client = await window.labJoin(room, 'lab-publisher');
  const media = await navigator.mediaDevices.getUserMedia({ audio: false, video: { width: 640, height: 480 } });
  const pub = await client.publish(media, { codec: 'vp8', simulcast: true });
  window.lab = { client, pub, last: new Map() };
  return pub.id;
}

/** One PUBSTATS sample: each encoding's size, frame rate and bit rate (runs in the page). */
async function outbound() {
  const { pub, last } = window.lab;
  const now = Date.now();
  const layers = [];
  (await pub.pc.getStats()).forEach((r) => {
    if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
    const prev = last.get(r.rid) || { at: now, bytes: r.bytesSent || 0 };
    const kbps = now > prev.at ? ((r.bytesSent || 0) - prev.bytes) * 8 / (now - prev.at) : 0;
    last.set(r.rid, { at: now, bytes: r.bytesSent || 0 });
    layers.push({ rid: r.rid || '', width: r.frameWidth || 0, height: r.frameHeight || 0,
      fps: r.framesPerSecond || 0, kbps: Math.round(kbps), limit: r.qualityLimitationReason || '' });
  });
  layers.sort((a, b) => a.rid.localeCompare(b.rid));
  return { at: now, layers };
}

/** Subscribes to the video of stream id and renders it (runs in the page). */
async function subscribe({ room, id }) {
  const client = await window.labJoin(room, 'lab-browser-subscriber');
  for (let i = 0; !client.streams.has(id); i++) {
    if (i > 100) throw new Error(`stream ${id} not in the room`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const sub = await client.subscribe(client.streams.get(id), { audio: false, video: true });
  const video = document.createElement('video');
  video.autoplay = true;
  video.muted = true;
  video.srcObject = sub.stream;
  document.body.appendChild(video);
  window.lab = { client, sub };
  return sub.id;
}

/** One SUBSTATS sample of the subscription's inbound video (runs in the page). */
async function inbound() {
  let out = null;
  (await window.lab.sub.pc.getStats()).forEach((r) => {
    if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
    out = { width: r.frameWidth || 0, height: r.frameHeight || 0, framesDecoded: r.framesDecoded || 0,
      framesReceived: r.framesReceived || 0, freezeCount: r.freezeCount || 0,
      totalFreezesDuration: r.totalFreezesDuration || 0, pauseCount: r.pauseCount || 0,
      totalPausesDuration: r.totalPausesDuration || 0, bytesReceived: r.bytesReceived || 0,
      packetsReceived: r.packetsReceived || 0, packetsLost: r.packetsLost || 0,
      retransmittedPacketsReceived: r.retransmittedPacketsReceived || 0 };
  });
  return { at: Date.now(), ...(out || {}) };
}

/** Prints tag and a sample each second until STOP_FILE exists. */
async function sampleUntilStopped(page, tag, fn) {
  while (!existsSync(stopFile)) {
    console.log(`${tag} ${JSON.stringify(await page.evaluate(fn))}`);
    await sleep(1000);
  }
}

await run(`lab-${mode}`, Number(process.env.MAX_MS || 180000), async (browser) => {
  const page = await newPage(browser, mode);
  await page.goto(portal + '/');
  await page.evaluate(installJoin);
  if (mode === 'publish') {
    const id = await page.evaluate(publish, room);
    console.log(`STREAM ${id}`);
    log('publishing', id);
    await sampleUntilStopped(page, 'PUBSTATS', outbound);
  } else if (mode === 'subscribe') {
    const sub = await page.evaluate(subscribe, { room, id: env('STREAM') });
    log('subscribed', sub);
    await sampleUntilStopped(page, 'SUBSTATS', inbound);
  } else {
    throw new Error(`MODE ${mode}: want publish or subscribe`);
  }
  return {};
});
