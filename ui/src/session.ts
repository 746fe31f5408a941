/**
 * The API token of this browser tab. It lives in sessionStorage (gone when the
 * tab closes) and travels only in the Authorization header or the WebSocket's
 * connection_init payload, never in a URL the server would see or log.
 */
const KEY = 'tenantry.token';

export function currentToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * Automation opens the page with `#token=…`. A fragment is never sent to the
 * server, but it stays in the address bar, the history and any link copied
 * from there: take the token and rewrite the address at once.
 */
export function takeTokenFromFragment(): void {
  if (!location.hash) return;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return;
  if (token.trim() !== '') saveToken(token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}
