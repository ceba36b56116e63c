import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';

// The API bundle as NodejsFunction builds it (minified CJS for Node 24, AWS SDK bundled).
// Measured at about 1.1 MB: @redis/client (~420 KB, CommonJS, not tree-shakable) and the AWS
// SDK credential chain that @aws-sdk/rds-signer and the Secrets Manager client pull in (~400 KB)
// are most of it. The ceiling catches a regression such as classic zod (+430 KB) sneaking back.
const CEILING_BYTES = 1_200_000;

let metafile: Metafile;
let bytes: number;

beforeAll(async () => {
  const result = await build({
    entryPoints: [join(__dirname, '..', '..', '..', 'lambda', 'api', 'index.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  metafile = result.metafile;
  bytes = result.outputFiles[0].contents.byteLength;
}, 60_000);

function inputsMatching(pattern: RegExp): string[] {
  return Object.keys(metafile.inputs).filter((path) => pattern.test(path));
}

describe('API bundle', () => {
  test(`stays under ${CEILING_BYTES / 1000} KB minified`, () => {
    expect(bytes).toBeLessThan(CEILING_BYTES);
  });

  test('uses zod/mini, not classic zod', () => {
    expect(inputsMatching(/zod\/v4\/classic\//)).toEqual([]);
    expect(inputsMatching(/zod\/v4\/mini\//).length).toBeGreaterThan(0);
  });

  test('contains no CDK code and only the AWS SDK clients the handler uses', () => {
    expect(inputsMatching(/aws-cdk-lib|constructs\//)).toEqual([]);
    const clients = new Set(
      inputsMatching(/@aws-sdk\/client-/).map((path) => /@aws-sdk\/(client-[a-z0-9-]+)/.exec(path)![1]),
    );
    expect([...clients]).toEqual(['client-secrets-manager']);
  });
});
