// docs/configuration.md checked against the config schema: the key paths of its tables are exactly
// the key paths the zod schema accepts, "required" and "duration" match the schema, and every
// default it states is what parseFileConfig really yields. firelane.example.yaml is checked too:
// it parses and shows every key.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, DEFAULT_PLAYBOOKS, parseFileConfig, STRATEGIES } from '../../src/config.js';
import { fileSchema } from '../../src/config/file-schema.js';
import { duration } from '../../src/config/leaf-schemas.js';
import { parseDuration } from '../../src/domain/duration.js';
import { SEVERITIES } from '../../src/domain/severity.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
const EXAMPLE = readFileSync(path.join(ROOT, 'firelane.example.yaml'), 'utf8');

// ---------------------------------------------------------------------------------------------
// The schema's key paths

type Schema = z.core.$ZodType;

/** The parts of a zod v4 definition this walk reads (`schema._zod.def`). */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  valueType?: Schema;
  element?: Schema;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
}
const defOf = (schema: Schema) => schema._zod.def as unknown as Def;

/** Placeholders for the keys of records, as the doc writes them. A new record needs one here. */
const RECORD_PLACEHOLDERS: Record<string, string> = {
  services: '<name>',
  'services.<name>.environments': '<environment>',
  approvals: '<environment>',
  people: '<person>',
  'alerts.rules[].match': '<label>',
};
const SEV = '<sev>';

interface KeyInfo {
  /** A value (not a mapping of further keys). */
  leaf: boolean;
  /** Missing is an error (not optional, not a section that turns nothing into {}). */
  required: boolean;
  /** The schema with its optional/nullable/section wrappers removed. */
  core: Schema;
}

/** Removes optional/nullable wrappers and section()'s preprocess; stops at a value() leaf. */
function unwrap(schema: Schema): { core: Schema; optional: boolean } {
  let current = schema;
  let optional = false;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      optional = true;
      current = def.innerType!;
    } else if (def.type === 'nullable' || def.type === 'readonly') {
      current = def.innerType!;
    } else if (def.type === 'pipe') {
      // value(): z.unknown().transform(...), a leaf with its own check.
      if (defOf(def.out!).type === 'transform') return { core: current, optional };
      // section(): z.preprocess (a transform piped into the mapping) that turns nothing into {}.
      if (defOf(def.in!).type === 'transform') optional = true;
      current = def.out!;
    } else {
      return { core: current, optional };
    }
  }
}

const LEAF_TYPES = new Set(['pipe', 'array', 'string', 'number', 'boolean', 'enum', 'literal', 'unknown']);
const join = (parent: string, key: string) => (parent === '' ? key : `${parent}.${key}`);

/**
 * Every key path the schema accepts (mappings and values), records as placeholders, sev0..sev3 as-is.
 * A list of mappings is a value whose items' keys are `<list>[].<key>`, listed where that item schema
 * first appears (an environment's `queries` is "as the service's", not a second set of rows).
 */
function rawKeyPaths(schema: Schema): Map<string, KeyInfo> {
  const out = new Map<string, KeyInfo>();
  const listedItems = new Set<Schema>();
  const add = (keyPath: string, child: Schema) => {
    const { core, optional } = unwrap(child);
    const type = defOf(core).type;
    const container = type === 'object' || type === 'record';
    if (!container && !LEAF_TYPES.has(type))
      throw new Error(`${keyPath}: schema type "${type}" is not handled by this walk`);
    out.set(keyPath, { leaf: !container, required: !optional, core });
    if (container) children(keyPath, core);
    if (type === 'array') {
      const item = unwrap(defOf(core).element!).core;
      if (defOf(item).type === 'record') throw new Error(`${keyPath}: lists of records are not handled by this walk`);
      if (defOf(item).type === 'object' && !listedItems.has(item)) {
        listedItems.add(item);
        children(`${keyPath}[]`, item);
      }
    }
  };
  const children = (keyPath: string, core: Schema) => {
    const def = defOf(core);
    if (def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape!)) add(join(keyPath, key), child);
    } else {
      const placeholder = RECORD_PLACEHOLDERS[keyPath];
      if (!placeholder)
        throw new Error(`${keyPath}: a record without a placeholder (add one to RECORD_PLACEHOLDERS and the doc)`);
      add(join(keyPath, placeholder), def.valueType!);
    }
  };
  children('', unwrap(schema).core);
  return out;
}

