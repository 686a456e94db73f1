export { ColoServer } from './server';
export { openAiWarmer } from './routes';
export type { ServerContext, Principal, Logger, ExtraRoute, RouteRequest, RouteResponse } from './context';
export type { ObserveAccess, ObserveRoutes } from './observe';
