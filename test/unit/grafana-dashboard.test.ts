/**
 * manifests/grafana/firelane.json: the dashboard an SRE puts on the wall (issue 8). Offline checks:
 *
 * 1. Structure: a modern dashboard model (schemaVersion, uid, title, refresh, time range), a `datasource` template
 *    variable of type datasource (prometheus) that every panel and target points at, unique panel ids, panels inside
 *    the 24-column grid without overlaps, each under one of the section rows, only current panel types, units set,
 *    every target with an expr and a unique refId, `$__range` only in instant queries.
 * 2. Metric names: every firelane_* name in an expr (and in the variable queries) exists in the registry of
 *    createMetrics() (default metrics included; _bucket/_sum/_count only on histograms), and every metric
 *    src/metrics.ts creates itself appears in some panel, so a new metric without a panel fails here.
 * 3. PromQL semantics, on a small parser of the subset the dashboard uses: rate/increase/irate only over counters and
 *    histogram series, counters and histogram series never shown raw, histogram_quantile only over _bucket series
 *    with `le` kept by every aggregation in between, label names in matchers and by/without clauses existing on the
 *    metric (after the aggregations below them), both sides of a vector/vector operation with the same labels,
 *    `le` matchers naming real buckets, and every selector filtered by the `$job` variable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'manifests/grafana/firelane.json'), 'utf8')) as Record<
  string,
  any
>;

const SECTIONS = ['Incidents', 'Commands & acks', 'Jobs', 'Deploys', 'Upstream', 'Process'];
const PANEL_TYPES = new Set(['timeseries', 'stat', 'bargauge', 'table', 'text']);
/** Labels Prometheus adds at scrape time, on every series. */
const TARGET_LABELS = ['job', 'instance'];
/** Non-firelane series a panel may use. */
const OTHER_SERIES: Record<string, string[]> = { up: [] };
const RANGE_FUNCTIONS = new Set([
  'rate',
  'irate',
  'increase',
  'changes',
  'resets',
  'delta',
  'idelta',
  'deriv',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
]);
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
]);

// ---------------------------------------------------------------------------------------------------------------
// The registry: names, types, label names and buckets of every metric firelane exposes.

interface Family {
  type: string;
  labels: string[];
  buckets: number[];
}
const families = new Map<string, Family>();
let explicit: string[] = [];

beforeAll(async () => {
  const all = createMetrics({ defaultMetrics: true });
  for (const m of await all.registry.getMetricsAsJSON()) {
    const internal = all.registry.getSingleMetric(m.name) as unknown as {
      labelNames?: string[];
      upperBounds?: number[];
    };
    families.set(m.name, {
      type: String(m.type),
      labels: [...(internal.labelNames ?? [])],
      buckets: internal.upperBounds ?? [],
    });
  }
  explicit = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name);
});

type Series = { family: string; suffix: '' | '_bucket' | '_sum' | '_count'; type: string; labels: string[] };

/** A series name -> its metric family; undefined when no such series is exposed. */
function resolve(name: string): Series | undefined {
  if (Object.hasOwn(OTHER_SERIES, name))
    return { family: name, suffix: '', type: 'gauge', labels: OTHER_SERIES[name]! };
  const direct = families.get(name);
  if (direct) return { family: name, suffix: '', type: direct.type, labels: direct.labels };
  for (const suffix of ['_bucket', '_sum', '_count'] as const) {
    const family = families.get(name.slice(0, -suffix.length));
    if (name.endsWith(suffix) && family?.type === 'histogram') {
      return {
        family: name.slice(0, -suffix.length),
        suffix,
        type: 'histogram',
        labels: suffix === '_bucket' ? [...family.labels, 'le'] : family.labels,
      };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// A parser for the PromQL subset a dashboard uses (Grafana variables included), enough to check semantics.

type Matcher = { label: string; op: string; value: string };
type Node =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'selector'; name: string; matchers: Matcher[]; range?: string }
  | { kind: 'call'; fn: string; args: Node[] }
  | { kind: 'aggregate'; op: string; grouping?: { mode: 'by' | 'without'; labels: string[] }; param?: Node; expr: Node }
  | { kind: 'binary'; op: string; lhs: Node; rhs: Node; matching?: { mode: 'on' | 'ignoring'; labels: string[] } }
  | { kind: 'negate'; expr: Node };

const TOKEN =
  /\s*(?:(?<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))|(?<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(?<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?<var>\$\{?\w+\}?)|(?<ident>[a-zA-Z_:][\w:]*)|(?<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}[\],:]))/y;

