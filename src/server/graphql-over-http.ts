/**
 * The status codes of the GraphQL-over-HTTP specification that Apollo Server
 * does not pick by itself (docs/api.md, "GraphQL over HTTP").
 *
 * A client that accepts `application/graphql-response+json` (Apollo Client,
 * graphql-request, urql, the spec's own clients) or any type (`*\/*`, what
 * fetch and curl send) gets 400 for a request the server cannot execute: a
 * syntax error, a validation error (the request limits included), variables
 * that do not fit. A legacy client, one that names `application/json` and not
 * `application/graphql-response+json`, reads the status as "the HTTP request
 * failed": the spec asks for 200 there, with the same errors in the body.
 * Requests that are not GraphQL-over-HTTP requests at all (malformed JSON,
 * no `query`) never reach a plugin and keep their 400; 401, 405, 429 and 503
 * are left as they are.
 */
import type { ApolloServerPlugin } from '@apollo/server';

/** The media types an Accept header names with a weight above 0, lower-cased. */
function acceptedTypes(accept: string): string[] {
  return accept
    .split(',')
    .map((range) => {
      const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
      const q = parameters.find((p) => p.startsWith('q='));
      return q !== undefined && Number(q.slice(2)) === 0 ? '' : type;
    })
    .filter((type) => type !== '');
}

/** True when the client names `application/json` and not `application/graphql-response+json`. */
export function acceptsLegacyJsonOnly(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = acceptedTypes(accept);
  return types.includes('application/json') && !types.includes('application/graphql-response+json');
}

export function legacyJsonStatusPlugin<Context extends object>(): ApolloServerPlugin<Context> {
  return {
    requestDidStart({ request }) {
      const legacy = acceptsLegacyJsonOnly(request.http?.headers.get('accept'));
      if (!legacy) return Promise.resolve();
      return Promise.resolve({
        willSendResponse({ response }) {
          // Parse, validation and variable-coercion failures: a well-formed request whose GraphQL failed.
          if (response.http.status === 400 && response.body.kind === 'single') response.http.status = 200;
          return Promise.resolve();
        },
      });
    },
  };
}
