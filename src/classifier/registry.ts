/**
 * Loads every configured classifier directory. One that fails to load is recorded as
 * failed (with its error) and the others keep serving; `get` on it answers NOT_READY
 * with the load error's message so the caller learns why.
 */
import { ColoError, toColoError } from '../core/errors';
import { type Classifier, Classifier as ClassifierImpl } from './classifier';
import { type ClassifierConfig, classifierConfigSchema } from './config';

export interface ClassifierStatus {
  name: string;
  dir: string;
  state: 'ready' | 'failed';
  labels?: readonly string[];
  mode?: 'inline' | 'pool';
  error?: { code: string; message: string };
}

type Entry =
  { name: string; dir: string; classifier: Classifier } | { name: string; dir: string; error: ColoError };

export class ClassifierRegistry {
  private readonly entries = new Map<string, Entry>();

  private constructor(readonly config: Readonly<ClassifierConfig>) {}

  static async create(config: Partial<ClassifierConfig> | ClassifierConfig): Promise<ClassifierRegistry> {
    const cfg = classifierConfigSchema.parse(config);
    const names = new Set<string>();
    for (const m of cfg.models) {
      if (names.has(m.name))
        throw new ColoError('INVALID_ARGUMENT', `classifier name "${m.name}" is used twice`, {
          field: 'models',
        });
      names.add(m.name);
    }
    const reg = new ClassifierRegistry(cfg);
    const { models: _m, ...shared } = cfg;
    // Sequential: loading several ONNX sessions at once only competes for the same cores.
    for (const m of cfg.models) {
      try {
        const classifier = await ClassifierImpl.load(m.dir, {
          ...shared,
          mode: m.mode ?? shared.mode,
          escalateBelow: m.escalateBelow ?? shared.escalateBelow,
        });
        reg.entries.set(m.name, { name: m.name, dir: m.dir, classifier });
      } catch (err) {
        reg.entries.set(m.name, { name: m.name, dir: m.dir, error: toColoError(err) });
      }
    }
    return reg;
  }

  /** The named classifier; MODEL_NOT_FOUND if unknown, NOT_READY if it failed to load. */
  get(name: string): Classifier {
    const e = this.entries.get(name);
    if (!e) throw new ColoError('MODEL_NOT_FOUND', `no classifier named "${name}"`);
    if ('error' in e)
      throw new ColoError('NOT_READY', `classifier "${name}" failed to load: ${e.error.message}`);
    return e.classifier;
  }

  /** Configured under this name, loaded or failed (a lookup: the request path asks it). */
  knows(name: string): boolean {
    return this.entries.has(name);
  }

  has(name: string): boolean {
    const e = this.entries.get(name);
    return e !== undefined && 'classifier' in e;
  }

  status(): ClassifierStatus[] {
    return [...this.entries.values()].map((e) =>
      'error' in e
        ? {
            name: e.name,
            dir: e.dir,
            state: 'failed',
            error: { code: e.error.code, message: e.error.message },
          }
        : { name: e.name, dir: e.dir, state: 'ready', labels: e.classifier.labels, mode: e.classifier.mode },
    );
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => ('classifier' in e ? e.classifier.close() : undefined)));
  }
}
