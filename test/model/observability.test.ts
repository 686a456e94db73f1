/**
 * Observability on a real server with auth on and the tiny real model: /metrics and the
 * dashboard behind the admin key, /metrics through the official Prometheus parser,
 * client-chosen model names folded, OTLP/HTTP traces decoded by a local receiver, and
 * the dashboard in a real browser (Debian's chromium through puppeteer-core) showing
 * the model and moving figures while traffic runs.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Colo } from '../../src/app/colo';
import { startColo } from '../../src/app/colo';
import { hashApiKey } from '../../src/auth';
import { busyPoll } from '../../src/core/busy-poll';
import { quietLog, testConfig } from '../helpers/engine';
import { tinyModelPath } from '../helpers/models';
import { parseExposition } from '../helpers/prom';

const PEPPER = 'observability-test-pepper';
const ADMIN = 'colo_adminadminadminadminadminadmin01';
const CHROMIUM = '/usr/bin/chromium';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP receiver on port 0 that decodes the JSON export requests it gets. */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  contentTypes = new Set<string>();
  private waiters: (() => void)[] = [];
  server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) this.spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const w of this.waiters.splice(0)) w();
    });
  });

  listen(): Promise<number> {
    return new Promise((r) =>
      this.server.listen(0, '127.0.0.1', () => r((this.server.address() as { port: number }).port)),
    );
  }

  /** Resolves once a span matching `pred` has arrived. */
  async waitFor(pred: (s: OtlpSpan) => boolean): Promise<OtlpSpan> {
    for (;;) {
      const s = this.spans.find(pred);
      if (s) return s;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

let colo: Colo;
let base: string;
let apiKey: string;
const receiver = new OtlpReceiver();

beforeAll(async () => {
  tinyModelPath();
  const otlpPort = await receiver.listen();
  const cfg = testConfig({
    // Warming is opt-in (server.warmPath): on here, so its warmers run on a real server with auth on.
    server: { warmPath: true },
    extra: {
      auth: {
        enabled: true,
        pepper: PEPPER,
        adminKeyHashes: [hashApiKey(ADMIN, PEPPER)],
        requireSubscription: false,
        storePath: join(mkdtempSync(join(tmpdir(), 'colo-obs-')), 'auth.json'),
      },
      metrics: {
        tenants: ['desk-a'],
        tracing: { enabled: true, endpoint: `http://127.0.0.1:${otlpPort}/v1/traces` },
      },
    },
  });
  colo = await startColo(cfg, quietLog);
  base = `http://127.0.0.1:${colo.port}`;
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const t = await fetch(`${base}/admin/tenants`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ id: 'desk-a', models: ['*'] }),
  });
  expect(t.status).toBe(201);
  const k = await fetch(`${base}/admin/keys`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ tenant: 'desk-a' }),
  });
  apiKey = ((await k.json()) as { key: string }).key;
});

afterAll(async () => {
  await colo?.shutdown('test end');
  receiver.server.close();
});

const complete = (model: string, maxTokens = 16) =>
  fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: 'Once upon a time', max_tokens: maxTokens, temperature: 0.5 }),
  });

