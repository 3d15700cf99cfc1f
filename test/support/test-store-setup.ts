// Every test file (vitest's setupFiles): after its last test, the PostgreSQL databases it was handed
// (test-store.ts) and not dropped yet are dropped.
import { afterAll } from 'vitest';
import { dropAllDatabases } from './test-store.js';

afterAll(dropAllDatabases);
