// firelane console: rooms, messages and cards from the neutral reply model, a command box that runs
// commands, buttons that run their command, and live updates (SSE).
// Everything is built with DOM nodes and textContent: nothing from the server becomes markup.
// Who acts: in local mode the name typed into "You are" (a trial name), remembered per tab
// (sessionStorage), so that two tabs can be two people and a reload does not turn one into the
// other; otherwise the person signed in (or nobody: the page is then read-only and says why).
// Private answers are kept by the server in the room for the user they answered.
// Every POST carries the token the server handed out with the state (X-Firelane-Console): the server
// refuses a request without it, which is how it knows the request comes from this page.
'use strict';

const TOKEN = /\uE000(@[^\uE000\uE001|]{1,200}|#[^\uE000\uE001|]{1,200}\|[^\uE000\uE001]{1,80}|t\d{1,15})\uE001/g;
const state = {
  room: 'incidents',
  rooms: [],
  user: '',
  asked: 0,
  drawn: '',
  token: '',
  mode: 'local',
  you: { canAct: true },
};
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('aria-') || key === 'role' || key === 'datetime') node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

/** Plain text with *bold* and `code` (as handlers write them), into nodes. */
function inline(text) {
  const out = document.createDocumentFragment();
  const parts = text.split(/(\*[^*\n]{1,200}\*|`[^`\n]{1,400}`)/g);
  for (const part of parts) {
    if (/^\*[^*\n]+\*$/.test(part)) out.append(el('strong', {}, part.slice(1, -1)));
    else if (/^`[^`\n]+`$/.test(part)) out.append(el('code', {}, part.slice(1, -1)));
    else if (part) out.append(part);
  }
  return out;
}

