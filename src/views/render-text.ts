// Neutral reply -> plain text (CLI output, console fallbacks).
import { toPlainText, type Reply } from '../ports/reply.js';

// The emphasis handlers write in Slack's style (reply.ts): *bold* and `code`. A terminal shows the
// markers as they are, so they go; an asterisk that is not emphasis (2*3, web-*, Markdown's **) stays.
const BOLD = /(^|[\s(["'“])\*(?=[^\s*])([^*\n]{1,200}?)(?<=[^\s*])\*(?=$|[\s.,;:!?)\]"'”])/gm;
const CODE = /`([^`\n]{1,200})`/g;

export function renderText(reply: Reply, names?: (id: string) => string): string {
  const plain = reply.markdown
    ? (text: string) => toPlainText(text, names)
    : (text: string) => toPlainText(text, names).replace(BOLD, '$1$2').replace(CODE, '$1');
  const lines = reply.text ? [plain(reply.text)] : [];
  const card = reply.card;
  if (card) {
    lines.push('', `== ${plain(card.title)} ==`);
    if (card.text) lines.push(plain(card.text));
    for (const field of card.fields) lines.push(`${field.label}: ${plain(field.value)}`);
    if (card.buttons?.length) lines.push(card.buttons.map((b) => `[${b.label}: ${b.command}]`).join(' '));
    if (card.footer) lines.push(plain(card.footer));
  }
  return lines.join('\n');
}
