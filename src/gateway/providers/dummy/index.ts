/**
 * A provider in production code, without network: its model name selects a
 * behaviour (see request.ts). Tests and benches use it to exercise the gateway's
 * routing and resilience with no upstream at all.
 */
import { UpstreamFailure } from '../failure';
import type { Provider, ProviderCall, ProviderChunk, UnifiedRequest } from '../types';
import { parseModel } from './request';
import { generate } from './stream';

async function* call(c: ProviderCall, req: UnifiedRequest): AsyncGenerator<ProviderChunk> {
  const behaviour = parseModel(c.target.model);
  if (behaviour === null) {
    throw new UpstreamFailure('MODEL_NOT_FOUND', `dummy target ${c.target.name}: unknown behaviour`, {
      transient: false,
    });
  }
  yield* generate(c.target.name, behaviour, req, c.signal);
}

export const dummyProvider: Provider = {
  name: 'dummy',
  defaultBaseUrl: null,
  needsHttp: false,
  endpoints: ['chat', 'completion'],
  validateModel: (model) =>
    parseModel(model) === null
      ? 'dummy models are echo, slow[:ms], error[:status], stall, truncate[:n]'
      : undefined,
  call,
};

export { parseModel as parseDummyModel } from './request';
