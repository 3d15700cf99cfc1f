// Entry point of the configuration: loadConfig reads the environment and the YAML config file.
// Everything is validated once at start-up; a problem becomes one ConfigError line that names
// the variable (or the file and key path) and what is wrong, and never echoes a secret.
// The parts live under src/config/ and are re-exported here, so importers need only this module.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_FILE_CONFIG } from './config/defaults.js';
import { parseEnvConfig, read, secretValues as secretValuesOf } from './config/env.js';
import { parseFileConfig } from './config/file-schema.js';
import { ConfigError, type Config } from './config/types.js';
import { show } from './config/values.js';

export {
  ConfigError,
  LOG_LEVELS,
  STRATEGIES,
  TEAMS_APP_TYPES,
  type ApprovalPolicy,
  type Config,
  type EnvConfig,
  type FileConfig,
  type KubernetesTarget,
  type LogLevel,
  type ServiceConfig,
  type SeverityPolicy,
  type Strategy,
  type TeamsAppType,
} from './config/types.js';
export { DEFAULT_FILE_CONFIG, DEFAULT_PLAYBOOKS, DEFAULT_SEVERITY_POLICIES } from './config/defaults.js';
export { parseFileConfig } from './config/file-schema.js';
export { parseEnvConfig, redactEnvConfig, SECRET_ENV_VARS } from './config/env.js';

/**
 * The values of the secret variables that are set, for the logger to mask. The process.env
 * default lives here because this is the one module allowed to reach for the process environment.
 */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return secretValuesOf(env);
}

export const BUILT_IN_SOURCE = 'built-in defaults';
export const DEFAULT_CONFIG_FILE = 'firelane.yaml';

function readConfigFile(filePath: string, whoNames: string): string {
  try {
    return readFileSync(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(`${whoNames}: cannot read the file (${code})`);
  }
}

/**
 * Reads the environment and the config file: FIRELANE_CONFIG (must exist), else ./firelane.yaml
 * in cwd when present, else the built-in defaults. Throws ConfigError (one line) on any problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const envConfig = parseEnvConfig(env, cwd);

  const explicit = read(env, 'FIRELANE_CONFIG');
  let filePath: string | undefined;
  let label = DEFAULT_CONFIG_FILE;
  if (explicit !== undefined) {
    filePath = path.resolve(cwd, explicit);
    label = explicit;
    let stat;
    try {
      stat = statSync(filePath);
    } catch {
      throw new ConfigError(`FIRELANE_CONFIG: file ${show(explicit)} not found`);
    }
    if (!stat.isFile()) throw new ConfigError(`FIRELANE_CONFIG: ${show(explicit)} is not a file`);
  } else {
    const candidate = path.join(cwd, DEFAULT_CONFIG_FILE);
    if (existsSync(candidate) && statSync(candidate).isFile()) filePath = candidate;
  }

  if (filePath === undefined) {
    return { env: envConfig, file: structuredClone(DEFAULT_FILE_CONFIG), source: BUILT_IN_SOURCE };
  }
  const fileText = readConfigFile(filePath, explicit !== undefined ? `FIRELANE_CONFIG: ${label}` : label);
  const file = parseFileConfig(fileText, label);
  envConfig.configPath = filePath;
  return { env: envConfig, file, source: filePath };
}
