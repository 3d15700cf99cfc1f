// /hotfix: create a branch for the incident, open its pull request, show its checks, finish it.
// Every GitHub call is a job after the acknowledgement (jobs/hotfix-jobs); the handlers check the
// input, record what was asked, and answer privately at once. Nothing is written when a check fails.
import { hotfixBranch, hotfixKey, refNameProblem, type Hotfix } from '../../domain/hotfix.js';
import { incidentKey } from '../../domain/incident.js';
import { FirelaneError, conflict, invalidInput, notFound } from '../../errors.js';
import { parseRepoName } from '../../ports/git-host.js';
import { chatPlatform } from '../command.js';
import type { HandlerContext } from '../context.js';
import { openIncidentNow, takeIncident, takeRoom } from '../deploy/new-request.js';
import { tokenText } from '../parse-command.js';
import { mention, privateReply, type Reply } from '../../ports/reply.js';
import { helpSubcommand, type CommandFamily } from '../router.js';
import { helpText } from '../usage.js';
import { HOTFIX_CREATE, HOTFIX_FINISH, HOTFIX_PR, HOTFIX_STATUS } from '../../ports/jobs.js';

export const HOTFIX_USAGE = {
  create:
    '/hotfix create <service> <description> [--incident=INC-n] [--from=<tag or branch>]   e.g. /hotfix create payments "null amount in refunds"',
  pr: '/hotfix pr [<branch>]   opens the pull request into the production branch',
  status: '/hotfix status [<branch>]   checks and reviews of the pull request',
  finish: '/hotfix finish [<branch>]   merge, tag the next patch version, release, back-merge',
  help: '/hotfix help',
} as const;

export function hotfixHelp(): string {
  return helpText('firelane hotfix commands', HOTFIX_USAGE, [
    'The branch is hotfix/INC-n-<words of the description>, cut from the production branch (or the newest release tag, or --from).',
    "Without a branch, pr, status and finish act on the war room's hotfix, or the only one in progress.",
    'GitHub answers come as a message in the channel a moment after the command.',
  ]);
}

const MAX_DESCRIPTION = 200;

function needGitHub(ctx: HandlerContext): void {
  if (!ctx.deps.git) {
    throw new FirelaneError(
      'upstream',
      'GitHub is not set up for this firelane (set GITHUB_TOKEN, and GITHUB_API_URL for GitHub Enterprise Server), so /hotfix cannot reach it. Incidents and deploys work without it.',
    );
  }
}

