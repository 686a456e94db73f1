export { Router, type RouterOptions, type RemoteRoute, type CallContext, type ClassifierRoute } from './router';
export { decide, type Decision, type DecisionInput, type RoutePolicy } from './decide';
