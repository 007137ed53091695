/** Small DOM helpers: elements are built with text content only, never from HTML strings (file names are data). */

type Attrs = Record<string, string | number | boolean | undefined>;

/** `<tag attrs>children</tag>`; string children become text nodes; false/undefined attributes are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** Replaces the children of `parent`. */
export function setChildren(parent: Element, ...children: (Node | string)[]): void {
  parent.replaceChildren(...children);
}
