/**
 * Takes the README's dashboard screenshot: starts Colo on the tiny real model with two
 * dummy remote targets (one healthy, one failing, so a breaker opens), sends mixed
 * traffic (local streams, remote, cache hits, unknown models) for a while, and shoots
 * /dashboard in Debian's chromium.
 *
 *   npx tsx scripts/dashboard-screenshot.ts [out.png] [seconds]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { startColo } from '../src/app/colo';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/core/log';

const out = process.argv[2] ?? 'src/metrics/dashboard.png';
const seconds = Number(process.argv[3] ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'colo-shot-'));
const colo = await startColo(
  parseConfig({
    server: { port: 0 },
    audit: { dir: join(dir, 'audit') },
    auth: { storePath: join(dir, 'auth.json') },
    engine: {
      modelDirs: ['../shared/models', 'models/cache'],
      models: [{ name: 'stories260K', sequences: 4, threads: 1, contextSize: 512 }],
    },
    gateway: {
      targets: [
        { name: 'remote-echo', provider: 'dummy', model: 'slow:3' },
        { name: 'remote-flaky', provider: 'dummy', model: 'error:503' },
      ],
    },
  }),
  createLogger('error'),
);
const base = `http://127.0.0.1:${colo.port}`;
const post = (model: string, maxTokens: number, temperature: number) =>
  fetch(`${base}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model, prompt: 'Once upon a time', max_tokens: maxTokens, temperature }),
  }).then((r) => r.arrayBuffer());

let running = true;
const client = async (pick: (i: number) => Promise<unknown>) => {
  for (let i = 0; running; i++) await pick(i);
};
const clients = [
  client(() => post('stories260K', 64, 0.8)),
  client(() => post('stories260K', 32, 0.8)),
  client((i) => (i % 10 === 0 ? post('stories260K', 16, 0) : post('remote-echo', 16, 0.8))),
  client((i) => (i % 3 === 0 ? post('remote-flaky', 8, 0.8) : post(`unknown-${i}`, 8, 0.8))),
];
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const page = await browser.newPage();
await page.setViewport({ width: 1400, height: 860 });
await page.goto(`${base}/dashboard`);
await new Promise((r) => setTimeout(r, seconds * 1000)); // let the charts fill; a picture, not a test
await page.screenshot({ path: out as `${string}.png` });
running = false;
await Promise.all(clients);
await browser.close();
await colo.shutdown('screenshot taken');
console.log(`wrote ${out}`);
