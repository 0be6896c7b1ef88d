// Shared helpers of the browser tests: Chromium launch with a fake camera/microphone, page
// helpers and result reporting. Every script reads its inputs from the environment (set by
// web/web_test.go) and prints one JSON line "RESULT {...}" before exiting 0 (pass) or 1.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Chromium flags: fake media devices, loopback ICE candidates, no background traffic. */
export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Required environment variable. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required`);
  return v;
}

export function artifactsDir() {
  const dir = process.env.CONCLAVE_ARTIFACTS || join(process.cwd(), 'artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

export async function launch() {
  // CHROMIUM_ARGS_EXTRA: more flags, space-separated (e.g. a test origin treated as secure)
  const extra = (process.env.CHROMIUM_ARGS_EXTRA || '').split(' ').filter(Boolean);
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extra],
    headless: true,
  });
}

/** A new page in its own context (own devices, storage), logging page errors. */
export async function newPage(browser, label, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`${label} page error:`, e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`${label} console.${m.type()}:`, m.text());
  });
  page.on('dialog', (d) => d.accept());
  return page;
}

/** Opens the demo page and joins room as user through the dev-token endpoint. */
export async function joinDemo(page, portalURL, room, user, query = '') {
  await page.goto(portalURL + '/' + query);
  await page.fill('#room', room);
  await page.fill('#name', user);
  await page.click('#join');
  await page.waitForFunction(() => document.body.dataset.state === 'joined', null, { timeout: 20000 });
  // publishing done: the local tile exists and the publication has an id
  await page.waitForFunction(() => {
    const s = window.conclaveDemo.state;
    return s.publication && s.publication.id;
  }, null, { timeout: 20000 });
}

/** Polls fn (awaited in the page) every 250 ms until it returns a truthy value. */
export async function pollPage(page, fn, arg, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > deadline) {
      const diag = await page.evaluate(diagnostics).catch((e) => String(e));
      throw new Error(`timeout after ${timeout} ms waiting for ${what}; page state: ${diag}`);
    }
    await sleep(250);
  }
}

/** What the demo page knows, for failure messages (runs in the page). */
async function diagnostics() {
  const d = window.conclaveDemo;
  const c = d && d.state.client;
  if (!c) return 'no client';
  const subs = {};
  for (const [id, sub] of d.state.subscriptions) {
    subs[id] = { ice: sub.pc.iceConnectionState, conn: sub.pc.connectionState, ended: sub.ended };
  }
  return JSON.stringify({
    state: document.body.dataset.state,
    error: document.querySelector('#call-error').textContent,
    streams: [...c.streams.values()].map((s) => ({ id: s.id, owner: c.userOf(s.info.owner) })),
    subscriptions: subs, stats: await d.stats(),
  });
}

/** Waits until the page decodes video from a remote stream owned by user. */
export async function waitRemoteVideo(page, user, minFrames = 20, timeout = 20000) {
  return pollPage(page, async ({ user, minFrames }) => {
    const d = window.conclaveDemo;
    const c = d.state.client;
    const stats = await d.stats();
    for (const [id, st] of Object.entries(stats)) {
      const info = c.streams.get(id);
      if (!info || c.userOf(info.info.owner) !== user) continue;
      if (st.video.framesDecoded >= minFrames && st.video.bytesReceived > 0) return { id, ...st.video };
    }
    return false;
  }, { user, minFrames }, timeout, `video from ${user}`);
}

/** Video statistics of the subscription to stream id. */
export async function videoStats(page, id) {
  return page.evaluate(async (id) => (await window.conclaveDemo.stats())[id].video, id);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs main(browser) with a global timeout and reports the result. */
export async function run(name, timeoutMs, main) {
  const started = Date.now();
  let browser;
  const timer = setTimeout(() => {
    console.log(`RESULT ${JSON.stringify({ test: name, ok: false, error: `timeout after ${timeoutMs} ms` })}`);
    process.exit(1);
  }, timeoutMs);
  try {
    browser = await launch();
    const details = await main(browser);
    console.log(`RESULT ${JSON.stringify({ test: name, ok: true, ms: Date.now() - started, ...details })}`);
    process.exitCode = 0;
  } catch (e) {
    console.log(`RESULT ${JSON.stringify({ test: name, ok: false, ms: Date.now() - started, error: String(e && e.stack || e) })}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    if (browser) await browser.close().catch(() => {});
  }
  process.exit(); // with process.exitCode; no handle may keep the script alive
}

/** Fails with message unless cond holds. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}
