export { ColoServer } from './server';
export type { ServerContext, Principal, Logger, ExtraRoute, RouteRequest, RouteResponse } from './context';
export type { ObserveAccess, ObserveRoutes } from './observe';
