export {
  configSchema,
  type ColoConfig,
  type ServerConfig,
  type EngineConfig,
  type LocalModelConfig,
} from './schema';
export { loadConfig, parseConfig, ConfigError, ENV_KEYS, type LoadOptions } from './load';