const ids = new Map<Schema, number>();
const idOf = (schema: Schema) => {
  if (!ids.has(schema)) ids.set(schema, ids.size + 1);
  return ids.get(schema)!;
};
const SEV_KEY = /(?<=^|\.)sev[0-3](?=\.|$)/;

/**
 * The raw paths with sev0..sev3 collapsed to <sev>; throws unless every collapsed path stands for
 * exactly the four severities with the same schema (so one row in the doc is true for all four).
 */
function collapseSeverities(raw: Map<string, KeyInfo>): Map<string, KeyInfo> {
  const groups = new Map<string, { sevs: string[]; infos: KeyInfo[] }>();
  for (const [keyPath, info] of raw) {
    const sev = SEV_KEY.exec(keyPath)?.[0];
    const collapsed = keyPath.replace(SEV_KEY, SEV);
    const group = groups.get(collapsed) ?? { sevs: [], infos: [] };
    if (sev) group.sevs.push(sev);
    group.infos.push(info);
    groups.set(collapsed, group);
  }
  const out = new Map<string, KeyInfo>();
  for (const [keyPath, { sevs, infos }] of groups) {
    if (keyPath.includes(SEV)) {
      if (sevs.join() !== SEVERITIES.join())
        throw new Error(`${keyPath}: found for ${sevs.join(', ')}, not for each of ${SEVERITIES.join(', ')}`);
      const shapes = new Set(infos.map((i) => `${i.leaf}|${i.required}|${idOf(i.core)}`));
      if (shapes.size !== 1)
        throw new Error(`${keyPath}: the severities differ here, so the doc cannot collapse them to ${SEV}`);
    }
    out.set(keyPath, infos[0]!);
  }
  return out;
}

const RAW_KEYS = rawKeyPaths(fileSchema);
const SCHEMA_KEYS = collapseSeverities(RAW_KEYS);
const LEAVES = [...SCHEMA_KEYS].filter(([, info]) => info.leaf).map(([keyPath]) => keyPath);

// ---------------------------------------------------------------------------------------------
// The doc's tables

interface Row {
  keyPath: string;
  type: string;
  defaultText: string;
  /** The `path` of the heading above the table ('' for "Top level"). */
  section: string | undefined;
  line: number;
}

function splitRow(line: string): string[] {
  const cells = line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/);
  return cells.map((cell) => cell.trim());
}

function docRows(markdown: string): Row[] {
  const rows: Row[] = [];
  let section: string | undefined;
  let inKeyTable = false;
  for (const [i, line] of markdown.split('\n').entries()) {
    const heading = /^#{2,6}\s+(.*)$/.exec(line);
    if (heading) {
      const title = heading[1]!.trim();
      section = title === 'Top level' ? '' : /^`([^`]+)`$/.exec(title)?.[1];
      inKeyTable = false;
      continue;
    }
    if (!line.startsWith('|')) {
      inKeyTable = false;
      continue;
    }
    const cells = splitRow(line);
    if (cells[0] === 'Key') {
      inKeyTable = true;
      expect(cells, `docs/configuration.md:${i + 1}: key table columns`).toEqual([
        'Key',
        'Type / accepted values',
        'Default',
        'Meaning',
      ]);
      continue;
    }
    if (!inKeyTable || cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    const keyPath = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!keyPath) throw new Error(`docs/configuration.md:${i + 1}: the Key cell is not one \`key.path\`: ${cells[0]}`);
    rows.push({ keyPath, type: cells[1] ?? '', defaultText: cells[2] ?? '', section, line: i + 1 });
  }
  return rows;
}