function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    if (/^\s*$/.test(expr.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (!match) throw new Error(`cannot tokenize at ${at}: ${expr.slice(at, at + 20)}`);
    tokens.push(match[0].trim());
  }
  return tokens;
}

const PRECEDENCE: [string[], boolean][] = [
  [['or'], false],
  [['and', 'unless'], false],
  [['==', '!=', '<=', '>=', '<', '>'], false],
  [['+', '-'], false],
  [['*', '/', '%', 'atan2'], false],
  [['^'], true],
];

function parse(expr: string): Node {
  const tokens = tokenize(expr);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const token = tokens[i++];
    if (token === undefined) throw new Error(`unexpected end of ${expr}`);
    return token;
  };
  const want = (token: string) => {
    const got = next();
    if (got !== token) throw new Error(`expected ${token}, got ${got} in ${expr}`);
  };
  const labelList = () => {
    want('(');
    const labels: string[] = [];
    while (peek() !== ')') {
      labels.push(next());
      if (peek() === ',') next();
    }
    want(')');
    return labels;
  };
  const unquote = (token: string) => {
    if (!/^["']/.test(token)) throw new Error(`expected a string, got ${token} in ${expr}`);
    return token.slice(1, -1);
  };

  function binary(level: number): Node {
    if (level === PRECEDENCE.length) return unary();
    const [ops, rightAssoc] = PRECEDENCE[level]!;
    let lhs = binary(level + 1);
    while (ops.includes(peek() ?? '')) {
      const op = next();
      if (peek() === 'bool') next();
      let matching: { mode: 'on' | 'ignoring'; labels: string[] } | undefined;
      if (peek() === 'on' || peek() === 'ignoring')
        matching = { mode: next() as 'on' | 'ignoring', labels: labelList() };
      if (peek() === 'group_left' || peek() === 'group_right') {
        next();
        if (peek() === '(') labelList();
      }
      const rhs = rightAssoc ? binary(level) : binary(level + 1);
      lhs = { kind: 'binary', op, lhs, rhs, ...(matching && { matching }) };
    }
    return lhs;
  }
  function unary(): Node {
    if (peek() === '-') {
      next();
      return { kind: 'negate', expr: unary() };
    }
    if (peek() === '+') next();
    return postfix(primary());
  }
  function postfix(node: Node): Node {
    if (peek() !== '[') return node;
    next();
    const range = next();
    if (peek() === ':') throw new Error(`subqueries are not used in firelane's dashboard: ${expr}`);
    want(']');
    if (node.kind !== 'selector' || node.range) throw new Error(`range on a non-selector in ${expr}`);
    return { ...node, range };
  }
  function primary(): Node {
    const token = next();
    if (token === '(') {
      const inner = binary(0);
      want(')');
      return inner;
    }
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) };
    if (/^["']/.test(token)) return { kind: 'string', value: unquote(token) };
    if (token === '{') return selector('');
    if (!/^[a-zA-Z_:]/.test(token)) throw new Error(`unexpected ${token} in ${expr}`);
    if (AGGREGATIONS.has(token) && (peek() === '(' || peek() === 'by' || peek() === 'without')) {
      let grouping: { mode: 'by' | 'without'; labels: string[] } | undefined;
      if (peek() === 'by' || peek() === 'without') grouping = { mode: next() as 'by' | 'without', labels: labelList() };
      want('(');
      const first = binary(0);
      let param: Node | undefined;
      let inner = first;
      if (peek() === ',') {
        next();
        param = first;
        inner = binary(0);
      }
      want(')');
      if (peek() === 'by' || peek() === 'without') {
        if (grouping) throw new Error(`two groupings in ${expr}`);
        grouping = { mode: next() as 'by' | 'without', labels: labelList() };
      }
      return { kind: 'aggregate', op: token, ...(grouping && { grouping }), ...(param && { param }), expr: inner };
    }
    if (peek() === '(') {
      next();
      const args: Node[] = [];
      while (peek() !== ')') {
        args.push(binary(0));
        if (peek() === ',') next();
      }
      want(')');
      return { kind: 'call', fn: token, args };
    }
    if (peek() === '{') {
      next();
      return selector(token);
    }
    return { kind: 'selector', name: token, matchers: [] };
  }
  function selector(name: string): Node {
    const matchers: Matcher[] = [];
    while (peek() !== '}') {
      const label = next();
      const op = next();
      if (!['=', '!=', '=~', '!~'].includes(op)) throw new Error(`bad matcher operator ${op} in ${expr}`);
      matchers.push({ label, op, value: unquote(next()) });
      if (peek() === ',') next();
    }
    want('}');
    const named = matchers.find((m) => m.label === '__name__' && m.op === '=');
    return { kind: 'selector', name: name || named?.value || '', matchers: matchers.filter((m) => m !== named) };
  }

  const tree = binary(0);
  if (i !== tokens.length) throw new Error(`trailing ${tokens.slice(i).join(' ')} in ${expr}`);
  return tree;
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic checks on the tree. Each node evaluates to a scalar, a string, a range or an instant vector with a known
// set of labels (after aggregations); problems are collected as messages.

type Shape = { type: 'scalar' | 'string' } | { type: 'range' | 'vector'; labels: Set<string> };

function check(expr: string): string[] {
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${message}  in  ${expr}`);
  const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((l) => b.has(l));
  const vectorLabels = (shape: Shape, what: string): Set<string> => {
    if (shape.type === 'vector') return shape.labels;
    fail(`${what} needs an instant vector`);
    return new Set();
  };

  /** parents: the functions and aggregations enclosing the node, innermost last. */
  function visit(node: Node, parents: Node[]): Shape {
    switch (node.kind) {
      case 'number':
        return { type: 'scalar' };
      case 'string':
        return { type: 'string' };
      case 'negate': {
        return visit(node.expr, parents);
      }
      case 'selector': {
        const series = resolve(node.name);
        if (!series) {
          fail(`unknown series ${node.name || '(no name)'}`);
          return { type: node.range ? 'range' : 'vector', labels: new Set() };
        }
        const labels = new Set([...series.labels, ...TARGET_LABELS]);
        for (const m of node.matchers) {
          if (!labels.has(m.label)) fail(`${node.name} has no label ${m.label}`);
          if (
            m.label === 'le' &&
            m.op === '=' &&
            m.value !== '+Inf' &&
            !(families.get(series.family)?.buckets ?? []).map(String).includes(m.value)
          ) {
            fail(
              `${series.family} has no bucket le="${m.value}" (buckets: ${families.get(series.family)?.buckets.join(', ')})`,
            );
          }
        }
        if (!node.matchers.some((m) => m.label === 'job' && m.op === '=~' && m.value === '$job'))
          fail(`${node.name} is not filtered by job=~"$job"`);
        const parent = parents.at(-1);
        const inCounterFunction = parent?.kind === 'call' && COUNTER_FUNCTIONS.has(parent.fn);
        const monotonic = series.type === 'counter' || series.type === 'histogram';
        if (inCounterFunction && !monotonic) fail(`${parent.fn}() over ${node.name}, a ${series.type}`);
        if (monotonic && !inCounterFunction) fail(`${node.name} (a ${series.type}) used without rate()/increase()`);
        if (node.range && !(parent?.kind === 'call' && RANGE_FUNCTIONS.has(parent.fn)))
          fail(`range selector ${node.name}[${node.range}] outside a range function`);
        if (!node.range && parent?.kind === 'call' && RANGE_FUNCTIONS.has(parent.fn))
          fail(`${parent.fn}() needs a range selector, got ${node.name}`);
        if (node.range && !/^(\d+(ms|[smhdwy]))+$|^\$__(rate_interval|range|interval)$/.test(node.range))
          fail(`bad range [${node.range}]`);
        return { type: node.range ? 'range' : 'vector', labels };
      }
      case 'call': {
        const shapes = node.args.map((arg) => visit(arg, [...parents, node]));
        if (RANGE_FUNCTIONS.has(node.fn)) {
          if (shapes.length !== 1 || shapes[0]!.type !== 'range') {
            fail(`${node.fn}() takes one range vector`);
            return { type: 'vector', labels: new Set() };
          }
          return { type: 'vector', labels: (shapes[0] as { labels: Set<string> }).labels };
        }
        if (node.fn === 'histogram_quantile') {
          const [phi, vector] = node.args;
          if (phi?.kind !== 'number' || phi.value < 0 || phi.value > 1)
            fail('histogram_quantile() needs a literal quantile in [0, 1]');
          if (!vector) return { type: 'vector', labels: new Set() };
          for (const s of selectors(vector)) {
            if (resolve(s.name)?.suffix !== '_bucket')
              fail(`histogram_quantile() over ${s.name}, not a histogram's _bucket series`);
          }
          const labels = vectorLabels(shapes[1]!, 'histogram_quantile()');
          if (!labels.has('le'))
            fail('histogram_quantile() over a vector without `le` (an aggregation below dropped it)');
          return { type: 'vector', labels: new Set([...labels].filter((l) => l !== 'le')) };
        }
        if (node.fn === 'time') return { type: 'scalar' };
        if (
          [
            'abs',
            'ceil',
            'floor',
            'round',
            'clamp',
            'clamp_min',
            'clamp_max',
            'sqrt',
            'ln',
            'log2',
            'log10',
            'exp',
          ].includes(node.fn)
        ) {
          return { type: 'vector', labels: vectorLabels(shapes[0] ?? { type: 'scalar' }, `${node.fn}()`) };
        }
        fail(`function ${node.fn}() is not known to this test; teach it the function's semantics`);
        return { type: 'vector', labels: new Set() };
      }
      case 'aggregate': {
        if (node.param) visit(node.param, [...parents, node]);
        const inner = vectorLabels(visit(node.expr, [...parents, node]), `${node.op}()`);
        if (!node.grouping) return { type: 'vector', labels: new Set() };
        for (const l of node.grouping.labels)
          if (!inner.has(l)) fail(`${node.op} ${node.grouping.mode} (${l}): no label ${l} below`);
        const labels =
          node.grouping.mode === 'by'
            ? new Set(node.grouping.labels)
            : new Set([...inner].filter((l) => !node.grouping!.labels.includes(l)));
        return { type: 'vector', labels };
      }
      case 'binary': {
        const lhs = visit(node.lhs, parents);
        const rhs = visit(node.rhs, parents);
        if (lhs.type === 'vector' && rhs.type === 'vector') {
          if (node.matching) {
            for (const l of node.matching.labels)
              if (!lhs.labels.has(l) || !rhs.labels.has(l))
                fail(`${node.op} ${node.matching.mode} (${l}): not on both sides`);
          } else if (!same(lhs.labels, rhs.labels)) {
            fail(
              `${node.op} between vectors with labels {${[...lhs.labels].join(',')}} and {${[...rhs.labels].join(',')}} (nothing would match)`,
            );
          }
          return { type: 'vector', labels: lhs.labels };
        }
        if (lhs.type === 'vector' || rhs.type === 'vector') return lhs.type === 'vector' ? lhs : rhs;
        if (lhs.type !== 'scalar' || rhs.type !== 'scalar') fail(`${node.op} on a ${lhs.type} and a ${rhs.type}`);
        return { type: 'scalar' };
      }
    }
  }

  let tree: Node;
  try {
    tree = parse(expr);
  } catch (error) {
    return [(error as Error).message];
  }
  const shape = visit(tree, []);
  if (shape.type !== 'vector' && shape.type !== 'scalar') fail(`a query must return a vector, not a ${shape.type}`);
  return problems;
}

