/**
 * A real ColoServer (uWS, port 0) over a fake core: the real validator and pipeline,
 * with a runner that needs no model. For HTTP and WebSocket behaviour (validation,
 * errors, streaming, backpressure, drain) without loading llama.cpp.
 *
 * Models: 'echo' streams the prompt back word by word; 'hold' streams one token, then
 * waits until the test calls release() or the request is aborted; 'refuse' fails with
 * the error code its prompt names (OVERLOADED with a 40 ms retry-after), as admission
 * would; 'clf' is a classifier.
 */
import { DEFAULT_CALL_LIMITS } from '../../src/api/validate';
import { RequestPipeline, type Admitted, type CallRunner } from '../../src/app/pipeline';
import { ColoError, type ErrorCode } from '../../src/core/errors';
import { createLogger } from '../../src/core/log';
import type { Principal } from '../../src/core/routes';
import type { CompletionResult, TokenSink } from '../../src/core/types';
import { protocolConfigSchema } from '../../src/protocol';
import { ColoServer } from '../../src/server';
import { serverSchema } from '../../src/config/schema';

export interface FakeCore {
  server: ColoServer;
  port: number;
  pipeline: RequestPipeline;
  /** Requests the runner has started, by id. */
  started: Map<string, Admitted>;
  /** Resolves when the runner starts the request with this id. */
  whenStarted(id: string): Promise<void>;
  /** Lets every 'hold' request finish. */
  release(): void;
  close(): Promise<void>;
}

export interface FakeCoreOptions {
  server?: Record<string, unknown>;
  /** Replaces authentication (default: auth off). */
  authenticate?: (credential: string | undefined) => Promise<Principal | undefined>;
}

function result(call: Admitted, text: string, tokens: number): CompletionResult {
  return {
    id: call.id,
    text,
    finishReason: 'stop',
    usage: { promptTokens: 1, completionTokens: tokens },
    route: { kind: 'local', provider: 'local', model: call.model, cached: false },
    timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
  };
}

export async function startFakeCore(opts: FakeCoreOptions = {}): Promise<FakeCore> {
  const started = new Map<string, Admitted>();
  const startWaiters = new Map<string, () => void>();
  let releaseAll: () => void = () => undefined;
  let released = new Promise<void>((r) => (releaseAll = r));

  const runner: CallRunner = {
    async run(call: Admitted, sink: TokenSink | null, signal: AbortSignal) {
      started.set(call.id, call);
      startWaiters.get(call.id)?.();
      if (call.model === 'refuse') {
        const code = (call.prompt ?? '') as ErrorCode;
        throw new ColoError(code, `refused: ${code}`, code === 'OVERLOADED' ? { retryAfterMs: 40 } : {});
      }
      if (call.target.kind === 'classifier')
        return { ...result(call, 'bullish', 0), usage: { promptTokens: 0, completionTokens: 0 } };
      const words = (call.prompt ?? call.messages?.map((m) => m.content).join(' ') ?? '').split(' ');
      let n = 0;
      const aborted = () =>
        new ColoError('CANCELLED', 'request cancelled', { usage: { promptTokens: 1, completionTokens: n } });
      if (call.model === 'hold') {
        sink?.onToken('first');
        n++;
        await new Promise<void>((resolve, reject) => {
          if (signal.aborted) return reject(aborted());
          signal.addEventListener('abort', () => reject(aborted()), { once: true });
          void released.then(resolve);
        });
        return result(call, 'first', n);
      }
      let text = '';
      for (const w of words.slice(0, call.sampling.maxTokens)) {
        if (signal.aborted) throw aborted();
        await new Promise((r) => setImmediate(r));
        const t = text === '' ? w : ` ${w}`;
        text += t;
        n++;
        sink?.onToken(t);
      }
      return result(call, text, n);
    },
  };
  const pipeline = new RequestPipeline({
    runner,
    limits: { ...DEFAULT_CALL_LIMITS, maxTokens: 512 },
    catalogue: {
      defaultModel: 'echo',
      kindOf: (n) =>
        n === 'echo' || n === 'hold' || n === 'refuse' ? 'model' : n === 'clf' ? 'classifier' : undefined,
      skillModel: (n) => (n === 'sentiment' ? '' : undefined),
    },
    log: createLogger('error'),
  });
  const server = new ColoServer({
    config: serverSchema.parse({ port: 0, ...opts.server }),
    protocol: protocolConfigSchema.parse({}),
    log: createLogger('error'),
    execute: (input, api, principal, sink, signal) => pipeline.execute(input, api, principal, sink, signal),
    authenticate: opts.authenticate ?? (async () => undefined),
    models: () => [{ id: 'echo', ownedBy: 'fake' }],
    ready: () => true,
    metricsText: () => '',
    extraRoutes: [],
  });
  const port = await server.listen();
  return {
    server,
    port,
    pipeline,
    started,
    whenStarted: (id) =>
      started.has(id) ? Promise.resolve() : new Promise<void>((r) => startWaiters.set(id, r)),
    release: () => {
      releaseAll();
      released = new Promise<void>((r) => (releaseAll = r));
    },
    close: async () => {
      releaseAll();
      await server.closeAll(500);
    },
  };
}
