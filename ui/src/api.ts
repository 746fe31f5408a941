import { currentToken } from './session.js';

/** A failure the page explains to the user; `code` is the API's `extensions.code` or NETWORK. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

const errorOf = (error: { message: string; extensions?: Record<string, unknown> }): ApiError => {
  const extensions = error.extensions ?? {};
  return new ApiError(typeof extensions['code'] === 'string' ? extensions['code'] : 'INTERNAL_SERVER_ERROR', error.message, extensions);
};

/** The tenant's endpoints, called with the tab's token. */
export class Api {
  constructor(readonly tenant: string) {}

  get graphqlPath(): string {
    return `/api/v1/${encodeURIComponent(this.tenant)}/graphql`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = currentToken();
    return { ...extra, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, credentials: 'omit', cache: 'no-store' });
    } catch {
      throw new ApiError('NETWORK', 'The server cannot be reached.');
    }
  }

  async query<T>(query: string, variables: Record<string, unknown> = {}, path = this.graphqlPath): Promise<T> {
    const response = await this.send(path, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables }),
    });
    let body: GraphQLResponse<T>;
    try {
      body = (await response.json()) as GraphQLResponse<T>;
    } catch {
      throw new ApiError(
        response.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL_SERVER_ERROR',
        `Unexpected answer (HTTP ${response.status}).`,
      );
    }
    const first = body.errors?.[0];
    if (first) throw errorOf(first);
    if (!body.data) throw new ApiError('INTERNAL_SERVER_ERROR', 'The answer carried no data.');
    return body.data;
  }

  /**
   * The export endpoint streams a file. A plain link cannot carry the token
   * (it would have to go into the URL), so the file is fetched with the
   * Authorization header and handed to the browser as a Blob.
   */
  async download(path: string): Promise<{ blob: Blob; filename: string }> {
    const response = await this.send(path, { headers: this.headers() });
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as GraphQLResponse<unknown>;
      const first = body.errors?.[0];
      throw first
        ? errorOf(first)
        : new ApiError(response.status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL_SERVER_ERROR', `HTTP ${response.status}`);
    }
    const disposition = response.headers.get('content-disposition') ?? '';
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'audit-export';
    return { blob: await response.blob(), filename };
  }
}
