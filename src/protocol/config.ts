/**
 * Protocol limits. The frame size and the max_tokens ceiling live in the server
 * section (server.maxFrameBytes, server.maxTokensLimit) and are passed in per call.
 */
import { z } from 'zod';

export const protocolConfigSchema = z.strictObject({
  /** Deepest table nesting the verifier accepts. Default 64 (the C++ verifier's default). */
  maxDepth: z.number().int().min(4).max(1024).default(64),
  /** Most tables the verifier visits in one frame. Default 10000. */
  maxTables: z.number().int().min(16).max(1_000_000).default(10_000),
  /** Reject frames whose strings are not valid UTF-8. Default true. */
  checkUtf8: z.boolean().default(true),
  /** Most stop sequences in one request. Default 16. */
  maxStopSequences: z.number().int().min(0).max(1024).default(16),
  /** Most chat messages in one request. Default 1024. */
  maxMessages: z.number().int().min(1).max(100_000).default(1024),
});
export type ProtocolConfig = z.infer<typeof protocolConfigSchema>;
