// One entry point for every platform: text (or pre-parsed input) in, neutral reply out.
import type { Logger } from 'pino';
import { incidentKey } from '../domain/incident.js';
import { FirelaneError } from '../errors.js';
import type { CommandInput } from './command.js';
import { DuplicateRequest, type CommandDeps, type HandlerContext } from './context.js';
import { parseCommand, tokenText, type ParsedCommand } from './parse-command.js';
import { privateReply, type Reply } from '../ports/reply.js';
import type { Store } from '../ports/store.js';

export interface Subcommand {
  /** For a fallback subcommand: its name in messages and metrics (`declare`, `request`). */
  name?: string;
  run(ctx: HandlerContext): Reply | Promise<Reply>;
  usage: string;
  /** Flags this subcommand takes; any other is refused. */
  flags: readonly string[];
  /**
   * Only reads (list, show, help): no receipt is looked up, so a retried delivery simply reads again
   * (the lookup was 29 µs of the 0.65 ms a loaded process spends per `/incident list`), and ctx.write is refused.
   */
  readOnly?: true;
}

/** A family's `help` subcommand, also its answer to an empty command: the help text, privately; it only reads. */
export function helpSubcommand(help: () => string, usage: string): Subcommand {
  return { name: 'help', run: () => privateReply(help()), usage, flags: [], readOnly: true };
}

export interface CommandFamily {
  name: string;
  help(): string;
  subcommands: Record<string, Subcommand>;
  /** For a first word that is not a subcommand name (e.g. a severity for declare). */
  fallback?(first: string | undefined): Subcommand | undefined;
}

export type Outcome = 'ok' | 'invalid' | 'refused' | 'duplicate' | 'error';

export interface RouterResult {
  reply: Reply;
  /**
   * `incident update`, for metrics and logs: always a known family and subcommand name (a family's
   * own key, or the code-given `name` of its fallback), or `unknown` in place of anything typed that
   * is none of them, so user text never becomes a metric label.
   */
  command: string;
  outcome: Outcome;
}

export interface Router {
  handle(input: CommandInput & { parsed?: ParsedCommand }): Promise<RouterResult>;
  /** Command names this router knows (`incident`, ...). */
  readonly names: string[];
}

const usageText = (message: string, usage?: string) => (usage ? `${message}\nUsage: \`${usage}\`` : message);

/** The command label of anything that is not a known command or subcommand. */
export const UNKNOWN_COMMAND = 'unknown';

/** A subcommand by name; only the family's own entries (not `constructor` and friends). */
const lookup = (family: CommandFamily, word: string | undefined): Subcommand | undefined =>
  word !== undefined && Object.hasOwn(family.subcommands, word) ? family.subcommands[word] : undefined;

