// The fetch that firelane's WebClient uses for Web API calls: undici's request() on a keep-alive pool.
// WebClient calls fetch once per Web API call; Node's WHATWG fetch (streams, body mixins, a fresh
// Request per call) cost 0.3 ms more CPU per call than request() here (bench: 1.06 vs 0.75 ms per
// chat.postMessage including the fake Slack), and a declaration makes seven calls while people
// wait for their acknowledgements. Bodies other than a string (file uploads: multipart FormData)
// go to the global fetch, which also builds the multipart encoding.
import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';

export function createSlackFetch(dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000 })): typeof fetch {
  const slackFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof init.body !== 'string' || input instanceof Request) return fetch(input, init);
    const response = await request(input, {
      method: (init.method ?? 'POST') as 'POST',
      headers: init.headers as Record<string, string>,
      body: init.body,
      ...(init.signal && { signal: init.signal }),
      dispatcher,
    });
    const body = await response.body.arrayBuffer();
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
    }
    const empty = response.statusCode === 204 || response.statusCode === 304;
    return new Response(empty ? null : body, { status: response.statusCode, statusText: STATUS_CODES[response.statusCode] ?? '', headers });
  };
  return slackFetch as typeof fetch;
}
