/** The wire protocol's public surface. Generated code stays behind these wrappers. */
export { protocolConfigSchema, type ProtocolConfig } from './config';
export {
  decodeClientFrame,
  clientDecodeOptions,
  requestIdOf,
  RequestFrameError,
  MAX_ID_LENGTH,
  type ClientMessage,
} from './decode-client';
export {
  ServerFrameEncoder,
  encodeAccepted,
  encodeTokenChunk,
  encodeResult,
  encodeError,
  encodePong,
  type EncodeOptions,
  type ResultEncodeOptions,
} from './encode-server';
export {
  encodeRequest,
  encodeCancel,
  encodePing,
  decodeServerFrame,
  DEFAULT_MAX_SERVER_FRAME_BYTES,
  type RequestInput,
  type ServerMessage,
} from './client';
export { verifyClientFrame, verifyServerFrame, DEFAULT_VERIFY_LIMITS, type VerifyLimits } from './verify';
export type { Signal, SignalDirection } from './signal';
