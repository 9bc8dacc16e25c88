/**
 * Per-client response shaping: a view picks fields out of an endpoint's full result and renames
 * them, so a mobile client gets a small payload from the same endpoint as the desktop app.
 *
 *   mobile: {
 *     name: 'profile.displayName',                                  // copy a value (dotted path)
 *     recent: { from: 'orders', limit: 3, fields: { id: 'id', total: 'total' } },  // map a list
 *   }
 */
import { valueAt } from '../security/authorization.js';

/** A dotted path into the result, or a nested shape applied to the object (or to each item of the list) found there. */
export type Selector = string | { readonly from: string; readonly fields?: View; readonly limit?: number };

/** Output field name -> where its value comes from. Fields whose source is missing are left out. */
export interface View {
  readonly [field: string]: Selector;
}

export function applyView(view: View, source: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!source || typeof source !== 'object') return out;
  for (const [field, selector] of Object.entries(view)) {
    const value = select(selector, source as Record<string, unknown>);
    if (value !== undefined) out[field] = value;
  }
  return out;
}

function select(selector: Selector, source: Readonly<Record<string, unknown>>): unknown {
  if (typeof selector === 'string') return valueAt(source, selector);
  const value = valueAt(source, selector.from);
  const { fields, limit } = selector;
  if (Array.isArray(value)) {
    const items = limit === undefined ? value : value.slice(0, limit);
    return fields ? items.map((item: unknown) => applyView(fields, item)) : items;
  }
  return fields && value && typeof value === 'object' ? applyView(fields, value) : value;
}
