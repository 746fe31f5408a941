/**
 * A tiny element builder. Everything the page shows from the server goes in
 * as text nodes (never innerHTML), so entry contents cannot inject markup.
 */
export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A button with a click handler; `type="button"` so it never submits a surrounding form. */
export function button(
  label: Child | Child[],
  onClick: (event: MouseEvent) => void,
  attrs: Record<string, AttrValue> = {},
): HTMLButtonElement {
  const element = h('button', { type: 'button', ...attrs }, ...[label].flat());
  element.addEventListener('click', onClick);
  return element;
}

/** Local, readable time; the full ISO instant stays in `datetime` and the tooltip. */
export function timeElement(iso: string): HTMLTimeElement {
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
  return h('time', { datetime: iso, title: iso }, text);
}

/** Pretty JSON for a value from an entry (`undefined` = the field did not exist). */
export function jsonText(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, null, 2);
}
