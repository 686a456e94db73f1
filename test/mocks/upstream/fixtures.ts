/**
 * Recorded response fixtures, replayed by the mock upstream. Streams are kept as raw
 * SSE text (Gemini's with CRLF, as Google sends it) and split into events with their
 * own terminators, so faults can cut between or inside events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Flavor =
  | 'openai-chat'
  | 'openai-completion'
  | 'anthropic'
  | 'gemini'
  | 'openai-chat-logprobs'
  | 'openai-completion-logprobs'
  | 'gemini-logprobs';

/**
 * Next to this file when run from source; when bundled (bench/lib/run.mjs puts the
 * bundle under node_modules/.cache), found by walking up to the repo.
 */
function fixturesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, 'fixtures', 'gemini.sse'))) return join(here, 'fixtures') + '/';
  for (let dir = here, i = 0; i < 10; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'mocks', 'upstream', 'fixtures');
    if (existsSync(join(candidate, 'gemini.sse'))) return candidate + '/';
  }
  throw new Error(`mock upstream fixtures not found from ${here}`);
}
const dir = fixturesDir();

export interface Fixture {
  /** Raw SSE events, each with its terminating blank line. */
  events: string[];
  /** Non-streaming body. */
  json: string;
}

const cache = new Map<Flavor, Fixture>();

export function fixture(flavor: Flavor): Fixture {
  let f = cache.get(flavor);
  if (!f) {
    const sse = readFileSync(`${dir}${flavor}.sse`, 'utf8');
    f = {
      events: sse.split(/(?<=\r\n\r\n|\n\n)/).filter((e) => e.length > 0),
      json: readFileSync(`${dir}${flavor}.json`, 'utf8').trim(),
    };
    cache.set(flavor, f);
  }
  return f;
}

/** The text every fixture answers, and its usage. */
export const FIXTURE_TEXT = 'The market is up';
export const FIXTURE_USAGE = Object.freeze({ promptTokens: 12, completionTokens: 4 });

/**
 * Which fixture a request path asks for, and whether it streams. A request for logprobs
 * (OpenAI `logprobs`, Gemini `generationConfig.responseLogprobs`) gets the same answer
 * with the upstream's logprobs in it.
 */
export function route(path: string, body: unknown): { flavor: Flavor; stream: boolean } | null {
  const b = body as {
    stream?: unknown;
    logprobs?: unknown;
    generationConfig?: { responseLogprobs?: unknown };
  } | null;
  const stream = b?.stream === true;
  const lp = b?.logprobs !== undefined && b?.logprobs !== null && b?.logprobs !== false;
  const glp = b?.generationConfig?.responseLogprobs === true ? '-logprobs' : '';
  const p = path.split('?')[0]!;
  if (p.endsWith('/chat/completions')) return { flavor: lp ? 'openai-chat-logprobs' : 'openai-chat', stream };
  if (p.endsWith('/completions'))
    return { flavor: lp ? 'openai-completion-logprobs' : 'openai-completion', stream };
  if (p.endsWith('/messages')) return { flavor: 'anthropic', stream };
  if (p.endsWith(':streamGenerateContent')) return { flavor: `gemini${glp}`, stream: true };
  if (p.endsWith(':generateContent')) return { flavor: `gemini${glp}`, stream: false };
  return null;
}
