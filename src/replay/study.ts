/** Glue: replay records → event-study signals. */
import type { StudySignal } from './eventstudy';
import type { ReplayRecord } from './replay';

export function replayToStudySignals(records: readonly (ReplayRecord | undefined)[]): StudySignal[] {
  const out: StudySignal[] = [];
  for (const r of records) {
    if (!r?.signal) continue;
    out.push({
      ts: r.ts,
      ticker: r.signal.ticker || r.ticker,
      direction: r.signal.direction,
      confidence: r.signal.confidence,
      abstain: r.signal.abstain,
    });
  }
  return out;
}
