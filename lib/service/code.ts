import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * The team's code: an `entry` file bundled at synth with esbuild (the settings of
 * {@link HANDLER_BUNDLING}), or a ready `code` + `handler`. Exactly one of `entry` and `code`.
 */
export interface ServiceCode {
  /**
   * Entry file of the API handler (`.ts` or `.js`, exporting `handler`), bundled at synth in the
   * adopter's repository.
   * @default - none; `code` must be set
   */
  readonly entry?: string;
  /**
   * Ready code, e.g. a prebuilt asset or `lambda.Code.fromAsset('dist/api')`.
   * @default - none; `entry` must be set
   */
  readonly code?: lambda.Code;
  /**
   * The handler: the exported function's name with `entry`, `file.export` with `code`.
   * @default 'handler' with `entry`; required with `code`
   */
  readonly handler?: string;
  /**
   * Root of the project `entry` belongs to (esbuild resolves modules from here).
   * @default - the directory of the closest lock file
   */
  readonly projectRoot?: string;
  /**
   * Lock file of that project.
   * @default - the closest package-lock.json, yarn.lock, pnpm-lock.yaml or bun.lockb
   */
  readonly depsLockFilePath?: string;
}

/**
 * The esbuild settings of an adopter's handler, the same as `npm run build` uses for Shipshape's
 * prebuilt handlers (scripts/build.mjs): minified CommonJS for Node 24 with a linked source map
 * (no sources inside), everything bundled including the AWS SDK clients (tested versions, only
 * those imported), the optional native `pg` binding left out.
 */
export const HANDLER_BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node24',
  format: nodejs.OutputFormat.CJS,
  bundleAwsSDK: true,
  externalModules: ['pg-native'],
};
