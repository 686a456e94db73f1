/** The project's own GGUF v3 writer and a small reader. */
export * from './constants';
export { f16ToF32, f32ToF16 } from './fp16';
export { decode, encode, encodeInto, encodedSize } from './quantize';
export { parseGguf, readGguf, readTensorBytes, type GgufFile, type GgufTensorInfo } from './reader';
export { kv, metaNumber, metaString, metaValue, type GgufMetadata, type GgufValue } from './value';
export { encodeHeader, writeGguf, type GgufTensorSource, type GgufWriteResult } from './writer';
