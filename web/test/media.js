// Publishers for the server-side media tests (web/media_test.go): Chromium's fake camera
// (640x480) and microphone, published through Conclave's browser library by pages that
// subscribe to nothing, so that what the server records, mixes and streams out is exactly
// what a browser sends.
// Env: PORTAL_URL, ROOM, PUBLISHERS ("label:codec[:simulcast],…"), DURATION_MS; optional
// CHROMIUM, CONCLAVE_ARTIFACTS, STOP_LAYER ("label:ms": that many ms after every page
// published, the simulcast page stops the largest encoding it is sending, as a browser short
// of CPU or bandwidth does; prints "LAYER_STOPPED <label> <rid> <unix ms>").
// Prints "STREAM <label> <id>" once each page publishes, then every second
// "STATS {at, pubs: {label: [{rid, framesSent, framesEncoded, width, height, fps}]}}" with
// the pages' outbound video statistics, until DURATION_MS has passed.

import { env, run, newPage, sleep, log } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const duration = Number(env('DURATION_MS'));
const publishers = env('PUBLISHERS').split(',').map((p) => {
  const [label, codec, simulcast] = p.split(':');
  return { label, codec, simulcast: simulcast === 'simulcast' };
});

/** Joins ROOM as label and publishes the fake devices (runs in the page). */
async function publish({ room, label, codec, simulcast }) {
  const { ConferenceClient } = await import('/lib/conclave.js');
  const resp = await fetch('/dev/join', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room, user: label }),
  });
  const { token, error } = await resp.json();
  if (!token) throw new Error(`dev token: ${error}`);
  const client = new ConferenceClient();
  await client.join(token);
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const pub = await client.publish(stream, { codec, simulcast });
  window.mediaTest = { client, pub };
  return pub.id;
}

/** The page's outbound video statistics, one entry per encoding (runs in the page). */
async function outbound() {
  const out = [];
  (await window.mediaTest.pub.pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') {
      out.push({ rid: r.rid || '', framesSent: r.framesSent || 0, framesEncoded: r.framesEncoded || 0,
        width: r.frameWidth || 0, height: r.frameHeight || 0, fps: r.framesPerSecond || 0 });
    }
  });
  return out;
}

/** Stops the largest encoding the page sends and returns its rid (runs in the page). */
async function stopLargestLayer() {
  let largest = null;
  (await window.mediaTest.pub.pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.framesSent > 0 && r.rid &&
        (!largest || (r.frameWidth || 0) > largest.width)) {
      largest = { rid: r.rid, width: r.frameWidth || 0 };
    }
  });
  if (!largest) throw new Error('no simulcast encoding is being sent');
  const sender = window.mediaTest.pub.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  const params = sender.getParameters();
  const enc = params.encodings.find((e) => e.rid === largest.rid);
  if (!enc) throw new Error(`no encoding ${largest.rid}`);
  enc.active = false;
  await sender.setParameters(params);
  return largest.rid;
}

const [stopLabel, stopAfter] = (process.env.STOP_LAYER || ':').split(':');

await run('media', duration + 60000, async (browser) => {
  const pages = [];
  for (const p of publishers) {
    const page = await newPage(browser, p.label);
    await page.goto(portal + '/');
    const id = await page.evaluate(publish, { room, ...p });
    console.log(`STREAM ${p.label} ${id}`);
    pages.push({ label: p.label, page });
  }
  log('all published');
  const end = Date.now() + duration;
  const stopAt = stopLabel ? Date.now() + Number(stopAfter) : Infinity;
  let stopped = !stopLabel;
  while (Date.now() < end) {
    if (!stopped && Date.now() >= stopAt) {
      const { page } = pages.find((p) => p.label === stopLabel);
      const rid = await page.evaluate(stopLargestLayer);
      console.log(`LAYER_STOPPED ${stopLabel} ${rid} ${Date.now()}`);
      stopped = true;
    }
    const pubs = {};
    for (const { label, page } of pages) pubs[label] = await page.evaluate(outbound);
    console.log(`STATS ${JSON.stringify({ at: Date.now(), pubs })}`);
    await sleep(1000);
  }
  return {};
});
