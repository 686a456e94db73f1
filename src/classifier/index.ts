export { Classifier, type Classification, type ClassifierOptions } from './classifier';
export { ClassifierRegistry, type ClassifierStatus } from './registry';
export {
  classifierConfigSchema,
  classifierModelSchema,
  type ClassifierConfig,
  type ClassifierModelConfig,
} from './config';
export { trainClassifier, DEFAULT_LABELS, type TrainOptions, type TrainResult } from './train';
export { Featurizer, featurizerSpecSchema, type FeaturizerSpec, type SparseVector } from './featurize';
export { validateText, type TextInput } from './text';
export { formatConfusion, type EvalMetrics } from './metrics';
export { classificationToSignal, directionOfLabel } from './signal';
export { classifierRoutes } from './routes';
