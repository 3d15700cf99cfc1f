// Durations as written in config and commands: `90s`, `15m`, `2h`, `1d`, or combined `1h30m` (`1h 30m`).
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when the text is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  // Spaces may separate the parts (`1h 30m`, as formatDuration writes it), never split a number.
  if (!/^\s*\d+\s*[smhd](\s*\d+\s*[smhd])*\s*$/i.test(text)) return undefined;
  const trimmed = text.replace(/\s+/g, '').toLowerCase();
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhd])/g)) {
    total += Number(amount) * UNIT_MS[unit as string]!;
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** Short human form: 45s, 15m, 1h 20m, 2d 3h. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours}h ${minutes % 60}m` : `${hours}h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days}d ${hours % 24}h` : `${days}d`;
}
