import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Where `npm run build` puts the prebundled handlers, seen from this file: next to `lib/` in the
 * package (`dist/lib/util` → `dist/handlers`), or in `dist/` of the repository when the
 * constructs run from their TypeScript sources (jest, tsx).
 */
const CANDIDATES = [join(__dirname, '..', '..', 'handlers'), join(__dirname, '..', '..', 'dist', 'handlers')];

/** Options of {@link handlerCode}. */
export interface HandlerCodeOptions {
  /**
   * Directories copied into the asset next to the handler: target sub-directory → source
   * directory (for example the migrations the migration gate applies). The asset hash covers
   * their contents, so editing a file there deploys a new version.
   * @default - the prebuilt handler only
   */
  readonly extraDirectories?: Record<string, string>;
}

/** The directory of one prebuilt handler, e.g. `handlerDirectory('deploy-hooks/migration-gate')`. */
export function handlerDirectory(handlerPath: string): string {
  for (const root of CANDIDATES) {
    const dir = join(root, ...handlerPath.split('/'));
    if (existsSync(join(dir, 'index.js'))) return dir;
  }
  throw new Error(
    `The prebuilt Lambda handler '${handlerPath}' is missing (looked for index.js in ${CANDIDATES.map((c) =>
      join(c, handlerPath),
    ).join(' and ')}). Run \`npm run build\` to prebundle the handlers in lambda/ (an installed ` +
      '@shipshape/cdk package ships them already; reinstall it if they are gone).',
  );
}

/**
 * The code of one of Shipshape's Lambda handlers, prebundled by `npm run build` from
 * `lambda/<handlerPath>/index.ts` (exporting `handler`, so the function's handler is
 * `index.handler`: Lambda loads `<file>.js` from the code root as CommonJS and calls its export,
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html). Synth bundles nothing: no esbuild, no Docker, like aws-cdk-lib's own
 * custom-resource handlers.
 *
 * @param handlerPath the entry folder under `lambda/`, e.g. `'deploy-hooks/migration-gate'`
 */
export function handlerCode(handlerPath: string, options: HandlerCodeOptions = {}): lambda.Code {
  const dir = handlerDirectory(handlerPath);
  const extra = Object.entries(options.extraDirectories ?? {});
  if (extra.length === 0) return lambda.Code.fromAsset(dir);
  for (const [target, source] of extra) {
    if (!existsSync(source)) {
      throw new Error(
        `handlerCode('${handlerPath}'): the directory '${source}' to copy into '${target}/' does not exist.`,
      );
    }
  }
  return lambda.Code.fromAsset(mergedDirectory(dir, extra), { exclude: [COMPLETE_MARKER] });
}

/** Marks a finished merged directory; excluded from the asset. */
const COMPLETE_MARKER = '.shipshape-complete';

/** Every file below `dir` (relative paths, sorted), for hashing. */
function filesBelow(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) =>
      e.isDirectory() ? filesBelow(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
}

/**
 * The handler plus the extra directories, merged into a content-addressed directory under the
 * OS temp dir: same inputs, same directory (reused, not copied again), so synth stays quiet (no
 * bundling step) and the asset hash, computed from the merged contents, covers every file.
 */
function mergedDirectory(handlerDir: string, extra: Array<[string, string]>): string {
  const sources: Array<[string, string]> = [['.', handlerDir], ...extra];
  const hash = createHash('sha256');
  for (const [target, source] of sources) {
    for (const file of filesBelow(source)) {
      hash.update(`${target}/${file}\0`);
      hash.update(readFileSync(join(source, file)));
    }
  }
  const merged = join(tmpdir(), 'shipshape-handlers', hash.digest('hex').slice(0, 32));
  if (existsSync(join(merged, COMPLETE_MARKER))) return merged;
  const partial = `${merged}.${process.pid}.tmp`;
  rmSync(partial, { recursive: true, force: true });
  for (const [target, source] of sources) cpSync(source, join(partial, target), { recursive: true });
  writeFileSync(join(partial, COMPLETE_MARKER), '');
  try {
    rmSync(merged, { recursive: true, force: true });
    renameSync(partial, merged);
  } catch (error) {
    // Another process (a parallel test worker) finished the same directory first: use it.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(join(merged, COMPLETE_MARKER))) throw error;
  }
  return merged;
}
