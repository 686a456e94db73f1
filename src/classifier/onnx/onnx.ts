/**
 * Builders for the ONNX messages Colo writes (field numbers from onnx/onnx.proto, IR 8).
 * Only the subset needed for small inference graphs: ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto (raw_data), ValueInfoProto with tensor types.
 */
import { ProtoWriter } from './protobuf';

/** TensorProto.DataType values. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export type Dim = number | string;

export interface TensorInit {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

export type AttrValue = { int: number } | { float: number } | { ints: number[] } | { string: string };

export interface NodeInit {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface ValueInit {
  name: string;
  dataType: DataTypeId;
  shape: Dim[];
}

export interface GraphInit {
  name: string;
  nodes: NodeInit[];
  initializers: TensorInit[];
  inputs: ValueInit[];
  outputs: ValueInit[];
}

export interface ModelInit {
  graph: GraphInit;
  /** Default opset of the ai.onnx domain. */
  opset: number;
  producer?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function writeTensor(w: ProtoWriter, t: TensorInit): void {
  w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data (little-endian)
}

function writeAttr(w: ProtoWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  if ('int' in v) w.int(20, ATTR_INT).int(3, v.int);
  else if ('float' in v) w.int(20, ATTR_FLOAT).float(2, v.float);
  else if ('ints' in v) w.int(20, ATTR_INTS).packedInts(8, v.ints);
  else w.int(20, ATTR_STRING).string(4, v.string);
}

function writeNode(w: ProtoWriter, n: NodeInit, i: number): void {
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  w.string(3, n.name ?? `${n.op}_${i}`);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, (a) => writeAttr(a, k, v));
}

function writeValueInfo(w: ProtoWriter, v: ValueInit): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.dataType);
      tensor.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises a ModelProto. */
export function encodeModel(m: ModelInit): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8); // ir_version 8 (ONNX 1.10+), understood by every onnxruntime since 1.10
  w.string(2, m.producer ?? 'colo');
  w.string(3, '1');
  if (m.docString) w.string(6, m.docString);
  w.message(7, (g) => {
    m.graph.nodes.forEach((n, i) => g.message(1, (nw) => writeNode(nw, n, i)));
    g.string(2, m.graph.name);
    for (const t of m.graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of m.graph.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of m.graph.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, m.opset)); // opset_import
  for (const [key, value] of Object.entries(m.metadata ?? {}))
    w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}
