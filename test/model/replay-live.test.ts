/** `colo replay`'s transport against a live server: a news tape through the WebSocket into a classifier. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startColo, type Colo } from '../../src/app/colo';
import { trainClassifier } from '../../src/classifier';
import { parseConfig } from '../../src/config';
import {
  eventStudy,
  readPrices,
  readTape,
  replayToStudySignals,
  runReplay,
  writeExampleTape,
  WsTransport,
} from '../../src/replay';
import { quietLog, SHARED_MODELS } from '../helpers/engine';

const DATA = resolve(SHARED_MODELS, '../data/twitter-financial-news-sentiment');
let colo: Colo;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'colo-replay-'));
  await trainClassifier({
    train: join(DATA, 'train.csv'),
    valid: join(DATA, 'valid.csv'),
    out: join(dir, 'clf'),
    seed: 1,
    epochs: 4,
  });
  colo = await startColo(
    parseConfig({
      server: { port: 0 },
      audit: { dir: join(dir, 'audit') },
      auth: { storePath: join(dir, 'auth.json') },
      engine: { modelDirs: [SHARED_MODELS], models: [{ name: 'stories260K', sequences: 1 }] },
      classifiers: { models: [{ name: 'fin-sentiment', dir: join(dir, 'clf') }] },
    }),
    quietLog,
  );
}, 120_000);
afterAll(async () => {
  await colo?.shutdown('test end');
});

describe('replay against a running Colo', () => {
  it('plays the example tape through /v1/ws as fast as possible: one signal per headline, no errors, an event study', async () => {
    const ex = await writeExampleTape({ validCsv: join(DATA, 'valid.csv'), outDir: join(dir, 'tape') });
    const events = await readTape(ex.tape);
    const transport = await WsTransport.connect({
      url: `ws://127.0.0.1:${colo.port}/v1/ws`,
      skill: '',
      model: 'fin-sentiment',
    });
    const result = await runReplay(events, transport, { speed: 0 });
    await transport.close();
    expect(result.errors).toBe(0);
    expect(result.records).toHaveLength(events.length);
    expect(
      result.records.every((r) => r.signal !== undefined && [-1, 0, 1].includes(r.signal.direction)),
    ).toBe(true);
    expect(result.latency.count).toBe(events.length);
    const study = eventStudy(replayToStudySignals(result.records), await readPrices(ex.prices));
    expect(study.horizons.length).toBeGreaterThan(0);
    expect(study.traded).toBeGreaterThan(0);
  });
});