const ROWS = docRows(DOC);
const rowOf = (keyPath: string) => {
  const row = ROWS.find((r) => r.keyPath === keyPath);
  if (!row) throw new Error(`docs/configuration.md has no row for ${keyPath}`);
  return row;
};

// ---------------------------------------------------------------------------------------------
// Defaults: a minimal file (one service with the required Kubernetes keys, one environment with
// an approver) parsed, and the doc's Default column compared with it.

const MINIMAL = {
  services: {
    svc: {
      kubernetes: { namespace: 'ns', deployment: 'app', container: 'app', image: 'registry.example/app' },
      // The required keys of a metric gate, so the defaults of the others can be read.
      healthCheck: { prometheus: { url: 'http://prometheus:9090', queries: [{ name: 'errors', query: 'x', max: 1 }] } },
    },
  },
  approvals: { production: { approvers: ['u1'] } },
};
const parse = (data: unknown) =>
  parseFileConfig(typeof data === 'string' ? data : JSON.stringify(data), 'firelane.yaml');

/** A doc key path made concrete for MINIMAL: placeholders become its service, environment, severity. */
const concrete = (keyPath: string, sev: string = 'sev0', service = 'svc') =>
  keyPath
    .replace('<name>', service)
    .replace('environments.<environment>', `environments.${ENVIRONMENT}`)
    .replace('<environment>', 'production')
    .replace('<person>', 'lee')
    .replace('<label>', 'severity')
    .replace(SEV, sev);
/** The environment of the example's service whose keys the default checks read. */
const ENVIRONMENT = 'eu';
const ENVIRONMENT_KEYS = 'services.<name>.environments.<environment>.';

const isDuration = (keyPath: string) => SCHEMA_KEYS.get(keyPath)?.core === duration;

/**
 * The parsed config's value for a concrete key path (durations are stored as `<key>Ms`); `list[].key`
 * is the first item's that has one.
 */
