// Text from outside (chat, the console, GitHub, Kubernetes) as firelane keeps it. Every entry point
// passes what it is given through here once, so both databases store the same thing: PostgreSQL
// refuses NUL in text and jsonb, and half a surrogate pair in jsonb, where SQLite keeps them.

/**
 * NUL and the other C0 controls (and DEL): nobody means them in an incident title or a note, and in
 * a terminal (`firelane run`, `audit export`) they are escape sequences. Tab and line feed stay; a
 * carriage return is a line break typed on another system. Half a surrogate pair is U+FFFD, as
 * either database would store it in text.
 */
const UNWANTED =
  // eslint-disable-next-line no-control-regex
  /\r\n?|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const ANY_UNWANTED = /[\u0000-\u0008\u000b-\u001f\u007f\ud800-\udfff]/;

/** `text` without what firelane never stores (above). */
export function cleanText(text: string): string {
  if (!ANY_UNWANTED.test(text)) return text;
  return text.replace(UNWANTED, (found) =>
    found[0] === '\r' ? '\n' : found.length === 1 && found >= '\ud800' ? '\ufffd' : '',
  );
}

/**
 * Every string in a value parsed from JSON (a request body, an API's answer), keys too, cleaned in
 * place; the value itself is returned (a string, cleaned). For values the caller owns: it changes
 * them (frozen ones are left as they are).
 */
export function cleanStrings<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return cleanText(value) as T;
  if (value === null || typeof value !== 'object' || seen.has(value) || Object.isFrozen(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = cleanStrings(value[i], seen);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const inner = cleanStrings(record[key], seen);
    const clean = cleanText(key);
    if (clean !== key) delete record[key];
    if (clean !== key || inner !== record[key]) record[clean] = inner;
  }
  return value;
}

/** The first `max` characters of `text`, counted in code points: never half of an emoji. */
export function cutText(text: string, max: number): string {
  // Most texts are short: each code point is at least one UTF-16 unit.
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}