function selectors(node: Node): { name: string }[] {
  switch (node.kind) {
    case 'selector':
      return [node];
    case 'call':
      return node.args.flatMap(selectors);
    case 'aggregate':
      return [...(node.param ? selectors(node.param) : []), ...selectors(node.expr)];
    case 'binary':
      return [...selectors(node.lhs), ...selectors(node.rhs)];
    case 'negate':
      return selectors(node.expr);
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------

const rows = (dashboard.panels as any[]).filter((p) => p.type === 'row');
const panels: any[] = (dashboard.panels as any[]).flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
const queries = panels.flatMap((p) =>
  (p.targets ?? []).map((t: any) => ({ panel: `${p.id} ${p.title}`, target: t, expr: String(t.expr ?? '') })),
);
const variables: any[] = dashboard.templating?.list ?? [];
const variableQueries = variables
  .filter((v) => v.type === 'query')
  .map((v) => String(typeof v.query === 'object' ? v.query.query : v.query));
const metricNames = (text: string) => [...text.matchAll(/\bfirelane_[a-z0-9_]+/g)].map((m) => m[0]);

describe('the Grafana dashboard', () => {
  it('is a current dashboard model: uid, title, tags, 30 s refresh, last 6 hours', () => {
    expect(dashboard).toMatchObject({
      uid: 'firelane',
      title: 'firelane',
      refresh: '30s',
      time: { from: 'now-6h', to: 'now' },
    });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.tags).toContain('firelane');
    expect(dashboard.id ?? null).toBeNull(); // an exported id would clash on import
    expect(dashboard.__inputs ?? []).toEqual([]); // the data source comes from the variable, not an import-time input
  });

  it('takes its Prometheus data source from a `datasource` variable that every panel and target uses', () => {
    const ds = variables.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const refersToVariable = (d: any) =>
      d?.type === 'prometheus' && (d.uid === '${datasource}' || d.uid === '$datasource');
    for (const p of panels) expect(refersToVariable(p.datasource), `panel ${p.id} ${p.title}`).toBe(true);
    for (const q of queries)
      if (q.target.datasource !== undefined) expect(refersToVariable(q.target.datasource), q.panel).toBe(true);
    for (const v of variables.filter((v) => v.type === 'query'))
      expect(refersToVariable(v.datasource), `variable ${v.name}`).toBe(true);
    expect(variables.find((v) => v.name === 'job')).toMatchObject({ type: 'query', includeAll: true });
  });

  it('has unique panel ids, current panel types, units and titles', () => {
    const ids = [...rows, ...panels].map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(PANEL_TYPES.has(p.type), `panel ${p.id} type ${p.type}`).toBe(true);
      expect(p.title, `panel ${p.id}`).toMatch(/\S/);
      expect(p.fieldConfig?.defaults?.unit, `unit of ${p.id} ${p.title}`).toMatch(/\S/);
      expect(p.targets?.length, `targets of ${p.id} ${p.title}`).toBeGreaterThan(0);
    }
  });

  it('has the six section rows, in order, every panel inside the grid, below a row, without overlaps', () => {
    expect(rows.map((r) => r.title)).toEqual(SECTIONS);
    const all = [...rows, ...panels];
    for (const p of all) {
      const { x, y, w, h } = p.gridPos ?? {};
      expect(
        [x, y, w, h].every((n) => Number.isInteger(n)),
        `gridPos of ${p.id}`,
      ).toBe(true);
      expect(
        x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24,
        `gridPos of ${p.id} ${p.title}: ${JSON.stringify(p.gridPos)}`,
      ).toBe(true);
    }
    for (const r of rows) expect(r.gridPos).toMatchObject({ x: 0, w: 24, h: 1 });
    const rowYs = rows.map((r) => r.gridPos.y as number);
    expect([...rowYs].sort((a, b) => a - b)).toEqual(rowYs);
    for (const p of panels) expect(p.gridPos.y, `${p.id} ${p.title} above the first row`).toBeGreaterThan(rowYs[0]!);
    // No two rectangles overlap (rows included, so a panel cannot straddle a section boundary either).
    const overlaps: string[] = [];
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        const A = a.gridPos;
        const B = b.gridPos;
        if (A.x < B.x + B.w && B.x < A.x + A.w && A.y < B.y + B.h && B.y < A.y + A.h)
          overlaps.push(`${a.id} ${a.title} / ${b.id} ${b.title}`);
      }
    }
    expect(overlaps).toEqual([]);
    // Every section has panels.
    for (const [i, r] of rows.entries()) {
      const end = rowYs[i + 1] ?? Infinity;
      expect(
        panels.some((p) => p.gridPos.y > r.gridPos.y && p.gridPos.y < end),
        `section ${r.title}`,
      ).toBe(true);
    }
  });

  it('gives every target an expr and a refId unique in its panel; $__range only in instant queries', () => {
    for (const p of panels) {
      const refIds = (p.targets as any[]).map((t) => t.refId);
      expect(
        refIds.every((r) => typeof r === 'string' && r.length > 0),
        `${p.id} ${p.title}`,
      ).toBe(true);
      expect(new Set(refIds).size, `${p.id} ${p.title}`).toBe(refIds.length);
    }
    for (const q of queries) {
      expect(q.expr, q.panel).toMatch(/\S/);
      // Over a range query, each point would cover the whole dashboard range.
      if (q.expr.includes('$__range'))
        expect({ panel: q.panel, instant: q.target.instant, range: q.target.range }).toEqual({
          panel: q.panel,
          instant: true,
          range: false,
        });
    }
  });

  it('uses only metrics that firelane exposes', () => {
    const unknown = [...queries.map((q) => q.expr), ...variableQueries]
      .flatMap(metricNames)
      .filter((name) => !resolve(name));
    expect(unknown).toEqual([]);
    expect(queries.length).toBeGreaterThan(0);
  });

  it('has a panel for every metric src/metrics.ts creates', () => {
    expect(explicit.length).toBeGreaterThan(10);
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)).map((name) => resolve(name)?.family));
    expect(explicit.filter((name) => !used.has(name))).toEqual([]);
    // The process panels the brief asks for.
    for (const name of [
      'firelane_process_resident_memory_bytes',
      'firelane_process_cpu_seconds_total',
      'firelane_nodejs_eventloop_lag_p99_seconds',
    ])
      expect(used.has(name), name).toBe(true);
  });

  it('writes PromQL that means something: functions over the right metric types, labels that exist', () => {
    const problems = queries.flatMap((q) => check(q.expr).map((p) => `${q.panel}: ${p}`));
    expect(problems).toEqual([]);
  });

  it("plots acknowledgement latency against Slack's 3 s limit", () => {
    const ack = panels.filter((p) =>
      p.targets.some((t: any) =>
        /histogram_quantile\(0\.99, sum by \(le, platform, command\).*firelane_ack_latency_seconds_bucket/.test(t.expr),
      ),
    );
    expect(ack.length).toBeGreaterThan(0);
    expect(ack.some((p) => p.fieldConfig.defaults.thresholds.steps.some((s: any) => s.value === 3))).toBe(true);
  });
});

