import { Api, ApiError } from './api.js';
import { EntryDialog } from './detail.js';
import { button, h, replaceChildren } from './dom.js';
import { AUDIT_LOGS, ME, VERIFY_AUDIT_LOG, type AuditEntry, type AuditPage, type Verification } from './entries.js';
import { downloadExport, type ExportFormat } from './export.js';
import { FilterBar } from './filter-bar.js';
import { filterFromQuery, queryWithFilter, type AuditFilter } from './filters.js';
import { entryAt, follow } from './live.js';
import { explain } from './messages.js';
import { clearToken, currentToken, saveToken } from './session.js';
import { EntryTable } from './table.js';

const PAGE_SIZE = 50;

const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError('INTERNAL_SERVER_ERROR', error instanceof Error ? error.message : String(error));

function alertBox(title: string, detail: string, ...extra: HTMLElement[]): HTMLElement {
  return h('div', { class: 'alert', role: 'alert' }, h('strong', { class: 'alert-title' }, title), h('p', {}, detail), ...extra);
}

/** URL parameters that open an entry: its id and position (`at`). */
function entryLink(id: string, position: string): string {
  const params = new URLSearchParams(location.search);
  params.set('entry', id);
  params.set('at', position);
  return `${location.pathname}?${params.toString()}`;
}

/**
 * The page: sign-in, or the audit view (filters, table, live feed, verify,
 * export, entry dialog). Every piece of state that is worth sharing is in the
 * URL; the token is only in sessionStorage.
 */
export class AuditApp {
  private readonly api: Api;
  private readonly who = h('span', { class: 'who' });
  private readonly main = h('main', { id: 'main', tabindex: -1 });
  private readonly announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
  private readonly signOut = button('Sign out', () => this.onSignOut(), { class: 'link' });

  private readonly filters = new FilterBar((filter) => this.applyFilter(filter));
  private readonly table = new EntryTable(
    (entry) => this.openEntry(entry),
    () => void this.loadPage(),
  );
  private readonly dialog: EntryDialog;
  private readonly count = h('p', { class: 'count', 'aria-live': 'polite' });
  private readonly status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly problem = h('div', { class: 'problem' });
  private readonly liveToggle = button([h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'Live'], () => this.setLive(!this.live), {
    class: 'live-toggle',
    'aria-pressed': 'false',
    title: 'Stream new entries as they are written',
  });
  private readonly format = h(
    'select',
    { id: 'export-format' },
    h('option', { value: 'ndjson' }, 'NDJSON'),
    h('option', { value: 'csv' }, 'CSV'),
  );

  private filter: AuditFilter = {};
  private cursor: string | null = null;
  private total = 0;
  private loading = false;
  private generation = 0;
  private live = false;
  private stopLive: (() => void) | null = null;

  constructor(
    private readonly root: HTMLElement,
    tenant: string,
  ) {
    this.api = new Api(tenant);
    this.dialog = new EntryDialog(this.api, (entry) => this.onDialogClosed(entry));
    document.title = `Audit log · ${tenant} · tenantry`;
    window.addEventListener('popstate', () => this.onPopState());
  }

  start(): void {
    replaceChildren(
      this.root,
      h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
      h(
        'header',
        { class: 'topbar' },
        h('span', { class: 'brand' }, 'tenantry'),
        h('span', { class: 'crumb' }, 'Tenant ', h('strong', {}, this.api.tenant), ' · Audit log'),
        this.who,
      ),
      this.main,
      this.announcer,
    );
    if (currentToken()) this.showAudit();
    else this.showSignIn();
  }

  // ── sign-in ──────────────────────────────────────────────────────────────

