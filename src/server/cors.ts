/**
 * Cross-origin requests from browsers (docs/security.md, "Cross-origin
 * requests name their origins"): the pages of the origins listed in
 * TENANTRY_CORS_ORIGINS may call the GraphQL endpoints and the audit export
 * with fetch and a bearer token. The `cors` package answers the preflight
 * (OPTIONS) and adds the headers to the actual responses; an origin not
 * listed gets no Access-Control-Allow-Origin, so its browser withholds the
 * answer. Nothing is mounted when the list is empty: no CORS headers at all.
 *
 * No Access-Control-Allow-Credentials: the API authenticates by the
 * Authorization header a page's own code sets, never by cookies, so a page
 * can only ever send a token it already holds.
 */
import cors from 'cors';
import type { Express } from 'express';

/** The routes a frontend calls; /healthz, /readyz, /metrics and the UI stay same-origin. */
export const CORS_ROUTES = [
  '/api/v1/graphql',
  '/api/v1/:tenant/graphql',
  '/api/v1/audit-logs/export',
  '/api/v1/:tenant/audit-logs/export',
  // The SDL, for code generators and schema-aware editors running in a browser.
  '/api/v1/schema.graphql',
  // API v2 (docs/api-v2.md): the same for client tooling.
  '/api/v2/graphql',
  '/api/v2/:tenant/graphql',
  '/api/v2/schema.graphql',
];

/** The request headers the API reads. Authorization is never covered by `*`, so it is named. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'X-Tenant-Id',
  'X-Correlation-Id',
  'Idempotency-Key',
  // Apollo's CSRF prevention asks GET queries for one of these (docs/api.md, "GraphQL over HTTP").
  'Apollo-Require-Preflight',
  'X-Apollo-Operation-Name',
  // W3C trace context: a traced frontend's span becomes the parent of the gateway's.
  'traceparent',
  'tracestate',
];

/** Response headers a page's script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['X-Correlation-Id', 'Retry-After', 'Content-Disposition'];

/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Mounts CORS on CORS_ROUTES for `origins` (exact, as loadConfig normalised them); nothing when there are none. */
export function mountCors(app: Express, origins: readonly string[]): void {
  if (origins.length === 0) return;
  app.use(
    CORS_ROUTES,
    cors({
      // A list of strings: the request's Origin must equal one of them exactly; it is then echoed, with Vary: Origin.
      origin: [...origins],
      methods: ['GET', 'POST'],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      credentials: false,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      // The preflight ends here (204), never reaching Apollo or the export route.
      preflightContinue: false,
      optionsSuccessStatus: 204,
    }),
  );
}
