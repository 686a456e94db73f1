export { LocalEngine, type ModelFileResolver, type ResolvedModelFile, type EngineLogger } from './engine';
export { ModelPool, type LocalCallOptions } from './pool';
export { RequestTrace } from './trace';
export { AdmissionQueue } from './admission';
