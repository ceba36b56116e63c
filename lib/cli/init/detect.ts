/**
 * What `shipshape init` learns from the repository it runs in: package manager, language, web
 * framework, the module that builds the app, an existing schema file and the repository URL.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type PackageManager = 'npm' | 'yarn' | 'pnpm' | 'bun';
export type Language = 'typescript' | 'javascript';

export interface PackageJson {
  name?: string;
  main?: string;
  repository?: string | { url?: string };
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface ProjectFacts {
  readonly root: string;
  readonly packageJson: PackageJson;
  readonly packageManager: PackageManager;
  /** The lock file, relative to the root (NodejsFunction needs one to bundle). */
  readonly lockFile?: string;
  readonly language: Language;
  readonly framework?: 'express' | 'fastify' | 'hono';
  /** The module that creates the app: package.json `main`, else index/app/server.{ts,js}. */
  readonly appModule?: string;
  /** A schema file to turn into the baseline migration, relative to the root. */
  readonly schemaFile?: string;
  /** https URL of the repository (package.json `repository`, else git remote `origin`). */
  readonly repositoryUrl?: string;
}

const LOCK_FILES: readonly [string, PackageManager][] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['package-lock.json', 'npm'],
];

const SCHEMA_FILES = [
  'schema.sql',
  'db/schema.sql',
  'sql/schema.sql',
  'database/schema.sql',
  'init.sql',
  'db/init.sql',
];

/** Reads the facts; throws when `root` has no package.json (init works on Node.js projects). */
export function detectProject(root: string): ProjectFacts {
  const manifest = join(root, 'package.json');
  if (!existsSync(manifest)) {
    throw new Error(`${root} has no package.json: run shipshape init at the root of a Node.js project`);
  }
  const packageJson = JSON.parse(readFileSync(manifest, 'utf8')) as PackageJson;
  const lock = LOCK_FILES.find(([file]) => existsSync(join(root, file)));
  const deps = { ...packageJson.dependencies, ...packageJson.devDependencies };
  const language: Language =
    existsSync(join(root, 'tsconfig.json')) || 'typescript' in deps ? 'typescript' : 'javascript';
  const framework = (['express', 'fastify', 'hono'] as const).find(
    (f) => f in (packageJson.dependencies ?? {}),
  );
  const candidates = [
    packageJson.main,
    'index.ts',
    'index.js',
    'app.ts',
    'app.js',
    'server.ts',
    'server.js',
    'src/index.ts',
    'src/index.js',
    'src/app.ts',
    'src/app.js',
  ];
  const appModule = candidates.find((c): c is string => c !== undefined && existsSync(join(root, c)));
  return {
    root,
    packageJson,
    packageManager: lock?.[1] ?? 'npm',
    lockFile: lock?.[0],
    language,
    framework,
    appModule,
    schemaFile: SCHEMA_FILES.find((f) => existsSync(join(root, f))),
    repositoryUrl: repositoryUrl(root, packageJson),
  };
}

/** `git@github.com:o/r.git`, `git+https://github.com/o/r.git` → `https://github.com/o/r`. */
export function httpsRepositoryUrl(raw: string): string | undefined {
  const trimmed = raw
    .trim()
    .replace(/^git\+/, '')
    .replace(/\.git$/, '');
  const ssh = /^git@([^:]+):(.+)$/.exec(trimmed);
  if (ssh) return `https://${ssh[1]}/${ssh[2]}`;
  const url = /^(?:https?|ssh):\/\/(?:[^@/]+@)?([^/]+)\/(.+)$/.exec(trimmed);
  if (url) return `https://${url[1]}/${url[2]}`;
  const shorthand = /^(?:github:)?([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)$/.exec(trimmed);
  return shorthand ? `https://github.com/${shorthand[1]}` : undefined;
}

function repositoryUrl(root: string, packageJson: PackageJson): string | undefined {
  const declared =
    typeof packageJson.repository === 'string' ? packageJson.repository : packageJson.repository?.url;
  if (declared) return httpsRepositoryUrl(declared);
  if (!existsSync(join(root, '.git'))) return undefined;
  try {
    const origin = execFileSync('git', ['remote', 'get-url', 'origin'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return httpsRepositoryUrl(origin);
  } catch {
    return undefined;
  }
}

/** The command that runs a package script with this package manager. */
export function runScript(pm: PackageManager, script: string): string {
  return pm === 'npm' ? `npm run ${script}` : `${pm} run ${script}`;
}

/** The command that installs the dependencies init added. */
export function installCommand(pm: PackageManager): string {
  return pm === 'npm' ? 'npm install' : `${pm} install`;
}