function configValue(config: unknown, concretePath: string, durationKey: boolean): unknown {
  const parts = concretePath.split('.');
  let node: unknown = config;
  for (const [i, part] of parts.entries()) {
    if (node === undefined) return undefined;
    if (part.endsWith('[]')) {
      const items = (node as Record<string, unknown>)[part.slice(0, -2)];
      const rest = parts.slice(i + 1).join('.');
      if (!Array.isArray(items)) return undefined;
      return items.map((item) => configValue(item, rest, durationKey)).find((v) => v !== undefined);
    }
    const key = i === parts.length - 1 && durationKey ? `${part}Ms` : part;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function literal(text: string, durationKey: boolean): unknown {
  if (durationKey) {
    const ms = parseDuration(text);
    if (ms === undefined) throw new Error(`\`${text}\` is not a duration`);
    return ms;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

type Expected =
  { kind: 'required' } | { kind: 'none' } | { kind: 'values'; bySev: Record<string, unknown> } | { kind: 'prose' };

/** What a leaf row's Default cell claims: `required`, `none`, literal(s) in backticks, or prose. */
function expectedDefault(row: Row): Expected {
  const text = row.defaultText;
  if (/^required\b/.test(text)) return { kind: 'required' };
  if (/^none\b/.test(text)) return { kind: 'none' };
  if (!text.startsWith('`')) return { kind: 'prose' };
  const durationKey = isDuration(row.keyPath);
  if (row.keyPath.includes(SEV)) {
    const parts = [...text.matchAll(/`([^`]+)`(?:\s*\((sev[0-3])\))?/g)];
    expect(
      parts.map((p) => p[0]).join(', '),
      `${row.keyPath}: Default is \`x\` or \`x\` (sev0), ... for all four`,
    ).toBe(text);
    if (parts.length === 1 && parts[0]![2] === undefined) {
      const value = literal(parts[0]![1]!, durationKey);
      return { kind: 'values', bySev: Object.fromEntries(SEVERITIES.map((sev) => [sev, value])) };
    }
    expect(
      parts.map((p) => p[2]),
      `${row.keyPath}: a default per severity`,
    ).toEqual([...SEVERITIES]);
    return { kind: 'values', bySev: Object.fromEntries(parts.map((p) => [p[2]!, literal(p[1]!, durationKey)])) };
  }
  const only = /^`([^`]+)`$/.exec(text);
  if (!only) throw new Error(`${row.keyPath}: a Default in backticks must be the whole cell: ${text}`);
  return { kind: 'values', bySev: { sev0: literal(only[1]!, durationKey) } };
}

/** Leaf rows whose default is computed or too long for a cell; each has its own test below. */
const PROSE_DEFAULTS = new Set([
  'services.<name>.kubernetes.canaryInterval',
  'services.<name>.healthCheck.prometheus.queries[].max',
  'services.<name>.healthCheck.prometheus.queries[].min',
  'incidents.playbooks.<sev>',
  ...LEAVES.filter((k) => k.startsWith(ENVIRONMENT_KEYS)),
]);

/** Leaves that are the values of a record (the doc says "required": a key written needs its value). */
const RECORD_VALUES = new Set(['alerts.rules[].match.<label>']);

/** `data` without the key at `concretePath` (`list[]` is its first item, which must exist). */
function withoutKey(data: unknown, concretePath: string): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  const parts = concretePath.split('.');
  let node: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    if (part.endsWith('[]')) node = (node[part.slice(0, -2)] as Array<Record<string, unknown>>)[0]!;
    else node = (node[part] ?? (node[part] = {})) as Record<string, unknown>;
  }
  delete node[parts[parts.length - 1]!];
  return copy;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

// ---------------------------------------------------------------------------------------------

describe('the schema walk', () => {
  it('finds the known sections, records and severities', () => {
    for (const keyPath of [
      'incidents',
      'incidents.teams.announceChannel',
      'incidents.severities.<sev>.reminderEvery',
      'incidents.playbooks.<sev>',
      'services.<name>.kubernetes.canarySteps',
      'services.<name>.healthCheck.window',
      'approvals.<environment>.expiresAfter',
    ]) {
      expect(SCHEMA_KEYS.has(keyPath), keyPath).toBe(true);
    }
    expect(SCHEMA_KEYS.get('services.<name>.kubernetes.namespace')?.required).toBe(true);
    expect(SCHEMA_KEYS.get('services.<name>.kubernetes.strategy')?.required).toBe(false);
    expect(SCHEMA_KEYS.get('services.<name>.healthCheck')).toMatchObject({ leaf: false, required: false });
    expect(isDuration('incidents.severities.<sev>.reminderEvery')).toBe(true);
  });

  it("walks a list of mappings into its items' keys, once: where the item schema first appears", () => {
    const gates = 'services.<name>.healthCheck.prometheus';
    expect(SCHEMA_KEYS.get(`${gates}.queries`)).toMatchObject({ leaf: true, required: true });
    expect(SCHEMA_KEYS.get(`${gates}.queries[].name`)).toMatchObject({ leaf: true, required: true });
    expect(SCHEMA_KEYS.get(`${gates}.queries[].max`)).toMatchObject({ leaf: true, required: false });
    const inEnvironment = `${ENVIRONMENT_KEYS}healthCheck.prometheus`;
    expect(SCHEMA_KEYS.get(`${inEnvironment}.queries`)).toMatchObject({ leaf: true, required: false });
    expect(SCHEMA_KEYS.get(`${inEnvironment}.url`)).toMatchObject({ leaf: true, required: false });
    expect([...SCHEMA_KEYS.keys()].filter((k) => k.startsWith(`${inEnvironment}.queries[]`))).toEqual([]);
  });

  it('may collapse sev0..sev3 to <sev>: the four severities have the same keys and schemas', () => {
    for (const section of ['incidents.severities', 'incidents.playbooks']) {
      const sevKeys = [...RAW_KEYS.keys()].filter(
        (k) => k.startsWith(`${section}.`) && !k.slice(section.length + 1).includes('.'),
      );
      expect(sevKeys).toEqual(SEVERITIES.map((sev) => `${section}.${sev}`));
    }
    // collapseSeverities throws when they differ; the collapsed set is exactly a quarter of the raw sev paths.
    const rawSev = [...RAW_KEYS.keys()].filter((k) => SEV_KEY.test(k)).length;
    const collapsedSev = [...SCHEMA_KEYS.keys()].filter((k) => k.includes(SEV)).length;
    expect(rawSev).toBe(collapsedSev * SEVERITIES.length);
  });
});

describe('docs/configuration.md', () => {
  it('has one row for every key path of the schema, and none other', () => {
    const documented = ROWS.map((r) => r.keyPath);
    expect(
      documented.filter((k, i) => documented.indexOf(k) !== i),
      'documented twice',
    ).toEqual([]);
    const schema = [...SCHEMA_KEYS.keys()];
    expect({
      missingFromDoc: schema.filter((k) => !documented.includes(k)),
      notInSchema: documented.filter((k) => !SCHEMA_KEYS.has(k)),
    }).toEqual({ missingFromDoc: [], notInSchema: [] });
  });

  it('lists each key in the table of its section', () => {
    for (const row of ROWS) {
      const where = `docs/configuration.md:${row.line} ${row.keyPath}`;
      expect(row.section, `${where}: the heading above is neither "Top level" nor a \`key.path\``).toBeDefined();
      if (row.section === '') expect(row.keyPath, where).not.toContain('.');
      else
        expect(
          row.keyPath === row.section || row.keyPath.startsWith(`${row.section}.`),
          `${where} under \`${row.section}\``,
        ).toBe(true);
    }
  });

  it('says "required" exactly for the keys the schema requires', () => {
    for (const keyPath of LEAVES) {
      const row = rowOf(keyPath);
      expect(/^required\b/.test(row.defaultText), `${keyPath}: Default "${row.defaultText}"`).toBe(
        SCHEMA_KEYS.get(keyPath)!.required,
      );
    }
  });

  it('types as "duration" exactly the duration keys, and lists the strategies', () => {
    for (const keyPath of LEAVES) {
      const row = rowOf(keyPath);
      expect(row.type.startsWith('duration'), `${keyPath}: Type "${row.type}"`).toBe(isDuration(keyPath));
    }
    const strategy = rowOf('services.<name>.kubernetes.strategy');
    for (const s of STRATEGIES) expect(strategy.type).toContain(`\`${s}\``);
    expect(strategy.defaultText).toBe('`rolling`');
  });

  it('states the defaults parseFileConfig really uses (Default column, row by row)', () => {
    const minimal = parse(MINIMAL);
    const example = parse(EXAMPLE);
    const checked: string[] = [];
    for (const keyPath of LEAVES) {
      const row = rowOf(keyPath);
      const durationKey = isDuration(keyPath);
      // The key must exist in a config that sets it, or "none" below would pass for a wrong name.
      expect(
        configValue(example, concrete(keyPath, 'sev1', 'payments'), durationKey),
        `${keyPath} in the parsed example`,
      ).toBeDefined();
      const expected = expectedDefault(row);
      if (expected.kind === 'prose') {
        expect(
          PROSE_DEFAULTS.has(keyPath),
          `${keyPath}: Default "${row.defaultText}" is neither \`value\`, none nor required`,
        ).toBe(true);
        continue;
      }
      if (expected.kind === 'required' && RECORD_VALUES.has(keyPath)) {
        // A record's value: required once its key is written; leaving the key out is not an error.
        expect(errorOf(() => parse({ ...MINIMAL, alerts: { rules: [{ match: { severity: null } }] } }))).toContain(
          'alerts.rules[0].match.severity',
        );
      } else if (expected.kind === 'required') {
        const where = concrete(keyPath);
        expect(errorOf(() => parse(withoutKey(MINIMAL, where)))).toBe(
          `firelane.yaml: ${where.replaceAll('[]', '[0]')}: required`,
        );
      } else if (expected.kind === 'none') {
        expect(configValue(minimal, concrete(keyPath), durationKey), `${keyPath}: default none`).toBeUndefined();
      } else {
        for (const [sev, value] of Object.entries(expected.bySev)) {
          expect(configValue(minimal, concrete(keyPath, sev), durationKey), `${keyPath} (${sev})`).toEqual(value);
        }
      }
      checked.push(keyPath);
    }
    expect(checked.length).toBe(LEAVES.length - PROSE_DEFAULTS.size);
  });

  it('states the defaults of an empty file (the built-in defaults) the same way', () => {
    const empty = parse('');
    for (const sev of SEVERITIES) {
      for (const key of ['reminderEvery', 'escalateAfterMissed', 'responders']) {
        const keyPath = `incidents.severities.${SEV}.${key}`;
        const expected = expectedDefault(rowOf(keyPath));
        if (expected.kind !== 'values') throw new Error(`${keyPath}: expected literal defaults`);
        expect(configValue(empty, concrete(keyPath, sev), isDuration(keyPath)), `${keyPath} (${sev})`).toEqual(
          expected.bySev[sev],
        );
      }
    }
    // e.g. sev1 reminds every 15 minutes
    expect(empty.incidents.severities.sev1.reminderEveryMs).toBe(15 * 60_000);
    expect(empty.incidents.channelPrefix).toBe(
      literal(/^`(.*)`$/.exec(rowOf('incidents.channelPrefix').defaultText)![1]!, false),
    );
  });

  it('describes the approvals default: production with no approvers when absent, nothing added when given', () => {
    expect(rowOf('approvals').defaultText).toBe('`production` with no approvers');
    const defaults = {
      production: { approvers: [], required: 1, allowSelfApproval: false, expiresAfterMs: 30 * 60_000 },
    };
    expect(parse('').approvals).toEqual(defaults);
    expect(parse('approvals:\n').approvals).toEqual(defaults);
    expect(parse('approvals: {}').approvals).toEqual({});
    expect(Object.keys(parse({ approvals: { staging: { approvers: ['u1'] } } }).approvals)).toEqual(['staging']);
  });

  it('describes the canaryInterval default as healthCheck.window / number of steps, with the right example', () => {
    const row = rowOf('services.<name>.kubernetes.canaryInterval');
    expect(row.defaultText).toMatch(/`healthCheck\.window` divided by the number of `canarySteps`/);
    const k = parse(MINIMAL).services.svc!;
    // Not stored: the canary strategy computes it (src/jobs/strategies/canary.ts).
    expect(k.kubernetes!.canaryIntervalMs).toBeUndefined();
    // "(`5m` / 3 steps = `100s` with the defaults)"
    const durations = [...row.defaultText.matchAll(/`(\d+[smhd])`/g)].map((m) => parseDuration(m[1]!));
    expect(durations).toEqual([
      k.healthCheck.windowMs,
      Math.floor(k.healthCheck.windowMs / k.kubernetes!.canarySteps.length),
    ]);
    expect(row.defaultText).toContain(`/ ${k.kubernetes!.canarySteps.length} steps`);
  });

  it('describes max and min of a metric gate: at least one of them, neither has a default', () => {
    const gates = 'services.<name>.healthCheck.prometheus.queries[]';
    for (const key of ['max', 'min']) {
      expect(rowOf(`${gates}.${key}`).defaultText).toMatch(/^at least one of `max` and `min`/);
      expect(configValue(parse(MINIMAL), `services.svc.healthCheck.prometheus.queries[].${key}`, false)).toBe(
        key === 'max' ? 1 : undefined,
      );
    }
    const neither = structuredClone(MINIMAL);
    delete (neither.services.svc.healthCheck.prometheus.queries[0] as { max?: number }).max;
    expect(errorOf(() => parse(neither))).toBe(
      'firelane.yaml: services.svc.healthCheck.prometheus.queries[0]: needs max, min or both (the bounds its value must stay within)',
    );
  });

  it("describes an environment's keys as the service's own unless given (merged over them)", () => {
    const service = {
      kubernetes: {
        context: 'prod',
        namespace: 'ns',
        deployment: 'app',
        container: 'c',
        image: 'registry.example/app',
        strategy: 'canary',
        service: 'svc',
        canarySteps: [50, 100],
        canaryInterval: '1m',
      },
      healthCheck: {
        url: 'http://app/healthz',
        window: '2m',
        prometheus: {
          url: 'http://prometheus:9090',
          interval: '10s',
          onNoData: 'ignore',
          queries: [{ name: 'errors', query: 'x', max: 1, min: 0 }],
        },
      },
    };
    const leaves = LEAVES.filter((k) => k.startsWith(ENVIRONMENT_KEYS));
    for (const keyPath of leaves) expect(rowOf(keyPath).defaultText, keyPath).toBe("the service's");
    const config = parse({
      services: { svc: { ...service, environments: { eu: { kubernetes: { context: 'eu' } } } } },
      approvals: { production: { approvers: ['u1'] }, eu: { approvers: ['u1'] } },
    });
    const own = config.services.svc!;
    const eu = own.environments!.eu!;
    expect(eu.kubernetes).toEqual({ ...own.kubernetes, context: 'eu' });
    expect(eu.healthCheck).toEqual(own.healthCheck);
    // Every documented key of an environment is one the merge carries over.
    for (const keyPath of leaves) {
      const serviceKey = keyPath.slice(ENVIRONMENT_KEYS.length);
      const inherited =
        serviceKey === 'kubernetes.context'
          ? 'eu'
          : configValue(config, `services.svc.${serviceKey}`, isDuration(keyPath));
      expect(inherited, keyPath).toBeDefined();
      expect(configValue(config, `services.svc.environments.eu.${serviceKey}`, isDuration(keyPath)), keyPath).toEqual(
        inherited,
      );
    }
  });

  it('lists the built-in playbooks as they are', () => {
    const section = DOC.split(/^## Built-in playbooks$/m)[1]?.split(/^## /m)[0] ?? '';
    const documented: Record<string, string[]> = {};
    let current: string[] | undefined;
    for (const line of section.split('\n')) {
      const sev = /^\*\*`(sev[0-3])`\*\*$/.exec(line)?.[1];
      if (sev) documented[sev] = current = [];
      const item = /^\d+\. (.*)$/.exec(line)?.[1];
      if (item !== undefined) current?.push(item);
    }
    expect(documented).toEqual(DEFAULT_PLAYBOOKS);
    expect(parse('').incidents.playbooks).toEqual(DEFAULT_PLAYBOOKS);
    expect(rowOf('incidents.playbooks.<sev>').defaultText).toContain('(#built-in-playbooks)');
  });
});

