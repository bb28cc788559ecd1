/**
 * HTML that is safe by construction: every value put into an `html` template is
 * escaped unless it is itself an `Html`, made by another template or by `raw()`.
 * `raw(` is the one exception, and easy to grep for.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Values: Html as is; arrays joined; null, undefined and false as nothing; anything else escaped as text. */
export type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup we made ourselves (an SVG path, a stylesheet link): never text from a request or an item. */
export function raw(markup: string): Html {
  return new Html(markup);
}
