import { button, h, replaceChildren, timeElement } from './dom.js';
import type { AuditEntry } from './entries.js';

const COLUMNS = ['Time', 'Actor', 'Action', 'Resource', 'Namespace'] as const;
/** How long a live entry stays highlighted. */
const HIGHLIGHT_MS = 30_000;

export type TableState = { kind: 'loading' } | { kind: 'ready'; hasMore: boolean } | { kind: 'failed' };

export function actionBadge(action: string): HTMLElement {
  return h('span', { class: `badge action-${action.toLowerCase()}` }, action);
}

function cells(entry: AuditEntry): HTMLTableCellElement[] {
  return [
    h('td', { 'data-label': 'Time' }, timeElement(entry.occurredAt)),
    h(
      'td',
      { 'data-label': 'Actor' },
      h('span', { class: 'actor' }, entry.actor.id),
      h('span', { class: 'muted' }, ` ${entry.actor.type.toLowerCase()}`),
    ),
    h('td', { 'data-label': 'Action' }, actionBadge(entry.action)),
    h(
      'td',
      { 'data-label': 'Resource' },
      h('span', { class: 'type' }, entry.resourceType),
      ' ',
      h('span', { class: 'mono' }, entry.resourceId),
    ),
    h(
      'td',
      { 'data-label': 'Namespace' },
      entry.namespace ? h('span', { class: 'mono' }, entry.namespace) : h('span', { class: 'muted' }, '—'),
    ),
  ];
}

/**
 * The entries, newest first. Rows are one tab stop (roving tabindex): arrows
 * move between rows, Enter or Space opens one. More entries load when the end
 * of the table scrolls into view, or with the "Load more" button.
 */
export class EntryTable {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly body = h('tbody');
  private readonly footer = h('div', { class: 'table-footer' });
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly entries = new Map<string, AuditEntry>();
  private state: TableState = { kind: 'loading' };

  constructor(
    private readonly onOpen: (entry: AuditEntry) => void,
    private readonly onNeedMore: () => void,
  ) {
    this.table = h(
      'table',
      { class: 'entries', 'aria-describedby': 'entries-help' },
      h('caption', { class: 'sr-only' }, 'Audit entries, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          COLUMNS.map((name) => h('th', { scope: 'col' }, name)),
        ),
      ),
      this.body,
    );
    this.body.addEventListener('keydown', (event) => this.onKey(event));
    const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
    new IntersectionObserver(
      (seen) => {
        if (seen.some((s) => s.isIntersecting) && this.state.kind === 'ready' && this.state.hasMore) this.onNeedMore();
      },
      { rootMargin: '200px' },
    ).observe(sentinel);
    this.element = h(
      'div',
      { class: 'table-wrap' },
      h('p', { id: 'entries-help', class: 'sr-only' }, 'Use the arrow keys to move between rows and Enter to open an entry’s changes.'),
      this.table,
      this.footer,
      sentinel,
    );
    this.setState(this.state);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The position of the newest entry shown (live updates continue after it). */
  newestPosition(): string | null {
    let newest: string | null = null;
    for (const entry of this.entries.values()) if (newest === null || BigInt(entry.position) > BigInt(newest)) newest = entry.position;
    return newest;
  }

  clear(): void {
    this.rows.clear();
    this.entries.clear();
    this.body.replaceChildren();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  add(entries: AuditEntry[], where: 'end' | 'start', highlight = false): void {
    const fresh = entries.filter((entry) => !this.entries.has(entry.id));
    const created = fresh.map((entry) => this.row(entry, highlight));
    if (where === 'end') this.body.append(...created);
    else this.body.prepend(...created.reverse());
    this.updateTabStop();
    this.setState(this.state);
  }

  setState(state: TableState): void {
    this.state = state;
    this.table.setAttribute('aria-busy', String(state.kind === 'loading'));
    const empty = this.entries.size === 0;
    // A failure is explained above the table; an empty table under it would only add noise.
    this.element.hidden = state.kind === 'failed' && empty;
    replaceChildren(
      this.footer,
      state.kind === 'loading'
        ? h('p', { class: 'state' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), empty ? 'Loading entries…' : 'Loading more…')
        : null,
      state.kind === 'ready' && empty ? h('p', { class: 'state' }, 'No entries match these filters.') : null,
      state.kind === 'ready' && state.hasMore ? button('Load more', () => this.onNeedMore(), { class: 'load-more' }) : null,
      state.kind === 'ready' && !state.hasMore && !empty ? h('p', { class: 'state muted' }, 'End of the log for these filters.') : null,
    );
  }

  focus(id: string): void {
    this.rows.get(id)?.focus();
  }

  private row(entry: AuditEntry, highlight: boolean): HTMLTableRowElement {
    const row = h(
      'tr',
      { tabindex: -1, 'data-id': entry.id, 'data-position': entry.position, class: highlight ? 'is-new' : false },
      cells(entry),
    );
    if (highlight) {
      row.cells[0]?.append(h('span', { class: 'new-badge' }, 'New'));
      setTimeout(() => {
        row.classList.remove('is-new');
        row.querySelector('.new-badge')?.remove();
      }, HIGHLIGHT_MS);
    }
    row.addEventListener('click', () => this.open(row, entry));
    this.rows.set(entry.id, row);
    this.entries.set(entry.id, entry);
    return row;
  }

  private open(row: HTMLTableRowElement, entry: AuditEntry): void {
    this.moveTabStop(row);
    this.onOpen(entry);
  }

  private onKey(event: KeyboardEvent): void {
    const row = (event.target as HTMLElement).closest('tr');
    if (!row || !this.body.contains(row)) return;
    const all = [...this.body.rows];
    const index = all.indexOf(row);
    const moves: Record<string, HTMLTableRowElement | undefined> = {
      ArrowDown: all[index + 1],
      ArrowUp: all[index - 1],
      Home: all[0],
      End: all.at(-1),
    };
    const target = moves[event.key];
    if (target) {
      event.preventDefault();
      this.moveTabStop(target);
      target.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      const entry = this.entries.get(row.dataset['id'] ?? '');
      if (entry) this.open(row, entry);
    }
  }

  private moveTabStop(row: HTMLTableRowElement): void {
    for (const other of this.body.rows) other.tabIndex = other === row ? 0 : -1;
  }

  /** Exactly one row is reachable with Tab: the last one used, else the first. */
  private updateTabStop(): void {
    const rows = [...this.body.rows];
    if (!rows.some((row) => row.tabIndex === 0) && rows[0]) rows[0].tabIndex = 0;
  }
}
