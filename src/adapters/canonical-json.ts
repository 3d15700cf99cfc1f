// JSON that is the same text for the same value whatever the order of its objects' keys: what was
// read back from a PostgreSQL jsonb column (which keeps no key order) compares equal to what was written.

/** Every key of an object and of the objects inside it. */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      out.add(key);
      keysOf(inner, out);
    }
  }
  return out;
}

/** `value` as JSON with the keys of every object in sorted order. */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, [...keysOf(value)].sort());
}
