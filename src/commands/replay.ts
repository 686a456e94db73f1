/**
 * `colo replay --news tape.jsonl [--url ws://127.0.0.1:8080/v1/ws] [--speed 0] [--skill sentiment]
 *   [--prices prices.csv] [--commission-bps 0.5] [--slippage-bps 1]`
 * `colo replay --make-example DIR` writes a small example tape and price file.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import {
  eventStudy,
  formatEventStudy,
  formatLatency,
  readPrices,
  readTape,
  replayToStudySignals,
  runReplay,
  writeExampleTape,
  WsTransport,
} from '../replay';
import { invalidArgument } from '../core/errors';

export async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      news: { type: 'string' },
      url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/ws' },
      speed: { type: 'string', default: '0' },
      skill: { type: 'string', default: 'sentiment' },
      model: { type: 'string', default: '' },
      'api-key': { type: 'string' },
      'deadline-ms': { type: 'string', default: '1000' },
      prices: { type: 'string' },
      'commission-bps': { type: 'string' },
      'slippage-bps': { type: 'string' },
      'make-example': { type: 'string' },
      data: { type: 'string', default: resolve('../shared/data/twitter-financial-news-sentiment/valid.csv') },
      out: { type: 'string' },
    },
  });
  if (values['make-example']) {
    const r = await writeExampleTape({ validCsv: values.data!, outDir: values['make-example'] });
    process.stdout.write(`wrote ${r.tape} (${r.events} headlines) and ${r.prices} (${r.priceRows} rows)\n`);
    return 0;
  }
  if (!values.news) throw invalidArgument('--news', 'is required (or --make-example DIR)');
  const events = await readTape(values.news);
  const headers: Record<string, string> = values['api-key']
    ? { authorization: `Bearer ${values['api-key']}` }
    : {};
  const transport = await WsTransport.connect({
    url: values.url!,
    skill: values.skill,
    model: values.model,
    deadlineMs: Number(values['deadline-ms']),
    headers,
  });
  try {
    const result = await runReplay(events, transport, {
      speed: Number(values.speed),
      deadlineMs: Number(values['deadline-ms']),
    });
    process.stdout.write(formatLatency('replay', result.latency) + '\n');
    process.stdout.write(
      `signals ${result.records.length - result.errors}, errors ${result.errors}${errorBreakdown(result.records)}\n`,
    );
    if (values.out) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(values.out, result.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      process.stdout.write(`wrote ${values.out}\n`);
    }
    if (values.prices) {
      const prices = await readPrices(values.prices);
      const study = eventStudy(replayToStudySignals(result.records), prices, {
        ...(values['commission-bps'] ? { commissionBps: Number(values['commission-bps']) } : {}),
        ...(values['slippage-bps'] ? { slippageBps: Number(values['slippage-bps']) } : {}),
      });
      process.stdout.write(formatEventStudy(study) + '\n');
    }
    return result.errors === 0 ? 0 : 1;
  } finally {
    await transport.close();
  }
}

/** ": DEADLINE 12 (p50 0.8 ms, max 2.1 ms), ..." — how each error code ended and how fast. */
function errorBreakdown(
  records: readonly { error?: { code: string } | undefined; latencyUs: number }[],
): string {
  const by = new Map<string, number[]>();
  for (const r of records)
    if (r?.error) (by.get(r.error.code) ?? by.set(r.error.code, []).get(r.error.code)!).push(r.latencyUs);
  if (by.size === 0) return '';
  const parts = [...by].map(([code, us]) => {
    us.sort((a, b) => a - b);
    const ms = (x: number) => (x / 1000).toFixed(1);
    return `${code} ${us.length} (p50 ${ms(us[us.length >> 1]!)} ms, max ${ms(us[us.length - 1]!)} ms)`;
  });
  return `: ${parts.join(', ')}`;
}
