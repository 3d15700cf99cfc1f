/**
 * manifests/teams: the app package a Teams admin zips and uploads (issue 6). Offline checks only:
 *
 * 1. manifest.json parses; manifestVersion agrees with $schema; the ids are the placeholder GUID (the README says to
 *    replace both with MICROSOFT_APP_ID) and the bot id is the app id; every URL is https.
 * 2. The command menu (bots[0].commandLists) lists exactly the command families the router knows, in every list,
 *    within Teams' limits (10 commands a list, title 32, description 128 characters).
 * 3. The icons are PNGs of exactly 192x192 and 32x32 (read from IHDR), every chunk's CRC is right, and outline.png holds
 *    only white or fully transparent pixels (decoded here with node:zlib: 8-bit RGBA, no interlace, any row filter).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COMMAND_FAMILIES } from '../../src/commands/families.js';

const DIR = path.resolve(import.meta.dirname, '../../manifests/teams');
const PLACEHOLDER = '00000000-0000-0000-0000-000000000000';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What the router is built with in src/app.ts. */
const FAMILIES = COMMAND_FAMILIES.map((f) => f.name).sort();

type Obj = Record<string, any>;
const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Obj;

/** Every string value in the manifest, with its JSON path. */
function strings(value: unknown, at = '$'): Array<[string, string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

describe('manifests/teams/manifest.json', () => {
  it('parses, and manifestVersion is the version in $schema', () => {
    expect(manifest.manifestVersion).toBe('1.17');
    const schema =
      /^https:\/\/developer\.microsoft\.com\/(?:en-us\/)?json-schemas\/teams\/v([\d.]+)\/MicrosoftTeams\.schema\.json$/.exec(
        manifest.$schema,
      );
    expect(schema, manifest.$schema).not.toBeNull();
    expect(schema![1]).toBe(manifest.manifestVersion);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const key of [
      'manifestVersion',
      'version',
      'id',
      'developer',
      'name',
      'description',
      'icons',
      'accentColor',
    ]) {
      expect(manifest[key], key).toBeDefined();
    }
  });

  it('the app id and the bot id are the placeholder GUID, the same one, and the README says to replace both', () => {
    expect(manifest.id).toMatch(GUID);
    expect(manifest.id).toBe(PLACEHOLDER);
    expect(manifest.bots).toHaveLength(1);
    expect(manifest.bots[0].botId).toBe(manifest.id);
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    expect(readme).toContain(PLACEHOLDER);
    expect(readme).toMatch(/MICROSOFT_APP_ID/);
    expect(readme).toMatch(/bots\[0\]\.botId/);
    expect(readme).toMatch(/https:\/\/<host>\/api\/messages/);
    expect(readme).toMatch(/zip firelane-teams\.zip manifest\.json color\.png outline\.png/);
  });

  it('developer, name, descriptions and accent colour within the schema limits', () => {
    expect(manifest.developer.name).toBe('firelane');
    expect(manifest.developer.name.length).toBeLessThanOrEqual(32);
    for (const key of ['websiteUrl', 'privacyUrl', 'termsOfUseUrl']) {
      expect(new URL(manifest.developer[key]).host, key).toBe('firelane.example.com');
    }
    expect(manifest.name.short).toBe('firelane');
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(manifest.name.full.length).toBeLessThanOrEqual(100);
    expect(manifest.description.short.length).toBeGreaterThan(0);
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
    expect(manifest.description.full.length).toBeGreaterThan(0);
    expect(manifest.description.full.length).toBeLessThanOrEqual(4000);
    expect(manifest.accentColor).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.permissions).toEqual(['identity', 'messageTeamMembers']);
    expect(manifest.validDomains).toEqual(['firelane.example.com']);
  });

  it('the bot: team, personal and group chat; no files; conversational', () => {
    const bot = manifest.bots[0];
    expect([...bot.scopes].sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(bot.supportsFiles).toBe(false);
    expect(bot.isNotificationOnly ?? false).toBe(false);
  });

  it('every command list (team and personal) holds exactly the router command families, within Teams limits', () => {
    const lists = manifest.bots[0].commandLists as Obj[];
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.length).toBeLessThanOrEqual(3);
    const scopes = lists.flatMap((l) => l.scopes as string[]);
    expect(new Set(scopes).size, 'a scope in one list only').toBe(scopes.length);
    expect(scopes).toEqual(expect.arrayContaining(['team', 'personal']));
    for (const scope of scopes) expect(manifest.bots[0].scopes, `${scope} is a bot scope`).toContain(scope);

    expect(FAMILIES).toEqual(['deploy', 'hotfix', 'incident', 'rollback']);
    for (const list of lists) {
      const where = `commandList ${JSON.stringify(list.scopes)}`;
      const commands = list.commands as Obj[];
      expect(commands.length, where).toBeLessThanOrEqual(10);
      // Teams inserts the title into the compose box; the Teams adapter reads it with or without the leading /.
      expect(commands.map((c) => c.title).sort(), where).toEqual(FAMILIES);
      for (const c of commands) {
        expect(Object.keys(c).sort(), `${where} ${c.title}`).toEqual(['description', 'title']);
        expect(c.title.length, `${where} ${c.title}: title`).toBeLessThanOrEqual(32);
        expect(c.description.length, `${where} ${c.title}: description`).toBeGreaterThan(0);
        expect(c.description.length, `${where} ${c.title}: description`).toBeLessThanOrEqual(128);
      }
    }
  });

  it('every URL is https', () => {
    const urls = strings(manifest).filter(([, v]) => /^[a-z][a-z0-9+.-]*:\/\//i.test(v));
    expect(urls.map(([at]) => at)).toEqual(
      expect.arrayContaining([
        '$.$schema',
        '$.developer.websiteUrl',
        '$.developer.privacyUrl',
        '$.developer.termsOfUseUrl',
      ]),
    );
    for (const [at, url] of urls) expect(url, at).toMatch(/^https:\/\//);
    // validDomains are host names, without a scheme.
    for (const domain of manifest.validDomains as string[]) expect(domain).toMatch(/^[a-z0-9.*-]+$/i);
  });
});

/* ------------------------------------------------------------------------------------------------------------ */
/* icons                                                                                                        */
/* ------------------------------------------------------------------------------------------------------------ */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  idat: Buffer;
}

