/**
 * The ONNX graph of a hashed-feature linear classifier, batched over sparse inputs.
 *
 * Inputs (all one flat list over the batch, CSR-like):
 *   indices    int32 [nnz]  bucket of each feature
 *   values     float [nnz]  its value
 *   rows       int32 [nnz]  which text (0..B-1) it belongs to
 *   batch_size int64 [1]    B (a text with no features still gets a row)
 * Output: probabilities float [B, C].
 *
 * Steps: 1. Gather rows of W [D, C] → [nnz, C]; 2. scale by values; 3. start from the bias
 * broadcast to [B, C]; 4. ScatterND(reduction=add) sums each feature's row into its text;
 * 5. Softmax. Sparse input keeps a call at ~nnz·C work instead of B·D: a dense [B, 2^18]
 * float input would be 1 MiB per headline to copy.
 */
import type { LinearModel } from '../linear';
import { DataType, encodeModel, type GraphInit } from './onnx';
import { floatsOf, readGraph } from './read';

export const HASHED_INPUTS = ['indices', 'values', 'rows', 'batch_size'] as const;
export const HASHED_OUTPUT = 'probabilities';
/** ScatterND's `reduction` attribute needs opset 16. */
const OPSET = 17;

export function buildHashedModel(model: LinearModel, metadata: Record<string, string> = {}): Uint8Array {
  return encodeModel({
    opset: OPSET,
    producer: 'colo-train-classifier',
    docString: 'Colo hashed-feature softmax classifier',
    metadata,
    graph: hashedGraph(model),
  });
}

/** The graph buildHashedModel writes (exported so tests can build a variant of it). */
export function hashedGraph(model: LinearModel): GraphInit {
  const C = model.classes;
  return {
    name: 'colo_hashed_linear',
    initializers: [
      { name: 'W', dataType: DataType.FLOAT, dims: [model.dim, C], data: model.weights },
      { name: 'b', dataType: DataType.FLOAT, dims: [1, C], data: model.bias },
      { name: 'num_classes', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(BigInt(C)) },
      { name: 'axis1', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['W', 'indices'], outputs: ['w_rows'], attrs: { axis: { int: 0 } } },
      { op: 'Unsqueeze', inputs: ['values', 'axis1'], outputs: ['values_col'] },
      { op: 'Mul', inputs: ['w_rows', 'values_col'], outputs: ['contrib'] },
      { op: 'Cast', inputs: ['rows'], outputs: ['rows64'], attrs: { to: { int: DataType.INT64 } } },
      { op: 'Unsqueeze', inputs: ['rows64', 'axis1'], outputs: ['row_idx'] },
      {
        op: 'Concat',
        inputs: ['batch_size', 'num_classes'],
        outputs: ['out_shape'],
        attrs: { axis: { int: 0 } },
      },
      { op: 'Expand', inputs: ['b', 'out_shape'], outputs: ['bias_rows'] },
      {
        op: 'ScatterND',
        inputs: ['bias_rows', 'row_idx', 'contrib'],
        outputs: ['logits'],
        attrs: { reduction: { string: 'add' } },
      },
      { op: 'Softmax', inputs: ['logits'], outputs: [HASHED_OUTPUT], attrs: { axis: { int: -1 } } },
    ],
    inputs: [
      { name: 'indices', dataType: DataType.INT32, shape: ['nnz'] },
      { name: 'values', dataType: DataType.FLOAT, shape: ['nnz'] },
      { name: 'rows', dataType: DataType.INT32, shape: ['nnz'] },
      { name: 'batch_size', dataType: DataType.INT64, shape: [1] },
    ],
    outputs: [{ name: HASHED_OUTPUT, dataType: DataType.FLOAT, shape: ['batch', C] }],
  };
}

/** The op sequence buildHashedModel writes; a file with any other graph is not read as linear. */
const HASHED_OPS = hashedGraph({
  dim: 1,
  classes: 1,
  weights: new Float32Array(1),
  bias: new Float32Array(1),
}).nodes.map((n) => n.op);

/**
 * The weights of a hashed classifier file when its graph is exactly the one
 * buildHashedModel writes (so its arithmetic is `linear.ts`'s), else undefined.
 * Throws only on bytes that are not a readable protobuf.
 */
export function readHashedModel(bytes: Uint8Array): LinearModel | undefined {
  const g = readGraph(bytes);
  if (g.ops.length !== HASHED_OPS.length || g.ops.some((op, i) => op !== HASHED_OPS[i])) return undefined;
  const W = g.initializers.get('W');
  const b = g.initializers.get('b');
  if (!W || !b || W.dataType !== DataType.FLOAT || b.dataType !== DataType.FLOAT) return undefined;
  const [dim, classes] = W.dims;
  if (W.dims.length !== 2 || dim === undefined || classes === undefined || classes < 1) return undefined;
  if (W.raw.byteLength !== dim * classes * 4 || b.raw.byteLength !== classes * 4) return undefined;
  return { dim, classes, weights: floatsOf(W), bias: floatsOf(b) };
}
