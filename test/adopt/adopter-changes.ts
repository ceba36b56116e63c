/**
 * The code changes docs/adopt.md tells an Express adopter to make, applied to a copy of the
 * fixture exactly as written there. Both adoption tests use them, so the docs, the tests and the
 * line counts in the closing note cannot drift apart.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE = join(__dirname, '..', 'fixtures', 'express-mvp');

/** The pool line of the fixture and its replacement (docs/adopt.md, step 3). */
export const POOL_LINE = {
  before: 'const pool = new Pool({ connectionString: process.env.DATABASE_URL });',
  after: "const pool = require('@shipshape/cdk/runtime').createPoolFromEnv();",
};

/** `app.listen(...)` only when run directly, and the app exported (docs/adopt.md, step 2). */
const LISTEN = {
  before: `app.listen(PORT, () => {
  console.log(\`Server running on port \${PORT}\`);
});
`,
  after: `if (require.main === module) {
  app.listen(PORT, () => {
    console.log(\`Server running on port \${PORT}\`);
  });
}

module.exports = app;
`,
};

function replaceOnce(file: string, before: string, after: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(before))
    throw new Error(`${file} does not contain the text the docs replace:\n${before}`);
  writeFileSync(file, text.replace(before, after));
}

/** Copies the fixture to `dir` as it arrives (including `.env`). */
export function copyFixture(dir: string): void {
  cpSync(FIXTURE, dir, { recursive: true });
}

/** Applies the documented code changes to the copy in `dir`. */
export function applyAdopterChanges(dir: string): void {
  replaceOnce(join(dir, 'db.js'), POOL_LINE.before, POOL_LINE.after);
  replaceOnce(join(dir, 'index.js'), LISTEN.before, LISTEN.after);
}

/** Lines added and removed per file between the fixture and the adopted copy (a line diff). */
export function changedLines(
  dir: string,
  files: readonly string[],
): Record<string, { added: number; removed: number }> {
  const result: Record<string, { added: number; removed: number }> = {};
  for (const file of files) {
    const before = readFileSync(join(FIXTURE, file), 'utf8').split('\n');
    const after = readFileSync(join(dir, file), 'utf8').split('\n');
    const common = lcs(before, after);
    result[file] = { added: after.length - common, removed: before.length - common };
  }
  return result;
}

function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const line of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = line === b[j - 1] ? diagonal + 1 : Math.max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.length];
}