function readPng(file: string): Png {
  const buf = readFileSync(path.join(DIR, file));
  expect(buf.subarray(0, 8).equals(SIGNATURE), `${file}: PNG signature`).toBe(true);
  const chunks: Array<{ type: string; data: Buffer }> = [];
  let at = 8;
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    expect(buf.readUInt32BE(at + 8 + length), `${file}: CRC of ${type}`).toBe(
      crc32(buf.subarray(at + 4, at + 8 + length)),
    );
    chunks.push({ type, data });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  expect(chunks[0]?.type, `${file}: IHDR first`).toBe('IHDR');
  expect(chunks.at(-1)?.type, `${file}: IEND last`).toBe('IEND');
  const ihdr = chunks[0]!.data;
  return {
    width: ihdr.readUInt32BE(0),
    height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8]!,
    colorType: ihdr[9]!,
    interlace: ihdr[12]!,
    idat: Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)),
  };
}

/** RGBA pixels of an 8-bit RGBA, non-interlaced PNG (all five row filters undone). */
function decodeRgba(png: Png): Buffer {
  expect([png.bitDepth, png.colorType, png.interlace], '8-bit RGBA, not interlaced').toEqual([8, 6, 0]);
  const raw = inflateSync(png.idat);
  const bpp = 4;
  const stride = png.width * bpp;
  expect(raw.length).toBe(png.height * (stride + 1));
  const out = Buffer.alloc(png.height * stride);
  for (let y = 0; y < png.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp]! : 0;
      let predictor: number;
      if (filter === 0) predictor = 0;
      else if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`row ${y}: unknown filter ${filter}`);
      out[row + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return out;
}

describe('manifests/teams icons', () => {
  it('the manifest names color.png and outline.png, which are in the folder', () => {
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    for (const file of Object.values(manifest.icons as Record<string, string>))
      expect(existsSync(path.join(DIR, file)), file).toBe(true);
  });

  it('color.png is a 192x192 PNG, opaque', () => {
    const png = readPng('color.png');
    expect([png.width, png.height]).toEqual([192, 192]);
    const pixels = decodeRgba(png);
    const seeThrough = [];
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 255) seeThrough.push((i - 3) / 4);
    expect(seeThrough, 'pixels with alpha < 255').toEqual([]);
  });

  it('outline.png is a 32x32 PNG with only white or fully transparent pixels, and some of each', () => {
    const png = readPng('outline.png');
    expect([png.width, png.height]).toEqual([32, 32]);
    const pixels = decodeRgba(png);
    let white = 0;
    let transparent = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!, pixels[i + 3]!];
      if (a === 0) transparent++;
      else {
        expect([r, g, b], `pixel (${(i / 4) % 32}, ${Math.floor(i / 4 / 32)}) is white`).toEqual([255, 255, 255]);
        white++;
      }
    }
    expect(white).toBeGreaterThan(50);
    expect(transparent).toBeGreaterThan(50);
  });
});
