// Text from chat on its way to GitHub (pull request titles and bodies, release notes, deployment
// descriptions): shown as typed, but inert. The one function every text firelane sends to GitHub
// goes through.

/** U+200B ZERO WIDTH SPACE: invisible, and it breaks what GitHub would otherwise act on. */
const ZWSP = '\u200b';

/**
 * GitHub's closing keywords when a reference follows (`Fixes #12`, `closes owner/repo#3`,
 * `resolves: GH-4`, `fixed https://github.com/o/r/issues/5`): a merged pull request would close
 * that issue.
 */
const CLOSING_KEYWORD =
  /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?=:?\s+(?:[\w.-]+\/[\w.-]+#\d|#\d|GH-\d|https?:\/\/))/gi;

/**
 * `text` as GitHub should show it and nothing more: a zero-width space after `@` (no `@user` or
 * `@org/team` mention notifies anyone), after `<` (no HTML tag, comment or autolink can start, in
 * Markdown or anywhere else), after `#` and `GH-` before a number (no issue reference links), and
 * inside a closing keyword followed by a reference (no issue is closed, not even by a URL).
 * Unlike HTML escaping, this reads the same in a Markdown body and in a plain-text title or
 * description. Applying it twice changes nothing more.
 */
export function inertForGitHub(text: string): string {
  return text
    .replace(CLOSING_KEYWORD, (word) => `${word[0]}${ZWSP}${word.slice(1)}`)
    .replace(/<(?=[A-Za-z!/?])/g, `<${ZWSP}`)
    .replace(/@(?=[A-Za-z0-9])/g, `@${ZWSP}`)
    .replace(/#(?=\d)/g, `#${ZWSP}`)
    .replace(/\b(GH-)(?=\d)/gi, `$1${ZWSP}`);
}
