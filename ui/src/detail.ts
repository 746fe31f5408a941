import type { Api } from './api.js';
import { ApiError } from './api.js';
import { changeRows } from './changes.js';
import { button, h, jsonText, replaceChildren, timeElement, type Child } from './dom.js';
import type { AuditEntry } from './entries.js';
import { explain } from './messages.js';
import { actionBadge } from './table.js';
import { asOfInstant, canTimeTravel, resourceLabel, timeTravel, type Snapshot } from './time-travel.js';

const value = (v: unknown): HTMLElement => h('pre', { class: v === undefined ? 'value absent' : 'value' }, jsonText(v));

function changesTable(entry: AuditEntry): HTMLElement {
  const rows = changeRows(entry.changes);
  if (rows.length === 0) return h('p', { class: 'muted' }, 'This entry records no field changes.');
  return h(
    'table',
    { class: 'diff' },
    h('caption', { class: 'sr-only' }, 'Changed fields, before and after'),
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After')),
    ),
    h(
      'tbody',
      {},
      rows.map((row) =>
        h(
          'tr',
          { class: `diff-${row.kind}` },
          h('th', { scope: 'row' }, row.field, h('span', { class: 'sr-only' }, ` (${row.kind})`)),
          h('td', { class: 'before', 'data-label': 'Before' }, value(row.before)),
          h('td', { class: 'after', 'data-label': 'After' }, value(row.after)),
        ),
      ),
    ),
  );
}

function facts(entry: AuditEntry): HTMLElement {
  const item = (term: string, description: Child): HTMLElement[] => [h('dt', {}, term), h('dd', {}, description)];
  const mono = (text: string | null): Child => (text ? h('span', { class: 'mono' }, text) : h('span', { class: 'muted' }, '—'));
  return h(
    'dl',
    { class: 'facts' },
    item('Time', timeElement(entry.occurredAt)),
    item('Actor', `${entry.actor.id} (${entry.actor.type.toLowerCase()})`),
    item('Namespace', mono(entry.namespace)),
    item('Event', mono(entry.eventType)),
    item('Position', mono(entry.position)),
    item('Correlation id', mono(entry.correlationId)),
    item('IP', mono(entry.ip)),
    item('User agent', mono(entry.userAgent)),
    item('Hash', mono(entry.hash)),
    item('Previous hash', mono(entry.previousHash)),
  );
}

function snapshotList(snapshot: Snapshot, other: Snapshot, emptyText: string): HTMLElement {
  if (!snapshot) return h('p', { class: 'muted' }, emptyText);
  return h(
    'dl',
    { class: 'snapshot' },
    Object.entries(snapshot).flatMap(([key, v]) => {
      const differs = other !== null && JSON.stringify(other[key]) !== JSON.stringify(v);
      return [
        h('dt', {}, key, differs ? h('span', { class: 'differs' }, ' (differs)') : null),
        h('dd', {}, h('pre', { class: 'value' }, key === 'source' && typeof v === 'string' ? v : jsonText(v))),
      ];
    }),
  );
}

/**
 * An entry in a modal dialog: its facts, its changes side by side, and the
 * resource as it was at that moment. The dialog traps focus and closes with
 * Escape; focus then returns to the row it came from.
 */
export class EntryDialog {
  readonly element: HTMLDialogElement;
  private readonly content = h('div', { class: 'dialog-content' });
  private current: AuditEntry | null = null;

  constructor(
    private readonly api: Api,
    private readonly onClosed: (entry: AuditEntry) => void,
  ) {
    this.element = h('dialog', { class: 'entry-dialog', 'aria-labelledby': 'entry-title' }, this.content);
    this.element.addEventListener('close', () => {
      if (this.current) this.onClosed(this.current);
      this.current = null;
    });
    // A click on the backdrop (outside the content box) closes, as people expect of a modal.
    this.element.addEventListener('click', (event) => {
      if (event.target === this.element) this.element.close();
    });
  }

  get openEntry(): AuditEntry | null {
    return this.current;
  }

  open(entry: AuditEntry): void {
    this.current = entry;
    replaceChildren(
      this.content,
      h(
        'header',
        { class: 'dialog-header' },
        h(
          'h2',
          { id: 'entry-title' },
          actionBadge(entry.action),
          ' ',
          h('span', { class: 'type' }, entry.resourceType),
          ' ',
          h('span', { class: 'mono' }, entry.resourceId),
        ),
        button('Close', () => this.element.close(), { class: 'close', 'aria-label': 'Close entry details' }),
      ),
      h('section', { 'aria-labelledby': 'changes-title' }, h('h3', { id: 'changes-title' }, 'Changes'), changesTable(entry)),
      h('section', { 'aria-labelledby': 'facts-title' }, h('h3', { id: 'facts-title' }, 'Entry'), facts(entry)),
      canTimeTravel(entry) ? this.timeTravelSection(entry) : null,
    );
    if (!this.element.open) this.element.showModal();
    this.element.querySelector<HTMLButtonElement>('button.close')?.focus();
  }

  close(): void {
    if (this.element.open) this.element.close();
  }

  private timeTravelSection(entry: AuditEntry): HTMLElement {
    const label = resourceLabel(entry);
    const instant = asOfInstant(entry);
    const result = h('div', { class: 'as-of-result', 'aria-live': 'polite' });
    const show = button(`Show this ${label} as of this entry`, () => void this.showAsOf(entry, result, show), { class: 'as-of' });
    return h(
      'section',
      { 'aria-labelledby': 'as-of-title' },
      h('h3', { id: 'as-of-title' }, 'As of'),
      h('p', { class: 'muted' }, `The ${label} ${instant.description}, next to how it is now.`),
      show,
      result,
    );
  }

  private async showAsOf(entry: AuditEntry, result: HTMLElement, trigger: HTMLButtonElement): Promise<void> {
    trigger.disabled = true;
    replaceChildren(result, h('p', { class: 'state' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Replaying the history…'));
    try {
      const travelled = await timeTravel(this.api, entry);
      if (this.current !== entry || !travelled) return;
      const label = resourceLabel(entry);
      replaceChildren(
        result,
        h(
          'div',
          { class: 'side-by-side' },
          h(
            'section',
            { class: 'as-of-then', 'aria-label': `The ${label} as of the entry` },
            h('h4', {}, 'As of ', timeElement(asOfInstant(entry).iso)),
            snapshotList(travelled.then, travelled.now, `The ${label} did not exist then.`),
          ),
          h(
            'section',
            { class: 'as-of-now', 'aria-label': `The ${label} now` },
            h('h4', {}, 'Now'),
            snapshotList(travelled.now, travelled.then, `The ${label} does not exist now, or you cannot see it.`),
          ),
        ),
      );
      result.scrollIntoView({ block: 'nearest' });
    } catch (error) {
      const explained = explain(error instanceof ApiError ? error : new ApiError('INTERNAL_SERVER_ERROR', String(error)), this.api.tenant);
      replaceChildren(result, h('div', { class: 'alert', role: 'alert' }, h('strong', {}, explained.title), ' ', explained.detail));
    } finally {
      trigger.disabled = false;
    }
  }
}
