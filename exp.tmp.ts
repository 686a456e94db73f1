import { parseConfig } from './src/config';
import { startColo } from './src/app/colo';
import { quietLog, SHARED_MODELS } from './test/helpers/engine';
import { SkillService } from './src/skills';
const colo = await startColo(parseConfig({ server: { port: 0 }, engine: { modelDirs: [SHARED_MODELS], models: [{ name: 'stories260K', sequences: 1, maxQueue: 8, contextSize: 2048, threads: 1 }] } }), quietLog);
const svc = SkillService.create({skills: [{name: 'sentiment', sampling: {maxTokens: 1500}}, {name: 'events', sampling: {maxTokens: 1500}}, {name: 'summary', sampling: {maxTokens: 1500}}]}, { complete: (req, sink, signal, ctx) => colo.engine.complete(req, sink, signal, { jsonSchema: ctx.jsonSchema }) });
const INPUTS = [
  'Apple ($AAPL) beats Q3 estimates and raises full-year guidance; shares up 4% after hours.',
  'Regulators open an antitrust probe into the planned merger of two chipmakers.',
];
for (const name of ['sentiment', 'events', 'summary']) for (const input of INPUTS) {
  try {
    const t = performance.now();
    const r = await svc.run({ id: name, model: 'stories260K', prompt: input, sampling: { maxTokens: 0, temperature: 0, topP: 1, stop: [] }, deadlineMs: 60000, priority: 0, stream: false, skill: name }, null, new AbortController().signal);
    console.log(name, (performance.now() - t).toFixed(1), 'ms', r.usage, r.finishReason, r.text.length, JSON.stringify(r.text.slice(0, 300)));
  } catch (e) { console.log(name, 'ERR', (e as any).code, (e as any).message, (e as any).rawOutput?.length, JSON.stringify((e as any).rawOutput?.slice(0, 600))); }
}
await colo.shutdown();