async function createHotfix(ctx: HandlerContext): Promise<Reply> {
  const usage = HOTFIX_USAGE.create;
  needGitHub(ctx);
  const [serviceToken, ...words] = ctx.args;
  if (!serviceToken) throw invalidInput('Name the service and describe the fix.', usage);
  const services = ctx.deps.config.services;
  const service = tokenText(serviceToken);
  const config = Object.hasOwn(services, service) ? services[service] : undefined;
  if (!config) {
    const names = Object.keys(services);
    throw notFound(
      `Unknown service "${service}".${names.length ? ` Configured services: ${names.map((n) => `\`${n}\``).join(', ')}.` : ' No services are configured.'}`,
      usage,
    );
  }
  const repo = config.repo && parseRepoName(config.repo);
  if (!repo)
    throw invalidInput(
      `${service} has no \`repo\` in firelane.yaml, so firelane does not know where its code lives.`,
      usage,
    );
  const description = words.map(tokenText).join(' ').trim();
  if (!description) throw invalidInput('Describe the fix in a few words (they name the branch).', usage);
  if (description.length > MAX_DESCRIPTION)
    throw invalidInput(`The description is ${description.length} characters; keep it under ${MAX_DESCRIPTION}.`, usage);
  const from = ctx.flags.from;
  if (from !== undefined) {
    const problem = refNameProblem(from);
    if (problem) throw invalidInput(`"${from}" is not a branch or tag name: ${problem}.`, usage);
  }
  const incident = await takeIncident(ctx, usage);
  const roomId = takeRoom(ctx, incident, usage);
  const { store, clock } = ctx.deps;
  const actor = ctx.input.actor.id;
  const baseRef = from ?? (config.hotfixFrom === 'latest-tag' ? '' : config.productionBranch);
  const { hotfix, linked, branch } = await ctx.write(async () => {
    // The incident as it is now: one resolved since it was chosen gets no hotfix line on its timeline,
    // and does not name the branch.
    const linked = await openIncidentNow(ctx, incident, ctx.flags.incident !== undefined, usage);
    const branch = hotfixBranch(description, linked?.id);
    const created = await store.hotfixes.create(
      {
        service,
        repo: config.repo!,
        branch,
        baseRef,
        incidentId: linked?.id ?? null,
        requester: actor,
        platform: chatPlatform(ctx.input.platform),
        roomId,
        description,
        createdAt: clock.now(),
      },
      ctx.input.platform,
    );
    if (linked) {
      await store.incidents.addEvent({
        incidentId: linked.id,
        at: clock.now(),
        actor,
        platform: ctx.input.platform,
        kind: 'hotfix_requested',
        text: `${hotfixKey(created.id)}: hotfix branch ${branch} requested by ${mention(actor)}`,
        data: { hotfix: hotfixKey(created.id), branch },
      });
    }
    await store.jobs.enqueue({
      kind: HOTFIX_CREATE,
      key: `hotfix-create:${created.id}`,
      payload: { hotfixId: created.id },
    });
    return { hotfix: created, linked, branch };
  });
  ctx.concerns(hotfix.incidentId);
  const base = from ?? (config.hotfixFrom === 'latest-tag' ? 'the newest release tag' : config.productionBranch);
  return privateReply(
    `${hotfixKey(hotfix.id)}: creating \`${branch}\` in ${config.repo} from ${base}${linked ? ` for ${incidentKey(linked.id)}` : ''}. The result follows in the channel.`,
  );
}

/** The hotfix a command means: the branch given, else the war room's, else the only one in progress. */
async function findHotfix(ctx: HandlerContext, usage: string): Promise<Hotfix> {
  const { store } = ctx.deps;
  const [branchToken, ...extra] = ctx.args;
  if (extra.length) throw invalidInput(`Unexpected "${tokenText(extra[0]!)}".`, usage);
  if (branchToken) {
    const branch = tokenText(branchToken).replace(/^refs\/heads\//, '');
    const found = (await store.hotfixes.live()).filter((h) => h.branch === branch);
    if (found.length === 0)
      throw notFound(`No hotfix in progress is on the branch "${branch}". Start one with /hotfix create.`, usage);
    return found[0]!;
  }
  const { roomId } = ctx.input;
  const incident = roomId ? await store.incidents.byRoom(chatPlatform(ctx.input.platform), roomId) : undefined;
  const candidates = await store.hotfixes.live(incident?.id);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0)
    throw notFound(
      `No hotfix in progress${incident ? ` for ${incidentKey(incident.id)}` : ''}. Start one with /hotfix create.`,
      usage,
    );
  throw invalidInput(
    `Several hotfixes are in progress (${candidates.map((h) => `\`${h.branch}\``).join(', ')}): name the branch.`,
    usage,
  );
}

/**
 * pr, status and finish: find the hotfix, check it is at the right stage, and queue the GitHub work,
 * deciding on the hotfix as it is in the write transaction. With `busy`, one job of the kind at a
 * time per hotfix: the n-th ask is the job `<kind>:<id>:<n>`, and while one is queued or running, the
 * next ask is told so (two at once both try the same key; the database keeps one).
 */
function onHotfix(
  kind: typeof HOTFIX_PR | typeof HOTFIX_STATUS | typeof HOTFIX_FINISH,
  usage: string,
  check: (hotfix: Hotfix) => void,
  answer: (hotfix: Hotfix) => string,
  busy?: (hotfix: Hotfix) => string,
) {
  return async (ctx: HandlerContext): Promise<Reply> => {
    needGitHub(ctx);
    const found = await findHotfix(ctx, usage);
    ctx.concerns(found.incidentId);
    const { store, clock } = ctx.deps;
    const payload = { hotfixId: found.id, actor: ctx.input.actor.id, platform: ctx.input.platform };
    const hotfix = await ctx.write(async () => {
      const hotfix = (await store.hotfixes.get(found.id)) ?? found;
      if (hotfix.status === 'creating')
        throw conflict(
          `${hotfixKey(hotfix.id)}: \`${hotfix.branch}\` is still being created on GitHub; try again in a moment.`,
        );
      check(hotfix);
      if (!busy) {
        await store.jobs.enqueue({ kind, key: `${kind}:${hotfix.id}:${clock.now()}:${ctx.input.actor.id}`, payload });
        return hotfix;
      }
      for (let n = 1; ; n++) {
        const key = `${kind}:${hotfix.id}:${n}`;
        const state = await store.jobs.state(key);
        if (state === 'queued' || state === 'running') throw conflict(busy(hotfix));
        if (state !== undefined) continue; // done or given up: a new ask is a new job
        if (!(await store.jobs.enqueue({ kind, key, payload }))) throw conflict(busy(hotfix));
        return hotfix;
      }
    });
    return privateReply(answer(hotfix));
  };
}

