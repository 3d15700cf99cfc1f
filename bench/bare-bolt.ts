// Baseline: a bare @slack/bolt app on HTTPReceiver that only acks /incident. Prints its port and pid
// (tsx runs it in a child process: the bench reads this process's CPU time by that pid).
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({
  signingSecret: process.env.SIGNING_SECRET!,
  endpoints: ['/slack/events'],
  logLevel: LogLevel.ERROR,
});
const app = new App({ receiver, token: 'xoxb-bench', botId: 'BBOT', botUserId: 'UBOT', logLevel: LogLevel.ERROR });
app.command('/incident', async ({ ack }) => {
  await ack({ response_type: 'ephemeral', text: 'ok' });
});
await app.start(Number(process.env.PORT));
process.stdout.write(`listening ${process.env.PORT} pid ${process.pid}\n`);
