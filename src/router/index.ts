export {
  Router,
  type RouterOptions,
  type RemoteRoute,
  type CallContext,
  type ClassifierRoute,
  type ResponseCache,
  type Redaction,
  type LocalRouteConfig,
  type RouteOutcome,
} from './router';
export { decide, type Decision, type DecisionInput, type RoutePolicy } from './decide';
