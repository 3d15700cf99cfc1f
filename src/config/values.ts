// Value checks and message formatting shared by file and env validation, so both describe a bad
// value the same way and neither leaks a credential.

/** How a value is shown in a message: strings quoted (and shortened), others as YAML would. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** An environment under a service (the --env flag's value). */
export const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const CHANNEL_PREFIX = /^[a-z0-9][a-z0-9-_]{0,19}$/;
export const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

export function isK8sLabel(text: string, pattern: RegExp = DNS1123_LABEL): boolean {
  return text.length <= 63 && pattern.test(text);
}

/** A git branch name as `git check-ref-format --branch` would roughly accept it. */
export function isBranchName(text: string): boolean {
  if (text.length === 0 || text.length > 250) return false;
  if (/[\s~^:?*[\\\x00-\x1f\x7f]/.test(text)) return false;
  if (text.startsWith('-') || text.startsWith('/') || text.endsWith('/') || text.endsWith('.')) return false;
  if (text.includes('..') || text.includes('//') || text.includes('@{') || text === '@') return false;
  return text.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

export type ImageProblem = 'tag' | 'digest' | 'malformed';

/** An image reference without tag or digest, e.g. ghcr.io/acme/payments or localhost:5000/app. */
export function imageProblem(text: string): ImageProblem | undefined {
  if (text.length === 0 || text.length > 255 || /\s/.test(text)) return 'malformed';
  if (text.includes('@')) return 'digest';
  const parts = text.split('/');
  if (parts.some((part) => part.length === 0)) return 'malformed';
  const last = parts[parts.length - 1]!;
  if (last.includes(':')) return 'tag';
  // Only the registry host (first part, when followed by more) may carry a :port.
  const [first, ...rest] = parts;
  if (rest.length > 0 && first!.includes(':') && !/^[A-Za-z0-9.-]+:\d+$/.test(first!)) return 'malformed';
  for (const part of rest.slice(0, -1)) if (part.includes(':')) return 'malformed';
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(last)) return 'malformed';
  return undefined;
}

/** The URL (without user info, so no credential leaks into a message), or undefined. */
export function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A URL shown in a message, with any user:password replaced. */
export function showUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
      return show(url.toString());
    }
  } catch {
    // not a URL; user info cannot be told apart, so hide anything before an '@'
    if (text.includes('@')) return show(`***@${text.slice(text.lastIndexOf('@') + 1)}`);
  }
  return show(text);
}