describe('the dashboard checker', () => {
  // The semantic checks must reject the mistakes they exist for, or the test above proves nothing.
  it.each([
    [
      'rate of a gauge',
      'sum(rate(firelane_open_incidents{job=~"$job"}[5m]))',
      /rate\(\) over firelane_open_incidents, a gauge/,
    ],
    ['rate of a gauge named _total', 'sum(rate(firelane_nodejs_active_handles_total{job=~"$job"}[5m]))', /a gauge/],
    ['a raw counter', 'sum(firelane_commands_total{job=~"$job"})', /without rate/],
    [
      'quantile over a counter',
      'histogram_quantile(0.9, sum by (le) (rate(firelane_commands_total{job=~"$job"}[5m])))',
      /not a histogram's _bucket/,
    ],
    [
      'quantile dropping le',
      'histogram_quantile(0.9, sum by (command) (rate(firelane_ack_latency_seconds_bucket{job=~"$job"}[5m])))',
      /without `le`/,
    ],
    [
      'a label the metric lacks',
      'sum by (severity) (rate(firelane_commands_total{job=~"$job"}[5m]))',
      /no label severity/,
    ],
    [
      'a label dropped below',
      'sum by (command) (sum by (outcome) (rate(firelane_commands_total{job=~"$job"}[5m])))',
      /no label command/,
    ],
    [
      'mismatched division',
      'sum by (severity) (rate(firelane_incident_time_to_resolve_seconds_sum{job=~"$job"}[5m])) / sum(rate(firelane_incident_time_to_resolve_seconds_count{job=~"$job"}[5m]))',
      /nothing would match/,
    ],
    [
      'a bucket that does not exist',
      'sum(rate(firelane_ack_latency_seconds_bucket{job=~"$job", le="4"}[5m]))',
      /no bucket le="4"/,
    ],
    ['_sum of a counter', 'sum(rate(firelane_commands_total_sum{job=~"$job"}[5m]))', /unknown series/],
    ['a missing job filter', 'sum(firelane_open_incidents)', /not filtered by job/],
    ['a range outside a function', 'sum(firelane_open_incidents{job=~"$job"}[5m])', /outside a range function/],
  ])('rejects %s', (_name, expr, message) => {
    expect(check(expr).join('\n')).toMatch(message);
  });

  it('accepts well-formed queries', () => {
    expect(check('time() - max(firelane_process_start_time_seconds{job=~"$job"})')).toEqual([]);
    expect(
      check(
        '1 - sum(increase(firelane_ack_latency_seconds_bucket{job=~"$job", le="2.5"}[$__range])) / sum(increase(firelane_ack_latency_seconds_count{job=~"$job"}[$__range]))',
      ),
    ).toEqual([]);
    expect(
      check('sum without (instance) (rate(firelane_upstream_errors_total{job=~"$job"}[$__rate_interval]))'),
    ).toEqual([]);
  });

  it('finds histogram series and nothing else by suffix', () => {
    expect(resolve('firelane_deploy_duration_seconds_bucket')).toMatchObject({
      family: 'firelane_deploy_duration_seconds',
      suffix: '_bucket',
    });
    expect(resolve('firelane_nodejs_gc_duration_seconds_count')).toMatchObject({
      family: 'firelane_nodejs_gc_duration_seconds',
      suffix: '_count',
    });
    expect(resolve('firelane_commands_total')).toMatchObject({ type: 'counter', suffix: '' });
    expect(resolve('firelane_open_incidents_count')).toBeUndefined();
  });
});