const needPull = (hotfix: Hotfix) => {
  if (hotfix.prNumber === null)
    throw invalidInput(`${hotfixKey(hotfix.id)} has no pull request yet: open it with /hotfix pr ${hotfix.branch}.`);
};

const openPull = onHotfix(
  HOTFIX_PR,
  HOTFIX_USAGE.pr,
  (h) => {
    if (h.prNumber !== null)
      throw conflict(`${hotfixKey(h.id)} already has pull request #${h.prNumber}: ${h.prUrl ?? ''}`.trim());
  },
  (h) => `${hotfixKey(h.id)}: opening the pull request from \`${h.branch}\`. The result follows in the channel.`,
  (h) =>
    `${hotfixKey(h.id)}: the pull request from \`${h.branch}\` is already being opened; the result follows in the channel.`,
);
const showStatus = onHotfix(
  HOTFIX_STATUS,
  HOTFIX_USAGE.status,
  needPull,
  (h) => `${hotfixKey(h.id)}: reading the checks and reviews of #${h.prNumber}. They follow in the channel.`,
);
const finish = onHotfix(
  HOTFIX_FINISH,
  HOTFIX_USAGE.finish,
  (h) => {
    if (h.status === 'finished') throw conflict(`${hotfixKey(h.id)} is already finished${h.tag ? ` (${h.tag})` : ''}.`);
    needPull(h);
  },
  (h) =>
    `${hotfixKey(h.id)}: finishing #${h.prNumber} (merge when the required checks pass, tag, release, back-merge). The result follows in the channel.`,
  (h) => `${hotfixKey(h.id)}: #${h.prNumber} is already being finished; the result follows in the channel.`,
);

const help = helpSubcommand(hotfixHelp, HOTFIX_USAGE.help);

export const hotfixCommands: CommandFamily = {
  name: 'hotfix',
  help: hotfixHelp,
  fallback: (first) => (first === undefined ? help : undefined),
  subcommands: {
    create: { run: createHotfix, usage: HOTFIX_USAGE.create, flags: ['incident', 'from'] },
    pr: { run: openPull, usage: HOTFIX_USAGE.pr, flags: [] },
    status: { run: showStatus, usage: HOTFIX_USAGE.status, flags: [] },
    finish: { run: finish, usage: HOTFIX_USAGE.finish, flags: [] },
    help,
  },
};