describe('observability with auth on', () => {
  it('keeps /metrics behind the admin key and passes the Prometheus parser', async () => {
    expect((await complete('stories260K')).status).toBe(200);
    for (let i = 0; i < 50; i++) expect((await complete(`made-up-${i}`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(
      401,
    );
    const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).not.toContain('made-up-');
    const fams = parseExposition(text);
    const byName = new Map(fams.map((f) => [f.name, f] as const));
    for (const name of [
      'colo_queue_seconds',
      'colo_ttft_seconds',
      'colo_inter_token_seconds',
      'colo_total_seconds',
    ]) {
      const f = byName.get(name)!;
      expect(f.type).toBe('histogram');
      const count = f.samples.find((s) => s.name === `${name}_count` && s.labels['model'] === 'stories260K');
      expect(count!.value).toBeGreaterThan(0);
    }
    const reqs = byName.get('colo_requests')!.samples;
    const other = reqs.find((s) => s.labels['model'] === 'other' && s.labels['status'] === 'MODEL_NOT_FOUND');
    expect(other!.value).toBe(50);
    const ok = reqs.find((s) => s.labels['model'] === 'stories260K' && s.labels['status'] === 'ok');
    expect(ok!.labels['tenant']).toBe('desk-a');
    // Exactly the one real completion: the warmers' canned requests are never counted.
    expect(ok!.value).toBe(1);
    const admission = byName.get('colo_admission')!.samples;
    expect(admission.some((s) => s.labels['outcome'] === 'local' && s.labels['reason'] === 'fits')).toBe(
      true,
    );
    expect(byName.get('colo_eventloop_delay_seconds')).toBeDefined();
    expect(byName.get('colo_worker_utilization')!.samples[0]!.labels['model']).toBe('stories260K');
    // The context's flash attention, as the worker chose it at load.
    const flash = colo.engine.pool('stories260K')!.info!.flashAttention;
    expect(byName.get('colo_flash_attention')!.samples).toEqual([
      expect.objectContaining({ labels: { model: 'stories260K' }, value: flash ? 1 : 0 }),
    ]);
    const kv = colo.engine.pool('stories260K')!.info!.kvCacheType;
    expect(byName.get('colo_kv_cache_f32')!.samples).toEqual([
      expect.objectContaining({ labels: { model: 'stories260K' }, value: kv === 'f32' ? 1 : 0 }),
    ]);
    // Concurrent streams batched in sequence-id order: node-llama-cpp's internals as pinned.
    expect(byName.get('colo_batching')!.samples).toEqual([
      expect.objectContaining({ labels: { model: 'stories260K' }, value: 2 }),
    ]);
    // What admission predicts with: one step per batch size, rising with the batch, in
    // seconds, the same figures the estimator holds; and its pace.
    const est = colo.engine.pool('stories260K')!.estimator.snapshot();
    const steps = byName.get('colo_predicted_step_seconds')!.samples;
    expect(steps.map((s) => s.labels['batch'])).toEqual(est.stepMs.map((_, i) => String(i + 1)));
    for (const [i, s] of steps.entries()) {
      expect(s.labels['model']).toBe('stories260K');
      expect(s.value).toBeCloseTo(est.stepMs[i]! / 1000, 9);
      expect(s.value).toBeGreaterThan(0);
    }
    expect(steps.at(-1)!.value).toBeGreaterThan(steps[0]!.value);
    expect(byName.get('colo_predicted_pace')!.samples).toEqual([
      expect.objectContaining({ labels: { model: 'stories260K' }, value: est.pace }),
    ]);
    expect(byName.get('colo_predicted_step_growth')!.samples).toEqual([
      expect.objectContaining({ labels: { model: 'stories260K' }, value: est.stepGrowth }),
    ]);
    // Busy polling at its default where a core is left beside the model's one thread:
    // the requests above kept the network thread's loop turning.
    const polling = availableParallelism() >= 2;
    expect(byName.get('colo_busy_poll_window_ms')!.samples[0]!.value).toBe(polling ? 50 : 0);
    if (polling) expect(byName.get('colo_busy_poll_turns')!.samples[0]!.value).toBeGreaterThan(0);
    // Warming runs while polling (src/app/warm.ts), and none of its warmers failed (auth on:
    // the canned calls carry no principal, and validating them must still pass).
    const warm = byName.get('colo_warm_passes')!.samples[0]!.value;
    if (polling) expect(warm).toBeGreaterThan(0);
    else expect(warm).toBe(0);
    expect(busyPoll.failedWarmers).toEqual([]);
  });

  it('exports a GenAI trace with Colo stages as child spans over OTLP/HTTP', async () => {
    const res = await complete('stories260K', 12);
    const id = ((await res.json()) as { id: string }).id;
    const root = await receiver.waitFor(
      (s) => s.name === 'text_completion stories260K' && attr(s, 'gen_ai.response.id') === id,
    );
    expect(attr(root, 'gen_ai.operation.name')).toBe('text_completion');
    expect(attr(root, 'gen_ai.request.model')).toBe('stories260K');
    expect(Number(attr(root, 'gen_ai.usage.output_tokens'))).toBe(12);
    expect(Number(attr(root, 'gen_ai.request.max_tokens'))).toBe(12);
    expect(root.kind).toBe(2); // SERVER
    const children = await Promise.all(
      ['colo.queue', 'colo.prefill', 'colo.decode'].map((n) =>
        receiver.waitFor((s) => s.name === n && s.parentSpanId === root.spanId),
      ),
    );
    for (const c of children) {
      expect(c.traceId).toBe(root.traceId);
      expect(BigInt(c.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(root.startTimeUnixNano));
      expect(BigInt(c.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(root.endTimeUnixNano) + 1000n);
    }
    // Stages are in order: queue ends where prefill starts, prefill where decode starts.
    expect(children[0]!.endTimeUnixNano).toBe(children[1]!.startTimeUnixNano);
    expect(children[1]!.endTimeUnixNano).toBe(children[2]!.startTimeUnixNano);
    expect([...receiver.contentTypes].join()).toContain('application/json');
  });

  it('keeps the dashboard behind the admin key, with a Basic-auth prompt for browsers', async () => {
    const denied = await fetch(`${base}/dashboard`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
    const basic = { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` };
    const page = await fetch(`${base}/dashboard`, { headers: basic });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/dashboard/uPlot.min.js');
    const lib = await fetch(`${base}/dashboard/uPlot.min.js`, { headers: basic });
    expect(lib.headers.get('content-type')).toContain('javascript');
    expect((await lib.text()).length).toBeGreaterThan(20_000);
    expect((await fetch(`${base}/dashboard/events`)).status).toBe(401);
  });

  it.skipIf(!existsSync(CHROMIUM))('shows the model and moving figures in a real browser', async () => {
    let browser: Browser | undefined;
    expect((await complete('no-such-model')).status).toBe(404);
    let traffic = true;
    const load = (async () => {
      while (traffic) await complete('stories260K', 24);
    })();
    try {
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
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
      await page.setViewport({ width: 1400, height: 820 });
      await page.authenticate({ username: 'admin', password: ADMIN });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      expect((await page.goto(`${base}/dashboard`))!.status()).toBe(200);
      const cell = 'tr[data-model="stories260K"] td[data-field="tokensPerSec"]';
      const text = `document.querySelector(${JSON.stringify(cell)})?.textContent`;
      await page.waitForFunction(`Number(${text}) > 0`);
      const first = await page.$eval(cell, (e) => e.textContent);
      // Moving: the pushed figure changes while traffic runs.
      await page.waitForFunction(`${text} !== ${JSON.stringify(first)}`);
      const ttft = await page.$eval('tr[data-model="stories260K"] td[data-field="ttftP50"]', (e) =>
        Number(e.textContent),
      );
      expect(ttft).toBeGreaterThan(0);
      expect(await page.$eval('#status', (e) => e.textContent)).toBe('live');
      expect(await page.$('tr[data-route="local"]')).not.toBeNull();
      expect(await page.$('tr[data-error="MODEL_NOT_FOUND"]')).not.toBeNull();
      expect(await page.$$eval('canvas', (c) => c.length)).toBeGreaterThanOrEqual(3);
      expect(errors).toEqual([]);
      const shot = process.env['COLO_DASHBOARD_SCREENSHOT'];
      if (shot) await page.screenshot({ path: shot as `${string}.png` });
    } finally {
      traffic = false;
      await load;
      await browser?.close();
    }
  });
});
