// @baton/dashboard: a web UI over Baton's admin API, as one fetch-style handler with adapters for
// Node's http, Express, Fastify and Hono.
export { createDashboard, CSRF_HEADER } from './dashboard.js';
export type { Dashboard } from './dashboard.js';
export type { DashboardOptions, AuthorizeContext, DashboardAction } from './options.js';
export { toNodeHandler, expressMiddleware, fastifyPlugin, honoHandler } from './adapters.js';
export type { NodeAdapterOptions, FastifyInstanceLike, FastifyRequestLike, FastifyReplyLike, HonoContextLike } from './adapters.js';
export type * from './api-types.js';
