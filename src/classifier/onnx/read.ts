/**
 * Reads back what Colo's own hashed-classifier ONNX files hold (the inverse of onnx.ts
 * for the few fields needed): the graph's op sequence and its initializers. This lets
 * `HashedRunner` compute the graph's arithmetic in TypeScript (`linear.ts`) instead of
 * an onnxruntime run, after checking the two agree at load (bench/README.md, "Classifier
 * kernel": an onnxruntime run costs ~30–60 µs a headline, most of it fixed per call).
 *
 * Wire format as in protobuf.ts. Unknown fields are skipped; only raw_data tensors
 * (what onnx.ts writes) are read.
 */

export interface TensorRead {
  name: string;
  dataType: number;
  dims: number[];
  /** raw_data, little-endian, as stored (a view into the file's bytes). */
  raw: Uint8Array;
}

export interface GraphRead {
  ops: string[];
  initializers: Map<string, TensorRead>;
}

const dec = new TextDecoder();

class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('varint too long');
    }
  }

  /** Next field: its number, wire type and (for length-delimited) bytes. */
  field(): { no: number; wt: number; bytes?: Uint8Array; value?: number } {
    const key = this.varint();
    const no = Math.floor(key / 8);
    const wt = key & 7;
    switch (wt) {
      case 0:
        return { no, wt, value: this.varint() };
      case 1:
        this.skip(8);
        return { no, wt };
      case 2: {
        const len = this.varint();
        const bytes = this.buf.subarray(this.pos, this.pos + len);
        this.skip(len);
        return { no, wt, bytes };
      }
      case 5:
        this.skip(4);
        return { no, wt };
      default:
        throw new Error(`unsupported wire type ${wt}`);
    }
  }

  private skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    this.pos += n;
  }
}

function readTensor(bytes: Uint8Array): TensorRead {
  const r = new ProtoReader(bytes);
  const t: TensorRead = { name: '', dataType: 0, dims: [], raw: new Uint8Array(0) };
  while (!r.done) {
    const f = r.field();
    if (f.no === 1 && f.bytes) {
      const d = new ProtoReader(f.bytes);
      while (!d.done) t.dims.push(d.varint());
    } else if (f.no === 1 && f.value !== undefined) t.dims.push(f.value);
    else if (f.no === 2 && f.value !== undefined) t.dataType = f.value;
    else if (f.no === 8 && f.bytes) t.name = dec.decode(f.bytes);
    else if (f.no === 9 && f.bytes) t.raw = f.bytes;
  }
  return t;
}

function readNodeOp(bytes: Uint8Array): string {
  const r = new ProtoReader(bytes);
  let op = '';
  while (!r.done) {
    const f = r.field();
    if (f.no === 4 && f.bytes) op = dec.decode(f.bytes);
  }
  return op;
}

/** The graph of a ModelProto: node op types in order, and initializers by name. Throws on malformed bytes. */
export function readGraph(model: Uint8Array): GraphRead {
  const r = new ProtoReader(model);
  const out: GraphRead = { ops: [], initializers: new Map() };
  while (!r.done) {
    const f = r.field();
    if (f.no !== 7 || !f.bytes) continue;
    const g = new ProtoReader(f.bytes);
    while (!g.done) {
      const gf = g.field();
      if (gf.no === 1 && gf.bytes) out.ops.push(readNodeOp(gf.bytes));
      else if (gf.no === 5 && gf.bytes) {
        const t = readTensor(gf.bytes);
        out.initializers.set(t.name, t);
      }
    }
  }
  return out;
}

/** A float32 initializer's values (copied, so alignment never matters). */
export function floatsOf(t: TensorRead): Float32Array {
  const out = new Float32Array(t.raw.byteLength / 4);
  new Uint8Array(out.buffer).set(t.raw);
  return out;
}
