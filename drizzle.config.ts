// drizzle-kit: `npm run db:generate` writes a migration for each dialect from its schema.
// DRIZZLE_DIALECT picks one (sqlite by default); the script runs both.
import { defineConfig } from 'drizzle-kit';

export default process.env.DRIZZLE_DIALECT === 'postgresql'
  ? defineConfig({
      dialect: 'postgresql',
      schema: './src/adapters/postgres/schema.ts',
      out: './migrations/postgres',
    })
  : defineConfig({
      dialect: 'sqlite',
      schema: './src/adapters/db/schema.ts',
      out: './migrations/sqlite',
    });
