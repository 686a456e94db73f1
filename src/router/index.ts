export { Router, type RouterOptions, type RemoteRoute, type CallContext } from './router';
export { decide, type Decision, type DecisionInput, type RoutePolicy } from './decide';
