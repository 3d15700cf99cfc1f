// One server per SQLite file: `serve` holds `<database>.serve.lock` (its pid, host and address) while
// it runs. A second `serve` on the same file is refused, naming the first; a lock left by a process
// that died is taken over. `firelane run` and `audit` do not take it: they share the file on purpose.
import path from 'node:path';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

interface Holder {
  pid: number;
  host: string;
  address?: string;
}

export interface ServeLock {
  /** Records the address the server listens on (shown to a second server). */
  setAddress(address: string): void;
  release(): void;
}

export class DatabaseInUse extends Error {}

function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true; // another machine sharing the file: trust its lock
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? (parsed as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the serve lock of `databasePath`, or throws DatabaseInUse naming the live server that holds it. */
export function takeServeLock(databasePath: string): ServeLock {
  const file = `${databasePath}.serve.lock`;
  mkdirSync(path.dirname(file), { recursive: true });
  const me: Holder = { pid: process.pid, host: hostname() };
  const write = () => {
    const fd = openSync(file, 'wx'); // exclusive: of two servers starting together, one gets it
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
  };
  for (let attempt = 0; ; attempt++) {
    try {
      write();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = readHolder(file);
      if (holder && alive(holder)) {
        throw new DatabaseInUse(
          `another firelane (pid ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ''}${holder.address ? `, ${holder.address}` : ''}) already serves ${databasePath}; stop it first, or give this one its own DATABASE_PATH`,
        );
      }
      unlinkSync(file); // left by a server that is gone
    }
  }
  return {
    setAddress(address) {
      me.address = address;
      writeFileSync(file, JSON.stringify(me)); // in place: the file never goes away while held
    },
    release() {
      if (readHolder(file)?.pid === me.pid) unlinkSync(file);
    },
  };
}
