/**
 * The source text of each top-level field of a JSON object, and of each element
 * of its array fields, found in text that JSON.parse has already accepted.
 *
 * Items must come back exactly as the app sent them, and JSON.parse followed by
 * JSON.stringify does not promise that: 9223372036854775807 becomes
 * 9223372036854776000, 1e400 becomes null, -0 becomes 0. Storing each item's own
 * text keeps every number, and costs about what re-serialising would.
 *
 * The scan is iterative (no depth limit) and only looks for the structural
 * characters `"`, `[`, `]`, `{`, `}`: in valid JSON nothing else can open or
 * close a value that matters here.
 */
export interface SourceText {
  /** Every top-level field's value, as text; the last one wins for a repeated key, as in JSON.parse. */
  readonly values: ReadonlyMap<string, string>;
  /** The elements of every top-level array, as text. */
  readonly elements: ReadonlyMap<string, readonly string[]>;
}

const STRUCTURAL = /["[\]{}]/g;
const VALUE_END = /[,}\]\s]/g;
const NOT_WHITESPACE = /\S/g;

/** Undefined when the text is not an object (the caller has already refused it then). */
export function scanTopLevel(text: string): SourceText | undefined {
  const values = new Map<string, string>();
  const elements = new Map<string, string[]>();
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipWhitespace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = stringEnd(text, i);
    const rawKey = text.slice(i + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : rawKey;
    i = skipWhitespace(text, keyEnd);
    i = skipWhitespace(text, i + 1); // past ':'
    const valueStart = i;
    if (text[i] === '[') {
      const items: string[] = [];
      i = skipWhitespace(text, i + 1);
      while (text[i] !== ']') {
        const start = i;
        i = valueEnd(text, i);
        items.push(text.slice(start, i));
        i = skipWhitespace(text, i);
        if (text[i] === ',') i = skipWhitespace(text, i + 1);
      }
      i += 1;
      elements.set(key, items);
    } else {
      i = valueEnd(text, i);
      elements.delete(key);
    }
    values.set(key, text.slice(valueStart, i));
    i = skipWhitespace(text, i);
    if (text[i] === ',') i = skipWhitespace(text, i + 1);
  }
  return { values, elements };
}

/** The index just past the value starting at `start`. */
function valueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return stringEnd(text, start);
  if (first !== '{' && first !== '[') {
    VALUE_END.lastIndex = start;
    return VALUE_END.exec(text)?.index ?? text.length;
  }
  let depth = 0;
  STRUCTURAL.lastIndex = start;
  for (;;) {
    const match = STRUCTURAL.exec(text);
    if (!match) return text.length;
    const c = match[0];
    if (c === '"') {
      STRUCTURAL.lastIndex = stringEnd(text, match.index);
    } else if (c === '{' || c === '[') {
      depth += 1;
    } else if (--depth === 0) {
      return match.index + 1;
    }
  }
}

/** The index just past the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 92) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

function skipWhitespace(text: string, start: number): number {
  NOT_WHITESPACE.lastIndex = start;
  return NOT_WHITESPACE.exec(text)?.index ?? text.length;
}
