export { readTape, parseTape, tickerOf, type TapeEvent } from './tape';
export { runReplay, type ReplayOptions, type ReplayRecord, type ReplayResult } from './replay';
export {
  WsTransport,
  ClassifierTransport,
  directionOf,
  type ReplayTransport,
  type ReplayRequest,
  type ReplayReply,
  type WsTransportOptions,
} from './transport';
export { LatencyRecorder, formatLatency, type LatencySummary } from './latency';
export { readPrices, parsePrices, type PriceBook, type PriceSeries } from './prices';
export {
  eventStudy,
  formatEventStudy,
  eventStudyConfigSchema,
  type EventStudyConfig,
  type EventStudyResult,
  type StudySignal,
} from './eventstudy';
export { writeExampleTape, type ExampleOptions } from './exampleTape';
export { replayToStudySignals } from './study';
