import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors';
import { DEFAULT_SAMPLING } from '../../src/core/types';
import { float32ToNumber } from '../../src/protocol/decode-client';
import {
  errorCodeFromWire,
  errorCodeToWire,
  WIRE_ENUM_ORDER,
  WIRE_ERROR_CODE_NAMES,
} from '../../src/protocol/enums';
import * as fb from '../../src/protocol/generated/colo_generated';

const names = (e: object): string[] =>
  Object.entries(e)
    .filter(([, v]) => typeof v === 'number')
    .sort(([, a], [, b]) => (a as number) - (b as number))
    .map(([k]) => k.toLowerCase());

describe('wire enums agree with src/core', () => {
  it('ErrorCode: src/core/errors.ts and schemas/colo.fbs list the same names in the same order', () => {
    expect(WIRE_ERROR_CODE_NAMES).toEqual([...ERROR_CODES]);
  });

  it('every error code maps to its own wire value and back', () => {
    ERROR_CODES.forEach((code, i) => {
      expect(errorCodeToWire(code)).toBe(i);
      expect(errorCodeFromWire(i)).toBe(code);
    });
    expect(errorCodeFromWire(60_000)).toBe('INTERNAL');
  });

  it('RouteKind, FinishReason and Role keep the core order', () => {
    expect(names(fb.RouteKind)).toEqual(WIRE_ENUM_ORDER.routeKinds);
    expect(names(fb.FinishReason)).toEqual(WIRE_ENUM_ORDER.finishReasons);
    expect(names(fb.Role)).toEqual(WIRE_ENUM_ORDER.roles);
  });

  it('Direction is -1, 0, 1 as the Signal type says', () => {
    expect([fb.Direction.Bearish, fb.Direction.Neutral, fb.Direction.Bullish]).toEqual([-1, 0, 1]);
  });

  it('the schema defaults of Sampling equal DEFAULT_SAMPLING', () => {
    // An empty Sampling table reads back the schema's defaults.
    const b = new flatbuffers.Builder(64);
    fb.Sampling.startSampling(b);
    b.finish(fb.Sampling.endSampling(b));
    const s = fb.Sampling.getRootAsSampling(new flatbuffers.ByteBuffer(b.asUint8Array()));
    expect({
      maxTokens: s.maxTokens(),
      temperature: float32ToNumber(s.temperature()),
      topP: float32ToNumber(s.topP()),
      seed: s.seed() ?? undefined,
      stop: [],
    }).toEqual(DEFAULT_SAMPLING);
  });
});
