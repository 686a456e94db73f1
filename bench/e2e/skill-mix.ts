/**
 * A skill between other traffic, against a running Colo: `POST /v1/skills/sentiment`
 * (a ~600-token template plus a headline) alternating with an unrelated short
 * `POST /v1/completions`, one at a time; prints the skill's latency p50 and each call.
 * With the skill's template evicted by every completion, each skill call prefills the
 * whole template again (bench/README.md, "Long prompts kept past unrelated requests").
 *
 *   node dist/cli.js serve --port 8092 &
 *   npx tsx bench/e2e/skill-mix.ts [--url http://127.0.0.1:8092] [--rounds 12]
 *
 * Headlines differ per call, so the response cache never answers.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    rounds: { type: 'string', default: '12' },
    model: { type: 'string', default: 'stories260K' },
  },
});

async function post(path: string, body: unknown): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(values.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text.slice(0, 200)}`);
  return performance.now() - t0;
}

const skill: number[] = [];
const plain: number[] = [];
for (let i = 0; i < Number(values.rounds); i++) {
  const s = await post('/v1/skills/sentiment', {
    input: `ACME Corp ${i} beats earnings estimates, raises guidance`,
    deadline_ms: 10_000,
  });
  const p = await post('/v1/completions', {
    model: values.model,
    prompt: `Once upon a time ${i}`,
    max_tokens: 16,
  });
  // The first call of each finds nothing cached on any build.
  if (i > 0) {
    skill.push(s);
    plain.push(p);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(
  `sentiment p50 ${med(skill).toFixed(0)} ms (${skill.map((x) => x.toFixed(0)).join(' ')}), completion p50 ${med(plain).toFixed(1)} ms`,
);
