/**
 * A tiny Hugging Face-shaped text classifier graph: input_ids + attention_mask → logits,
 * by masked mean of token embeddings then a linear layer. Colo uses it to test and bench
 * the tokenizer-model path without a model hub; real HF exports (BERT, DistilBERT) take
 * the same inputs and give the same output name.
 */
import { DataType, encodeModel } from './onnx';

export interface TextModelWeights {
  vocab: number;
  hidden: number;
  classes: number;
  /** [vocab, hidden] */
  embeddings: Float32Array;
  /** [hidden, classes] */
  proj: Float32Array;
  /** [classes] */
  bias: Float32Array;
}

export function buildMeanPoolTextModel(w: TextModelWeights): Uint8Array {
  return encodeModel({
    opset: 17,
    producer: 'colo',
    docString: 'mean-pooled embedding classifier (test/bench model)',
    graph: {
      name: 'colo_mean_pool_text',
      initializers: [
        { name: 'E', dataType: DataType.FLOAT, dims: [w.vocab, w.hidden], data: w.embeddings },
        { name: 'P', dataType: DataType.FLOAT, dims: [w.hidden, w.classes], data: w.proj },
        { name: 'pb', dataType: DataType.FLOAT, dims: [w.classes], data: w.bias },
        { name: 'axis1', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) },
        { name: 'axis2', dataType: DataType.INT64, dims: [1], data: BigInt64Array.of(2n) },
      ],
      nodes: [
        { op: 'Gather', inputs: ['E', 'input_ids'], outputs: ['emb'], attrs: { axis: { int: 0 } } },
        {
          op: 'Cast',
          inputs: ['attention_mask'],
          outputs: ['maskf'],
          attrs: { to: { int: DataType.FLOAT } },
        },
        { op: 'Unsqueeze', inputs: ['maskf', 'axis2'], outputs: ['mask3'] },
        { op: 'Mul', inputs: ['emb', 'mask3'], outputs: ['masked'] },
        {
          op: 'ReduceSum',
          inputs: ['masked', 'axis1'],
          outputs: ['summed'],
          attrs: { keepdims: { int: 0 } },
        },
        { op: 'ReduceSum', inputs: ['maskf', 'axis1'], outputs: ['count'], attrs: { keepdims: { int: 1 } } },
        { op: 'Div', inputs: ['summed', 'count'], outputs: ['pooled'] },
        { op: 'MatMul', inputs: ['pooled', 'P'], outputs: ['proj'] },
        { op: 'Add', inputs: ['proj', 'pb'], outputs: ['logits'] },
      ],
      inputs: [
        { name: 'input_ids', dataType: DataType.INT64, shape: ['batch', 'seq'] },
        { name: 'attention_mask', dataType: DataType.INT64, shape: ['batch', 'seq'] },
      ],
      outputs: [{ name: 'logits', dataType: DataType.FLOAT, shape: ['batch', w.classes] }],
    },
  });
}
