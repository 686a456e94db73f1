/**
 * Piscina worker entry. Each worker is long-lived (the pool never terminates it:
 * ending a thread that holds llama.cpp's native backend can abort the process) and
 * owns one Llama, one model and one context with `sequences` sequences.
 *
 * Two exports: `lane` serves the thread's lane (src/engine/lane.ts) for as long as the
 * thread lives: every generate and score request arrives on it, several at once
 * (node-llama-cpp batches their evaluations into shared decode calls; score requests
 * use a sequence the same way and generate nothing). `run` (Piscina's default) answers
 * the control tasks: info, and the crash fault injection.
 */
import { workerData } from 'node:worker_threads';
import type { LaneTask, WorkerInit, WorkerTask, WorkerInfo } from './messages';
import { serveLane } from './lane';
import { loadLocalModel, type LoadedModel } from './load';
import { generate, failAllActive } from './generate';
import { score } from './score';
import { toColoError } from '../core/errors';

const init = workerData as WorkerInit;
let loaded: Promise<LoadedModel> | undefined;
let recoveries = 0;

/**
 * This thread must never end: one that dies while llama.cpp holds native state
 * aborts the whole process (seen here, even after disposing the model first:
 * "terminate called after throwing an instance of 'Napi::Error'"). So a fatal JS
 * error fails every request this worker holds with WORKER_CRASHED, drops the model
 * and context, and the next task loads them afresh: the worker's engine is
 * replaced in place. A native crash (SIGSEGV) still ends the process; process
 * supervision restarts it (see README, Deploy).
 */
function recover(err: unknown): void {
  // Promises of the model dropped by the last recovery reject with DisposedError: fallout, not a new crash.
  if ((err as Error)?.name === 'DisposedError' || /disposed/i.test((err as Error)?.message ?? '')) return;
  recoveries++;
  console.error(
    `[colo engine worker ${init.modelName}] fatal error, reloading model: ${(err as Error)?.stack ?? String(err)}`,
  );
  failAllActive({
    code: 'WORKER_CRASHED',
    message: `worker for model ${init.modelName} crashed and was replaced`,
  });
  const old = loaded;
  loaded = undefined;
  void old
    ?.then(async (m) => {
      await m.context.dispose();
      await m.model.dispose();
    })
    .catch(() => undefined);
}
process.on('uncaughtException', recover);
process.on('unhandledRejection', recover);

function model(): Promise<LoadedModel> {
  loaded ??= loadLocalModel(init);
  return loaded;
}

/** Serves this thread's lane until the main thread closes it (Piscina task `lane`). */
export function lane(task: LaneTask): Promise<void> {
  return serveLane(task.port, async (req, out) => {
    let m: LoadedModel;
    try {
      m = await model();
    } catch (err) {
      // The model failed to load (again, after a recovery): the request still gets its one final message.
      const error = toColoError(err).toJSON();
      return out.post({ type: 'error', error, promptTokens: 0, completionTokens: 0 });
    }
    if (req.kind === 'generate') await generate(m, req, out);
    else await score(m, req, out);
  });
}

export default async function run(task: WorkerTask): Promise<WorkerInfo | null> {
  switch (task.kind) {
    case 'info': {
      const m = await model();
      return { ...m.info, recoveries, sequencesFree: m.sequences.available };
    }
    case 'crash':
      if (!init.faultInjection) throw new Error('fault injection is disabled');
      setTimeout(() => {
        // An uncaught error ends this thread; the pool must notice, fail what it held and replace it.
        throw new Error('injected worker crash');
      }, task.afterMs);
      return null;
  }
}
