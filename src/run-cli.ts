// What `firelane run` says about the follow-up jobs a command left in the queue (src/cli.ts prints it).
// The CLI runs the jobs that are due before it exits; whatever is left waits in the database for a
// server on the same database, so the words say that rather than promise a server that may not exist.
import type { JobsLeft } from './adapters/db/job-store.js';
import { formatUtc } from './ports/reply.js';

export function jobsLeftNotice({ unfinished, scheduled, firstScheduledAt }: JobsLeft): string[] {
  const lines: string[] = [];
  const server = 'the server (firelane serve) on this database';
  if (unfinished > 0) {
    const [jobs, pronoun] = unfinished === 1 ? ['job', 'it stays'] : ['jobs', 'they stay'];
    lines.push(
      `firelane: ${unfinished} follow-up ${jobs} did not finish here; ${pronoun} queued, and ${server} runs ${unfinished === 1 ? 'it' : 'them'}.`,
    );
  }
  if (scheduled > 0 && firstScheduledAt !== undefined) {
    const [jobs, them] = scheduled === 1 ? ['job is', 'it when it is'] : ['jobs are', 'them when they are'];
    lines.push(
      `firelane: ${scheduled} ${jobs} scheduled for later (the first at ${formatUtc(firstScheduledAt)}); ${server} runs ${them} due.`,
    );
  }
  return lines;
}
