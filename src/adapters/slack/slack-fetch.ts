// The fetch that firelane's WebClient uses for Web API calls: undici's request() on a keep-alive pool.
// WebClient calls fetch once per Web API call; Node's WHATWG fetch (streams, body mixins, a fresh
// Request per call) cost 0.3 ms more CPU per call than request() here (bench: 1.06 vs 0.75 ms per
// chat.postMessage including the fake Slack), and a declaration makes seven calls while people
// wait for their acknowledgements. Bodies other than a string (file uploads: multipart FormData)
// go to the global fetch, which also builds the multipart encoding.
import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';

/**
 * The part of a WHATWG Response that WebClient reads (status, headers.get/entries, text, arrayBuffer,
 * url), over the bytes already received. A real Response (Headers, a body stream) cost about a tenth
 * of a whole Web API call's CPU: micro-bench (2,000 chat.postMessage to the in-process fake Slack,
 * median of 5, three runs each) 0.52-0.62 -> 0.49-0.51 ms per call, the fake's side included.
 */
function answer(
  url: string,
  status: number,
  raw: Record<string, string | string[] | undefined>,
  body: Buffer,
): Response {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(raw))
    if (value !== undefined) headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
  let used = false;
  const consume = () => {
    if (used) throw new TypeError('Body is unusable: Body has already been read');
    used = true;
    return body;
  };
  const response = {
    url,
    status,
    statusText: STATUS_CODES[status] ?? '',
    ok: status >= 200 && status < 300,
    headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null, entries: () => headers.entries() },
    get bodyUsed() {
      return used;
    },
    text: async () => consume().toString('utf8'),
    arrayBuffer: async () => {
      const bytes = consume();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  };
  return response as unknown as Response;
}

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
    return answer(String(input), response.statusCode, response.headers, Buffer.from(await response.body.arrayBuffer()));
  };
  return slackFetch as typeof fetch;
}