describe('firelane.example.yaml', () => {
  it('parses', () => {
    expect(() => parse(EXAMPLE)).not.toThrow();
  });

  it('shows every key of the schema (and no other)', () => {
    const shown = new Set<string>();
    const visit = (node: unknown, parent: string) => {
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        let keyPath = join(parent, key);
        if (!SCHEMA_KEYS.has(keyPath)) {
          const placeholder = [...SCHEMA_KEYS.keys()].find(
            (k) => k.startsWith(`${join(parent, '<')}`) && !k.slice(parent.length + 1).includes('.'),
          );
          if (placeholder) keyPath = placeholder;
        }
        shown.add(keyPath);
        if (Array.isArray(value)) {
          // A list of mappings: its items' keys are `<list>[].<key>`.
          if ([...SCHEMA_KEYS.keys()].some((k) => k.startsWith(`${keyPath}[].`)))
            for (const item of value) visit(item, `${keyPath}[]`);
        } else if (SCHEMA_KEYS.get(keyPath)?.leaf === false && value !== null && typeof value === 'object')
          visit(value, keyPath);
      }
    };
    visit(parseYaml(EXAMPLE), '');
    expect(
      [...shown].filter((k) => !SCHEMA_KEYS.has(k)),
      'keys the schema does not have',
    ).toEqual([]);
    expect(
      LEAVES.filter((k) => !shown.has(k)),
      'keys the example leaves out',
    ).toEqual([]);
  });

  it('lists the default severities, as its comment says', () => {
    expect(parse(EXAMPLE).incidents.severities).toEqual(parse('').incidents.severities);
  });
});
