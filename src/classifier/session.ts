/**
 * Opens an ONNX file with onnxruntime-node and turns every failure into
 * MODEL_LOAD_FAILED naming the file. The one place in src/classifier that creates
 * sessions, so thread settings stay consistent.
 */
import * as ort from 'onnxruntime-node';
import { loadFailed, readBytes } from './modelDir';

export interface SessionOptions {
  /** Threads inside one run. Default 1: classifier graphs are tiny, threads only add handoff cost. */
  intraOpThreads?: number;
}

export async function openSession(
  path: string,
  opts: SessionOptions = {},
  /** The file's bytes, when the caller has read them already. */
  bytes?: Uint8Array,
): Promise<ort.InferenceSession> {
  bytes ??= await readBytes(path);
  if (bytes.length === 0) throw loadFailed(path, 'file is empty');
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: opts.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    // onnxruntime's message says what is wrong (protobuf parse, unknown op...); keep it.
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw loadFailed(path, `not a loadable ONNX model (${why})`, err);
  }
}

/** Static last dimension of an output, or undefined when symbolic/unknown. */
export function outputLastDim(session: ort.InferenceSession, name: string): number | undefined {
  const meta = session.outputMetadata.find((m) => m.name === name);
  if (!meta || !meta.isTensor) return undefined;
  const last = meta.shape[meta.shape.length - 1];
  return typeof last === 'number' && last > 0 ? last : undefined;
}

export { ort };
