/**
 * Piscina worker entry for pool mode: holds one runner per model directory and answers
 * ClassifyTask. Errors are rethrown as plain {code, message} objects because structured
 * clone drops ColoError's class (toColoError restores it on the main thread).
 */
import { toColoError } from '../core/errors';
import type { ClassifyTask, ClassifyTaskResult } from './messages';
import { type ClassifierRunner, loadRunner } from './runner';

const runners = new Map<string, Promise<ClassifierRunner>>();

function runnerFor(task: ClassifyTask): Promise<ClassifierRunner> {
  const key = `${task.dir}\0${JSON.stringify(task.options)}`;
  let r = runners.get(key);
  if (!r) {
    r = loadRunner(task.dir, task.options);
    // A failed load is not cached: the next task retries (the file may have been fixed).
    r.catch(() => runners.delete(key));
    runners.set(key, r);
  }
  return r;
}

export default async function classify(task: ClassifyTask): Promise<ClassifyTaskResult> {
  try {
    const runner = await runnerFor(task);
    return await runner.run(task.texts);
  } catch (err) {
    throw toColoError(err).toJSON();
  }
}
