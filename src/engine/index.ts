export { LocalEngine, type ModelFileResolver, type ResolvedModelFile, type EngineLogger } from './engine';
export { ModelPool, type LocalCallOptions, type LocalPrediction } from './pool';
export { deadlineOf } from './deadline';
export { RequestTrace } from './trace';
export { AdmissionQueue } from './admission';