  private showSignIn(problem?: { title: string; detail: string }): void {
    this.setLive(false);
    this.dialog.close();
    replaceChildren(this.who);
    const input = h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
      required: true,
      spellcheck: false,
      'aria-describedby': 'token-help',
    });
    // POST keeps the token out of any URL even if the script never ran.
    const form = h(
      'form',
      { class: 'signin-form', method: 'post', action: '' },
      h('label', { for: 'token' }, 'API token'),
      input,
      h(
        'small',
        { id: 'token-help', class: 'hint' },
        'Kept in this browser tab only (session storage) and sent in the Authorization header, never in a URL.',
      ),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      saveToken(input.value);
      this.showAudit();
    });
    replaceChildren(
      this.main,
      h(
        'section',
        { class: 'signin card', 'aria-labelledby': 'signin-title' },
        h('h1', { id: 'signin-title' }, 'Sign in'),
        h('p', {}, 'Paste an API token to read the audit log of tenant ', h('strong', {}, this.api.tenant), '.'),
        problem ? alertBox(problem.title, problem.detail) : null,
        form,
      ),
    );
    input.focus();
  }

  private onSignOut(): void {
    clearToken();
    this.showSignIn();
    this.announce('Signed out.');
  }

  // ── audit view ───────────────────────────────────────────────────────────

  private showAudit(): void {
    replaceChildren(this.who, h('span', { class: 'who-name' }), this.signOut);
    replaceChildren(
      this.main,
      h('h1', { class: 'page-title' }, 'Audit log'),
      this.filters.element,
      h(
        'div',
        { class: 'toolbar' },
        this.count,
        h(
          'div',
          { class: 'actions' },
          this.liveToggle,
          button('Verify chain', () => void this.verify(), { class: 'verify' }),
          h(
            'span',
            { class: 'export-group' },
            h('label', { for: 'export-format' }, 'Format'),
            this.format,
            button('Export', () => void this.export(), { class: 'export' }),
          ),
        ),
      ),
      this.status,
      this.problem,
      this.table.element,
      this.dialog.element,
    );
    void this.whoAmI();
    this.filter = filterFromQuery(location.search);
    this.filters.show(this.filter);
    void this.reload().then(() => this.openLinkedEntry());
  }

  private async whoAmI(): Promise<void> {
    try {
      const { me } = await this.api.query<{ me: { id: string; type: string; name: string | null } }>(ME);
      const name = this.who.querySelector('.who-name');
      if (name) name.textContent = `Signed in as ${me.name && me.name !== me.id ? `${me.name} (${me.id})` : me.id}`;
    } catch (error) {
      this.fail(asApiError(error));
    }
  }

  private applyFilter(filter: AuditFilter): void {
    const query = queryWithFilter(location.search, filter);
    if (query !== location.search) history.pushState(null, '', `${location.pathname}${query}`);
    this.filter = filter;
    void this.reload();
  }

  private onPopState(): void {
    if (!currentToken()) return;
    this.filter = filterFromQuery(location.search);
    this.filters.show(this.filter);
    void this.reload();
  }

  private async reload(): Promise<void> {
    const wasLive = this.live;
    this.setLive(false, true);
    this.generation += 1;
    this.cursor = null;
    this.total = 0;
    this.loading = false;
    this.table.clear();
    replaceChildren(this.problem);
    replaceChildren(this.count);
    await this.loadPage();
    if (wasLive) this.setLive(true, true);
  }

  private async loadPage(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    const generation = this.generation;
    this.table.setState({ kind: 'loading' });
    try {
      const { auditLogs } = await this.api.query<AuditPage>(AUDIT_LOGS, { filter: this.filter, first: PAGE_SIZE, after: this.cursor });
      if (generation !== this.generation) return;
      this.cursor = auditLogs.pageInfo.endCursor;
      this.total = auditLogs.totalCount;
      this.table.add(
        auditLogs.edges.map((edge) => edge.node),
        'end',
      );
      this.table.setState({ kind: 'ready', hasMore: auditLogs.pageInfo.hasNextPage });
      this.showCount();
    } catch (error) {
      if (generation !== this.generation) return;
      this.table.setState({ kind: 'failed' });
      this.fail(asApiError(error), () => void this.loadPage());
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  private showCount(): void {
    const shown = this.table.size;
    this.count.textContent = `${this.total} ${this.total === 1 ? 'entry' : 'entries'}${shown < this.total ? ` · ${shown} shown` : ''}`;
  }

  /** Explains a failure; an unusable token goes back to the sign-in form. */
  private fail(error: ApiError, retry?: () => void): void {
    const explained = explain(error, this.api.tenant);
    if (explained.signIn) {
      clearToken();
      this.showSignIn(explained);
      return;
    }
    replaceChildren(
      this.problem,
      alertBox(explained.title, explained.detail, ...(retry ? [button('Try again', () => (replaceChildren(this.problem), retry()))] : [])),
    );
  }

  private announce(text: string): void {
    this.announcer.textContent = text;
  }

  // ── live ─────────────────────────────────────────────────────────────────

  /** `quiet`: an internal restart (filter change), not worth announcing. */
  private setLive(on: boolean, quiet = false): void {
    this.stopLive?.();
    this.stopLive = null;
    this.live = on;
    this.liveToggle.setAttribute('aria-pressed', String(on));
    this.liveToggle.classList.toggle('on', on);
    if (on) {
      // An empty table means nothing matched when it loaded: replaying from 0 then yields exactly what arrived since.
      this.stopLive = follow(this.api.graphqlPath, this.filter, this.table.newestPosition() ?? '0', {
        onEntry: (entry) => this.onLiveEntry(entry),
        onError: (error) => {
          this.setLive(false);
          this.fail(error);
        },
      });
    }
    if (!quiet) this.announce(on ? 'Live updates on: new entries appear at the top.' : 'Live updates off.');
  }

  private onLiveEntry(entry: AuditEntry): void {
    if (this.table.has(entry.id)) return;
    this.table.add([entry], 'start', true);
    this.total += 1;
    this.showCount();
    this.announce(`New entry: ${entry.action} ${entry.resourceType} ${entry.resourceId} by ${entry.actor.id}.`);
  }

  // ── verify and export ────────────────────────────────────────────────────

  private async verify(): Promise<void> {
    replaceChildren(
      this.status,
      h('p', { class: 'state' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Verifying the hash chain…'),
    );
    try {
      const { verifyAuditLog: result } = await this.api.query<{ verifyAuditLog: Verification }>(VERIFY_AUDIT_LOG);
      replaceChildren(this.status, result.ok ? this.verifiedOk(result) : this.verifiedBroken(result));
    } catch (error) {
      replaceChildren(this.status);
      const failure = asApiError(error);
      // An auditor of some namespaces may list their entries, but the chain runs through the whole tenant.
      if (failure.code === 'FORBIDDEN') {
        replaceChildren(
          this.problem,
          alertBox(
            'Access denied (FORBIDDEN)',
            'Verifying the chain needs AUDITLOG:LIST on the whole tenant, not only on some namespaces.',
          ),
        );
      } else this.fail(failure);
    }
  }

  private verifiedOk(result: Verification): HTMLElement {
    return h(
      'p',
      { class: 'notice ok verify-result' },
      h('strong', {}, '✓ Chain intact. '),
      `${result.checkedEntries} ${result.checkedEntries === 1 ? 'entry' : 'entries'} checked up to position ${result.verifiedUpTo}, against the event log.`,
    );
  }

  private verifiedBroken(result: Verification): HTMLElement {
    const link =
      result.firstBrokenEntryId && result.firstBrokenPosition
        ? h(
            'a',
            { href: entryLink(result.firstBrokenEntryId, result.firstBrokenPosition), class: 'broken-link' },
            `Open entry at position ${result.firstBrokenPosition}`,
          )
        : null;
    link?.addEventListener('click', (event) => {
      event.preventDefault();
      history.pushState(null, '', link.getAttribute('href'));
      void this.openLinkedEntry();
    });
    return h(
      'div',
      { class: 'notice broken verify-result', role: 'alert' },
      h('strong', {}, '✗ Chain broken. '),
      `${result.reason ?? 'An entry does not match.'}${result.source ? ` (found in the ${result.source === 'eventLog' ? 'event log' : 'read model'})` : ''} `,
      link,
    );
  }

  private async export(): Promise<void> {
    const format = this.format.value as ExportFormat;
    replaceChildren(
      this.status,
      h('p', { class: 'state' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Exporting ${format.toUpperCase()}…`),
    );
    try {
      const saved = await downloadExport(this.api, format, this.filter);
      replaceChildren(this.status, h('p', { class: 'notice ok export-result' }, `Downloaded ${saved.filename} (${saved.size}).`));
    } catch (error) {
      replaceChildren(this.status);
      this.fail(asApiError(error));
    }
  }

  // ── entry dialog ─────────────────────────────────────────────────────────

  private openEntry(entry: AuditEntry): void {
    history.replaceState(null, '', entryLink(entry.id, entry.position));
    this.dialog.open(entry);
  }

  private onDialogClosed(entry: AuditEntry): void {
    const params = new URLSearchParams(location.search);
    params.delete('entry');
    params.delete('at');
    const query = params.toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    this.table.focus(entry.id);
  }

  /** `?entry=…&at=…` opens that entry, from the table or, when it is not loaded, from the feed. */
  private async openLinkedEntry(): Promise<void> {
    const params = new URLSearchParams(location.search);
    const id = params.get('entry');
    const position = params.get('at');
    if (!id || !position || !/^\d+$/.test(position)) return;
    try {
      const entry = await entryAt(this.api.graphqlPath, position);
      if (entry && entry.id === id) this.dialog.open(entry);
      else this.fail(new ApiError('NOT_FOUND', `No entry ${id} at position ${position} in this tenant.`));
    } catch (error) {
      this.fail(asApiError(error));
    }
  }
}
