import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
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
 * `index.handler`). Synth bundles nothing: no esbuild, no Docker, like aws-cdk-lib's own
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
  // A local copy step (no Docker, no esbuild; the image is never pulled) merges the handler and
  // the extra directories; hashing the output covers all of them.
  return lambda.Code.fromAsset(dir, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('shipshape-local-copy-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          for (const name of readdirSync(dir))
            cpSync(join(dir, name), join(outputDir, name), { recursive: true });
          for (const [target, source] of extra) cpSync(source, join(outputDir, target), { recursive: true });
          return true;
        },
      },
    },
  });
}
