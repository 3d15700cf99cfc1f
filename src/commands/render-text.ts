// Neutral reply -> plain text (CLI output, console fallbacks).
import { toPlainText, type Reply } from './reply.js';

export function renderText(reply: Reply, names?: (id: string) => string): string {
  const plain = (text: string) => toPlainText(text, names);
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
