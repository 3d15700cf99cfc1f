// Load generator (its own process): N signed slash commands at concurrency C; prints latency JSON.
// Arguments: url, signing secret, N, C, mix (list | mixed | declare), W (warm-up commands per connection),
// and optionally G: a pause in ms after each answer before the connection's next command (default 0).
// Bodies are signed in advance with one timestamp (valid 5 minutes) so signing costs nothing here.
// Before the measured commands, W unmeasured `/incident list` per connection open the connections and
// warm this process's code: without them the p99 of 2,000 at concurrency 20 was the first batch of 20
// (TCP handshakes and a cold load process), the same for any server.
import { createHmac } from 'node:crypto';
import { Agent, request } from 'undici';

const [url, secret, totalText, concurrencyText, mix, warmUpText, gapText] = process.argv.slice(2);
const total = Number(totalText);
const concurrency = Number(concurrencyText);
const gapMs = Number(gapText ?? 0);
const ts = Math.floor(Date.now() / 1000);

function body(i: number, warmUp = false): { body: string; headers: Record<string, string> } {
  // "list": only /incident list; "mixed": every 10th request declares an incident; "declare": all declare.
  const declares = !warmUp && (mix === 'declare' || (mix === 'mixed' && i % 10 === 0));
  const text = declares ? `sev2 Bench incident ${process.pid}-${i}` : 'list';
  const form = new URLSearchParams({
    command: '/incident',
    text,
    user_id: 'U0BENCH',
    user_name: 'bench',
    channel_id: 'C0GENERAL',
    team_id: 'T0001',
    trigger_id: `bench-${process.pid}-${warmUp ? 'w' : ''}${i}`,
    response_url: 'http://127.0.0.1:9/response',
  }).toString();
  const signature = `v0=${createHmac('sha256', secret!).update(`v0:${ts}:${form}`).digest('hex')}`;
  return {
    body: form,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signature,
    },
  };
}

const warmUp = Array.from({ length: Number(warmUpText) * concurrency }, (_, i) => body(i, true));
const requests = Array.from({ length: total }, (_, i) => body(i));
const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
const latencies: number[] = [];
/** The declarations' latencies of a mixed load, reported apart: they are where a store's write path shows. */
const declarations: number[] = [];
let next = 0;
let failures = 0;

/** One signed command; returns its latency (request sent to answer read). */
async function send(r: { body: string; headers: Record<string, string> }): Promise<number> {
  const started = performance.now();
  const response = await request(url!, { method: 'POST', body: r.body, headers: r.headers, dispatcher });
  await response.body.text();
  if (response.statusCode !== 200) failures++;
  return performance.now() - started;
}

async function warm(): Promise<void> {
  for (let r = warmUp.pop(); r; r = warmUp.pop()) await send(r);
}

async function worker(): Promise<void> {
  while (next < total) {
    const i = next++;
    const latency = await send(requests[i]!);
    latencies.push(latency);
    if (mix === 'mixed' && i % 10 === 0) declarations.push(latency);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}

await Promise.all(Array.from({ length: concurrency }, warm));
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = performance.now() - started;
latencies.sort((a, b) => a - b);
declarations.sort((a, b) => a - b);
const pct = (p: number, of = latencies) => of[Math.min(of.length - 1, Math.floor((p / 100) * of.length))]!;
const declared = declarations.length > 0 && { declareP50: pct(50, declarations), declareP90: pct(90, declarations) };
process.stdout.write(
  `${JSON.stringify({ n: latencies.length, failures, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1), rps: (latencies.length / elapsed) * 1000, ...declared })}\n`,
);
await dispatcher.close();