export function createRouter(deps: CommandDeps, families: CommandFamily[], logger: Logger): Router {
  const byName = new Map(families.map((f) => [f.name, f]));
  const known = families.map((f) => `/${f.name}`).join(', ');

  async function handle(input: CommandInput & { parsed?: ParsedCommand }): Promise<RouterResult> {
    const parsed = input.parsed
      ? { ok: true as const, command: input.parsed }
      : parseCommand(input.text, { slackEntities: input.textFormat === 'slack' });
    const [, typedName = '', typedFirst] = /^\s*\/?(\w+)(?:\s+(\S+))?/.exec(input.text) ?? [];
    const familyName = parsed.ok ? parsed.command.name : typedName.toLowerCase();
    const family = byName.get(familyName);
    if (!parsed.ok) {
      // Show the form of what the user was trying to do, read from the words before the problem.
      const guess = family && (lookup(family, typedFirst?.toLowerCase()) ?? family.fallback?.(typedFirst));
      const usage = guess?.usage ?? (family ? `/${family.name} help` : undefined);
      return {
        reply: privateReply(usageText(`Could not read that command: ${parsed.error}.`, usage)),
        command: family?.name ?? UNKNOWN_COMMAND,
        outcome: 'invalid',
      };
    }
    if (!family) {
      return {
        reply: privateReply(
          `Unknown command ${parsed.command.name ? `/${parsed.command.name}` : '(empty)'}. firelane knows ${known}.`,
        ),
        command: UNKNOWN_COMMAND,
        outcome: 'invalid',
      };
    }
    const [first, ...rest] = parsed.command.args;
    const word = first?.kind === 'word' ? first.value.toLowerCase() : undefined;
    const named = lookup(family, word);
    const sub = named ?? family.fallback?.(first && tokenText(first));
    const command = `${family.name} ${named ? word : (sub?.name ?? (first ? UNKNOWN_COMMAND : ''))}`.trim();
    if (!sub) {
      const what = first ? `"${tokenText(first)}"` : 'nothing';
      return {
        reply: privateReply(`Unknown /${family.name} subcommand ${what}.\n${family.help()}`),
        command,
        outcome: 'invalid',
      };
    }
    const badFlag = Object.keys(parsed.command.flags).find((f) => !sub.flags.includes(f));
    if (badFlag) {
      const accepted = sub.flags.length ? `it takes ${sub.flags.map((f) => `--${f}`).join(', ')}` : 'it takes no flags';
      return {
        reply: privateReply(usageText(`--${badFlag} is not an option of ${command}; ${accepted}.`, sub.usage)),
        command,
        outcome: 'invalid',
      };
    }

    // A request handled before is found when its handler writes: the key's claim fails and the write
    // throws DuplicateRequest, so nothing is written twice. No look before (a round trip on every
    // command): handlers touch nothing but the store before they write. A handler that refuses or
    // writes nothing is answered with the first reply when there is one.
    const key = sub.readOnly ? undefined : input.idempotencyKey;
    const duplicate = async (): Promise<RouterResult | undefined> => {
      if (!key) return undefined;
      try {
        const earlier = (await deps.store.receipts.reply(key)) as Reply | null | undefined;
        if (earlier === undefined) return undefined; // never claimed: not a repeat
        // Claimed, and its reply not kept yet (it is kept just after the first answer): wait for it.
        const reply = earlier ?? (await firstReply(deps.store, key));
        return {
          reply: reply ?? privateReply('That request is already being handled.'),
          command,
          outcome: 'duplicate',
        };
      } catch (err) {
        // Not known to be a repeat: the run's own answer stands.
        log().error({ err }, 'could not look up an earlier delivery');
        return undefined;
      }
    };
    let claimed = false;
    // One child logger per command: what, where, who, and (once known) which incident. Made when
    // first used: most reads log nothing (a pino child per /incident list was 1% of a busy process).
    let incident: string | undefined;
    let commandLog: Logger | undefined;
    const log = () =>
      (commandLog ??= logger.child({
        platform: input.platform,
        command,
        user: input.actor.id,
        ...(incident && { incident }),
      }));
    let wrote = false;
    const ctx: HandlerContext = {
      input,
      args: named ? rest : parsed.command.args,
      flags: parsed.command.flags,
      deps,
      get log() {
        return log();
      },
      concerns(incidentId) {
        if (incidentId === null || incident !== undefined) return;
        incident = incidentKey(incidentId);
        commandLog?.setBindings({ incident });
      },
      async write(fn) {
        // The transaction may run again (PostgreSQL retries a deadlock or serialization failure), and
        // a write may nest in another: the claim counts once made in this transaction, and is undone
        // with it.
        const claimedBefore = claimed;
        try {
          const result = await deps.store.transaction(async () => {
            claimed = claimedBefore;
            if (sub.readOnly) throw new Error(`${command} is marked read-only but wrote`);
            if (key && !claimed) {
              if (!(await deps.store.receipts.claim(key))) throw new DuplicateRequest(key);
              claimed = true;
            }
            return await fn();
          });
          wrote = true;
          return result;
        } catch (error) {
          claimed = claimedBefore;
          throw error;
        }
      },
    };
    const settled = await Promise.resolve()
      .then(() => sub.run(ctx))
      .then(
        (reply) => ({ reply }),
        (error: unknown) => ({ error }),
      );
    // A run that claimed nothing (it wrote nothing, or refused before writing) may be a repeat of a
    // request handled before: answered with the first reply. One that wrote is not (its refusal or
    // reply is its own), nor one that failed inside firelane.
    if (!claimed && ('reply' in settled || settled.error instanceof FirelaneError)) {
      const first = await duplicate();
      if (first) return first;
    }
    if ('reply' in settled) {
      const { reply } = settled;
      if (claimed && key) {
        // The copy a retried delivery is answered with; the answer does not wait for it. Lost in a
        // crash, a retry is told the request is being handled (the change itself has committed).
        deps.store.receipts.saveReply(key, reply).catch((err: unknown) => log().error({ err }, 'reply not kept'));
      }
      // State changes are worth a line at info; reads only at debug.
      if (wrote) log().info('command done');
      else if (logger.isLevelEnabled('debug')) log().debug('command done');
      return { reply, command, outcome: 'ok' };
    }
    const { error } = settled;
    if (error instanceof DuplicateRequest) {
      const first = await firstReply(deps.store, error.key);
      return {
        reply: first ?? privateReply('That request is already being handled.'),
        command,
        outcome: 'duplicate',
      };
    }
    if (error instanceof FirelaneError) {
      const outcome = error.code === 'invalid_input' || error.code === 'not_found' ? 'invalid' : 'refused';
      return { reply: privateReply(usageText(error.message, error.usage)), command, outcome };
    }
    const ref = Math.random().toString(36).slice(2, 8);
    log().error({ err: error, ref }, 'command failed');
    return {
      reply: privateReply(
        `Something went wrong inside firelane (ref ${ref}). Check /${family.name} list before you try again; the logs have the details.`,
      ),
      command,
      outcome: 'error',
    };
  }

  return { handle, names: families.map((f) => f.name) };
}

/** How long a repeated delivery waits for the first one's answer (Slack wants its answer within 3 s). */
const FIRST_REPLY_WAIT_MS = 1_500;

/**
 * The answer the first delivery of a request gave. A repeat that arrives while the first is still
 * being answered (Slack's retry reaching another replica) waits for it a little, so both answer alike.
 */
async function firstReply(store: Store, key: string): Promise<Reply | undefined> {
  const deadline = Date.now() + FIRST_REPLY_WAIT_MS;
  for (;;) {
    const reply = (await store.receipts.reply(key)) as Reply | null | undefined;
    if (reply || Date.now() >= deadline) return reply ?? undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
