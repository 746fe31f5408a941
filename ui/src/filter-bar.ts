import { button, h } from './dom.js';
import { ACTIONS, RESOURCE_TYPES } from './entries.js';
import { isoToLocalInput, localInputToIso, type AuditFilter, type FilterKey } from './filters.js';

type TextKey = Exclude<FilterKey, 'resourceType' | 'action' | 'from' | 'to'>;

function field(id: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null,
  );
}

function select(id: string, anyLabel: string, values: string[]): HTMLSelectElement {
  return h(
    'select',
    { id, name: id },
    h('option', { value: '' }, anyLabel),
    values.map((value) => h('option', { value }, value)),
  );
}

/** Makes sure a value from the URL is selectable even when the bar does not know it. */
function choose(control: HTMLSelectElement, value: string | undefined): void {
  if (value && ![...control.options].some((option) => option.value === value)) control.append(h('option', { value }, value));
  control.value = value ?? '';
}

/**
 * The filter form. Text fields apply on Enter or "Apply"; lists and dates
 * apply as soon as they change, which is what people expect of them.
 */
export class FilterBar {
  readonly element: HTMLDetailsElement;
  private readonly form: HTMLFormElement;
  private readonly summary = h('span', { class: 'filter-summary' });
  private readonly text: Record<TextKey, HTMLInputElement>;
  private readonly resourceType = select('f-resourceType', 'Any type', RESOURCE_TYPES);
  private readonly action = select('f-action', 'Any action', ACTIONS);
  private readonly from = h('input', { id: 'f-from', name: 'from', type: 'datetime-local', step: 1 });
  private readonly to = h('input', { id: 'f-to', name: 'to', type: 'datetime-local', step: 1 });
  /** The instants last shown: the inputs hold whole seconds, a shared link may hold milliseconds. */
  private shown: AuditFilter = {};

  constructor(private readonly onApply: (filter: AuditFilter) => void) {
    const input = (id: string, placeholder: string): HTMLInputElement =>
      h('input', { id: `f-${id}`, name: id, type: 'search', placeholder, autocomplete: 'off', spellcheck: false });
    this.text = {
      namespace: input('namespace', 'company.team'),
      resourceId: input('resourceId', 'e.g. company.team.hello'),
      actorId: input('actorId', 'user or service account'),
    };
    this.form = h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter audit entries' },
      field('f-namespace', 'Namespace', this.text.namespace, 'Includes sub-namespaces'),
      field('f-resourceType', 'Resource type', this.resourceType),
      field('f-resourceId', 'Resource id', this.text.resourceId),
      field('f-actorId', 'Actor', this.text.actorId),
      field('f-action', 'Action', this.action),
      field('f-from', 'From', this.from, 'Local time, inclusive'),
      field('f-to', 'To', this.to, 'Local time, exclusive'),
      h(
        'div',
        { class: 'filter-buttons' },
        h('button', { type: 'submit', class: 'primary' }, 'Apply'),
        button('Clear', () => this.clear()),
      ),
    );
    // On a phone the filters fold away behind their summary, which says how many are active.
    this.element = h(
      'details',
      { class: 'filter-panel', open: !matchMedia('(max-width: 720px)').matches },
      h('summary', {}, 'Filters', this.summary),
      this.form,
    );
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.onApply(this.read());
    });
    for (const control of [this.resourceType, this.action, this.from, this.to]) {
      control.addEventListener('change', () => this.onApply(this.read()));
    }
  }

  show(filter: AuditFilter): void {
    for (const [key, control] of Object.entries(this.text) as [TextKey, HTMLInputElement][]) control.value = filter[key] ?? '';
    choose(this.resourceType, filter.resourceType);
    choose(this.action, filter.action);
    this.from.value = isoToLocalInput(filter.from);
    this.to.value = isoToLocalInput(filter.to);
    this.shown = filter;
    const active = Object.values(filter).filter(Boolean).length;
    this.summary.textContent = active === 0 ? ' · none' : ` · ${active} active`;
  }

  read(): AuditFilter {
    const filter: AuditFilter = {};
    for (const [key, control] of Object.entries(this.text) as [TextKey, HTMLInputElement][]) {
      const value = control.value.trim();
      if (value) filter[key] = value;
    }
    if (this.resourceType.value) filter.resourceType = this.resourceType.value;
    if (this.action.value) filter.action = this.action.value;
    const from = this.instant('from', this.from);
    const to = this.instant('to', this.to);
    if (from) filter.from = from;
    if (to) filter.to = to;
    return filter;
  }

  private instant(key: 'from' | 'to', control: HTMLInputElement): string | undefined {
    const shown = this.shown[key];
    return shown && isoToLocalInput(shown) === control.value ? shown : localInputToIso(control.value);
  }

  private clear(): void {
    this.show({});
    this.onApply({});
  }
}
