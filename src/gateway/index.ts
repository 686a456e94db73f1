/** Public surface of the gateway (see README.md). */
export { Gateway, type GatewayDeps, type GatewayStats, type ModelInfo, type RemoteEstimate } from './gateway';
export {
  gatewayConfigSchema,
  targetSchema,
  aliasSchema,
  retrySchema,
  breakerSchema,
  type GatewayConfig,
  type GatewayConfigInput,
  type TargetConfig,
  type AliasConfig,
  type RetryConfig,
  type BreakerConfig,
} from './config';
export {
  CHANNELS,
  type AttemptEvent,
  type BreakerEvent,
  type RetryEvent,
  type HedgeEvent,
  type RequestEvent,
} from './events';
export type { BreakerState } from './breaker';
export type { TargetStats } from './target';
export type {
  Provider,
  ProviderChunk,
  ProviderCall,
  ProviderTarget,
  UnifiedRequest,
} from './providers/types';
export { UpstreamFailure } from './providers/failure';
export { BUILTIN_PROVIDERS } from './providers/registry';
