// The SQLite and PostgreSQL schemas describe the same tables: same columns (name, nullability,
// default or not, primary key), same indexes (name, columns, unique, partial or not). A column added
// to one dialect only fails here, before it fails a replica.
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as sqliteSchema from '../../../src/adapters/db/schema.js';
import * as pgSchema from '../../../src/adapters/postgres/schema.js';

type Shape = Record<string, { columns: Record<string, string>; indexes: Record<string, string> }>;

interface AnyConfig {
  name: string;
  columns: Array<{ name: string; notNull: boolean; hasDefault: boolean; primary: boolean }>;
  indexes: Array<{ config: { name: string; columns: unknown[]; unique: boolean; where?: unknown } }>;
}

function describeTables(tables: AnyConfig[]): Shape {
  const shape: Shape = {};
  for (const t of tables) {
    shape[t.name] = {
      columns: Object.fromEntries(
        t.columns.map((c) => [
          c.name,
          // A key's default is the dialect's own (AUTOINCREMENT, serial): not compared.
          [c.notNull ? 'not null' : 'null', c.hasDefault && !c.primary ? 'default' : '', c.primary ? 'pk' : '']
            .filter(Boolean)
            .join(' '),
        ]),
      ),
      indexes: Object.fromEntries(
        t.indexes.map((i) => [
          i.config.name,
          [
            i.config.unique ? 'unique' : 'index',
            (i.config.columns as Array<{ name: string }>).map((c) => c.name).join(','),
            i.config.where ? 'partial' : '',
          ]
            .filter(Boolean)
            .join(' '),
        ]),
      ),
    };
  }
  return shape;
}

describe('the PostgreSQL schema', () => {
  const sqlite = describeTables(
    (Object.values(sqliteSchema) as unknown[])
      .filter((v): v is SQLiteTable => v instanceof SQLiteTable)
      .map((t) => sqliteConfig(t) as unknown as AnyConfig),
  );
  const postgres = describeTables(
    (Object.values(pgSchema) as unknown[])
      .filter((v): v is PgTable => v instanceof PgTable)
      .map((t) => pgConfig(t) as unknown as AnyConfig),
  );

  it('has every table of the SQLite schema and no other', () => {
    expect(Object.keys(postgres).sort()).toEqual(Object.keys(sqlite).sort());
    expect(Object.keys(sqlite).length).toBeGreaterThan(10);
  });

  it('has the same columns and indexes in every table', () => {
    expect(postgres).toEqual(sqlite);
  });
});