/** Neutral text (with firelane's tokens) into nodes: mentions, room links, local times. */
function rich(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    out.append(inline(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const token = match[1];
    if (token.startsWith('@')) out.append(el('span', { class: 'mention' }, token));
    else if (token.startsWith('#')) {
      const [id, name] = token.slice(1).split('|');
      out.append(el('button', { type: 'button', class: 'link', onclick: () => openRoom(id) }, `#${name}`));
    } else {
      const when = new Date(Number(token.slice(1)));
      out.append(el('time', { datetime: when.toISOString(), title: when.toISOString() }, when.toLocaleString()));
    }
  }
  out.append(inline(text.slice(last)));
  return out;
}

function card(c) {
  const node = el('article', { class: `card ${c.accent || ''}` }, el('h3', {}, rich(c.title)));
  if (c.text) node.append(el('div', { class: 'text' }, rich(c.text)));
  if (c.fields && c.fields.length) {
    const dl = el('dl');
    for (const f of c.fields) dl.append(el('dt', {}, rich(f.label)), el('dd', {}, rich(f.value)));
    node.append(dl);
  }
  if (c.buttons && c.buttons.length) {
    const row = el('div', { class: 'buttons' });
    for (const b of c.buttons)
      row.append(
        el(
          'button',
          { type: 'button', class: b.style || '', disabled: !state.you.canAct, onclick: () => run(b.command) },
          b.label,
        ),
      );
    node.append(row);
  }
  if (c.footer) node.append(el('footer', {}, rich(c.footer)));
  return node;
}

function message(m) {
  const body = m.body;
  const isPrivate = body.visibleTo !== undefined;
  const item = el('li', { class: isPrivate ? 'private' : '' });
  if (isPrivate) item.append(el('span', { class: 'note' }, 'Only you see this'));
  item.append(
    el('span', { class: 'author' }, m.author),
    el('span', { class: 'time' }, new Date(m.createdAt).toLocaleTimeString()),
    el('br'),
  );
  if (body.text) item.append(el('div', { class: 'text' }, rich(body.text)));
  if (body.card) item.append(card(body.card));
  if (body.file) item.append(el('pre', { class: 'file', 'aria-label': body.file.title }, body.file.content));
  return item;
}

async function api(path, options = {}) {
  const headers = { 'content-type': 'application/json' };
  if (options.method === 'POST') headers['x-firelane-console'] = state.token;
  const response = await fetch(path, { ...options, headers });
  const json = (response.headers.get('content-type') || '').startsWith('application/json');
  const data = json ? await response.json() : { error: (await response.text()).trim() };
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

/** Who this page acts as: the "You are" box in local mode, else the sign-in and why one cannot act. */
function renderYou() {
  const you = state.you;
  const local = state.mode === 'local';
  $('subtitle').textContent = local ? 'local console' : 'console';
  $('trial').hidden = !local;
  $('session').hidden = local || (!you.signedIn && !you.signIn);
  $('signed-in').textContent = you.signedIn ? `Signed in as ${you.name}${you.as ? ` (@${you.as})` : ''}` : '';
  $('sign-in').hidden = Boolean(you.signedIn) || !you.signIn;
  $('sign-out').hidden = !you.signedIn;
  $('notice').hidden = you.canAct;
  $('notice').textContent = you.canAct ? '' : you.why || 'This console is read-only.';
  $('command').disabled = !you.canAct;
  document.querySelector('#command-form button').disabled = !you.canAct;
}

function renderRooms() {
  const list = $('rooms');
  list.replaceChildren(
    ...state.rooms.map((r) =>
      el(
        'li',
        {},
        el(
          'button',
          { type: 'button', 'aria-current': String(r.id === state.room), onclick: () => openRoom(r.id) },
          `#${r.name}`,
        ),
      ),
    ),
  );
  const room = state.rooms.find((r) => r.id === state.room);
  $('room-title').textContent = `#${room ? room.name : state.room}`;
  $('room-topic').replaceChildren(room && room.topic ? rich(room.topic) : '');
}

function renderCluster(cluster) {
  if (!cluster) return;
  $('simulated-badge').hidden = false;
  $('cluster').hidden = false;
  // Blue-green: the colour its Service's `slot` selects takes the traffic; the panel names it.
  const live = new Set(
    (cluster.services || [])
      .filter((s) => s.selector && s.selector.slot)
      .flatMap((s) => s.selects.map((name) => `${s.namespace}/${name}`)),
  );
  const items = (cluster.deployments || []).map((d) => {
    const healthy = d.healthy !== false;
    return el(
      'li',
      { class: 'deployment' },
      el(
        'span',
        {},
        `${d.name} `,
        el('span', { class: healthy ? 'healthy' : 'unhealthy' }, healthy ? 'healthy' : 'failing'),
        ` ${d.available ?? '?'}/${d.desired ?? '?'}`,
        live.has(`${d.namespace}/${d.name}`) ? el('span', { class: 'live' }, ' live') : '',
      ),
      el('button', { type: 'button', onclick: () => flip(d.namespace, d.name, !healthy) }, healthy ? 'Break' : 'Heal'),
    );
  });
  $('deployments').replaceChildren(...items);
}

async function flip(namespace, deployment, healthy) {
  renderCluster(
    await api('/api/console/simulated/health', {
      method: 'POST',
      body: JSON.stringify({ namespace, deployment, healthy }),
    }),
  );
}

/** Shows a command's or a page's failure beside the command box (it is nobody's message). */
function problem(error) {
  $('command-error').textContent = error ? String(error.message || error) : '';
}

async function loadMessages() {
  // Loads overlap (a live update during a command): only the last one asked for may draw.
  const asked = ++state.asked;
  const viewer = state.user;
  const room = state.room;
  const user = state.mode === 'local' && viewer ? `&user=${encodeURIComponent(viewer)}` : '';
  const { messages } = await api(`/api/console/messages?room=${encodeURIComponent(room)}${user}`);
  if (asked !== state.asked) return;
  const list = $('messages');
  // Redrawn only when something changed: a live update that changes nothing must not replace the
  // buttons under a click (a press and a release on two different buttons is no click at all).
  const drawn = JSON.stringify([room, state.you.canAct, messages]);
  if (drawn !== state.drawn) {
    state.drawn = drawn;
    list.replaceChildren(...messages.map(message));
    list.scrollTop = list.scrollHeight;
  }
  // Which room, as whom, is drawn (tests wait for it).
  list.dataset.room = room;
  list.dataset.viewer = viewer;
}

function remember(user) {
  state.user = user;
  sessionStorage.setItem('firelane.user', user);
  // The last name picked in any tab is where a new tab starts.
  localStorage.setItem('firelane.user', user);
}

async function loadState() {
  const data = await api('/api/console/state');
  state.token = data.token;
  state.mode = data.mode;
  state.you = data.you;
  renderYou();
  state.rooms = data.rooms;
  $('users').replaceChildren(...data.users.map((u) => el('option', { value: u })));
  if (!state.user && state.mode === 'local') {
    state.user =
      sessionStorage.getItem('firelane.user') || localStorage.getItem('firelane.user') || data.users[0] || 'alice';
    $('user').value = state.user;
  }
  renderRooms();
  renderCluster(data.simulated);
}

async function openRoom(id) {
  state.room = id;
  renderRooms();
  await loadMessages().catch(problem);
  $('command').focus();
}

async function run(text) {
  if (state.mode === 'local') remember($('user').value.trim());
  const key = crypto.randomUUID();
  try {
    const user = state.mode === 'local' ? { user: state.user } : {};
    await api('/api/console/command', {
      method: 'POST',
      body: JSON.stringify({ text, ...user, room: state.room, key }),
    });
    problem(null);
  } catch (error) {
    problem(error);
  }
  await refresh();
}

/** Everything again: the rooms (a command may open one) and the open room's messages. */
async function refresh() {
  try {
    await loadState();
    await loadMessages();
  } catch (error) {
    problem(error);
  }
}

$('command-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('command');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  await run(text);
});
$('sign-out').addEventListener('click', async () => {
  try {
    await api('/auth/logout', { method: 'POST', body: '{}' });
    location.reload();
  } catch (error) {
    problem(error);
  }
});
$('user').addEventListener('change', () => {
  remember($('user').value.trim());
  problem(null);
  refresh();
});

const events = new EventSource('/api/console/events');
events.addEventListener('room', async (event) => {
  const data = JSON.parse(event.data);
  state.rooms = data.rooms;
  renderRooms();
  if (data.cluster) renderCluster(data.cluster);
  // No room: any may have changed (another replica's change this one could not hear).
  if (data.room === state.room || data.room === null) await loadMessages().catch(problem);
});
events.addEventListener('cluster', (event) => renderCluster(JSON.parse(event.data)));

refresh();
