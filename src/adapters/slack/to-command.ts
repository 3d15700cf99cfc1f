// Slack payloads -> neutral commands: slash-command text escapes and the declare modal.
import type { ViewOutput } from '@slack/bolt';
import type { ParsedCommand, Token } from '../../commands/parse-command.js';
import { mention, stripTokens } from '../../ports/reply.js';
import { SEVERITIES } from '../../domain/severity.js';
import { MAX_TITLE_CODE_POINTS } from '../../domain/incident.js';

export const DECLARE_CALLBACK_ID = 'firelane:declare';

const SEVERITY_HINT: Record<string, string> = {
  sev0: 'Critical: full outage or data loss',
  sev1: 'Major: a core feature is down for many',
  sev2: 'Minor: degraded, workaround exists',
  sev3: 'Low: small impact, no urgency',
};

export function declareModal(channelId: string) {
  return {
    type: 'modal' as const,
    callback_id: DECLARE_CALLBACK_ID,
    private_metadata: channelId,
    title: { type: 'plain_text' as const, text: 'Declare an incident' },
    submit: { type: 'plain_text' as const, text: 'Declare' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'severity',
        label: { type: 'plain_text', text: 'Severity' },
        element: {
          type: 'static_select',
          action_id: 'value',
          initial_option: {
            text: { type: 'plain_text', text: 'SEV1' },
            description: { type: 'plain_text', text: SEVERITY_HINT.sev1 },
            value: 'sev1',
          },
          options: SEVERITIES.map((s) => ({
            text: { type: 'plain_text', text: s.toUpperCase() },
            description: { type: 'plain_text', text: SEVERITY_HINT[s] },
            value: s,
          })),
        },
      },
      {
        type: 'input',
        block_id: 'title',
        label: { type: 'plain_text', text: 'Title' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          max_length: MAX_TITLE_CODE_POINTS,
          placeholder: { type: 'plain_text', text: 'Payment gateway down' },
        },
      },
      {
        type: 'input',
        block_id: 'description',
        optional: true,
        label: { type: 'plain_text', text: 'What is happening?' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 3000 },
      },
    ],
  };
}

const word = (value: string): Token => ({ kind: 'word', value: stripTokens(value), quoted: true });

/** The submitted modal as the parsed form of `/incident <sev> <title> --description=...`. */
export function modalToCommand(view: ViewOutput): { parsed: ParsedCommand; roomId?: string } {
  const values = view.state.values;
  const severity = values.severity?.value?.selected_option?.value ?? '';
  const title = values.title?.value?.value ?? '';
  const description = values.description?.value?.value ?? '';
  return {
    parsed: {
      name: 'incident',
      args: [word(severity), word(title)],
      flags: description.trim() ? { description: stripTokens(description) } : {},
    },
    ...(view.private_metadata && /^[CGD][A-Z0-9]+$/.test(view.private_metadata) && { roomId: view.private_metadata }),
  };
}

/** Slack message markup -> neutral text: mentions stay mentions, links and channels become words. */
export function fromSlackText(text: string): string {
  return stripTokens(text)
    .replace(/<([^<>]*)>/g, (_, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (/^@[A-Z0-9]+$/i.test(target)) return mention(target.slice(1));
      if (target.startsWith('#')) return label ? `#${label}` : target;
      if (target.startsWith('!')) return label ?? `@${target.slice(1).split('^')[0]}`;
      return label && label !== target ? `${label} (${target})` : target;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
