#!/usr/bin/env node
// `npm run docs:check` (part of `npm run lint`): regenerates the TypeDoc API reference into a
// temporary directory and fails when docs/api/ differs, naming the fix (`npm run docs`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * TypeDoc numbers its syntax-highlighting classes (`hl-0`, `hl-1`, ...) in the order it meets
 * token colours, which differs between machines for the same input; the check compares the
 * pages with those numbers masked and skips the generated colour table.
 */
const HIGHLIGHT_CSS = join('assets', 'highlight.css');
const normalized = (path) => readFileSync(path, 'utf8').replace(/\bhl-\d+\b/g, 'hl-N');

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMMITTED = join(ROOT, 'docs', 'api');

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const fresh = mkdtempSync(join(tmpdir(), 'shipshape-api-'));
try {
  const typedoc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', fresh],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (typedoc.status !== 0) {
    console.error(`docs:check: typedoc failed\n${typedoc.stdout}${typedoc.stderr}`);
    process.exit(1);
  }
  const want = new Map(files(fresh).map((f) => [relative(fresh, f), f]));
  const have = new Map(files(COMMITTED).map((f) => [relative(COMMITTED, f), f]));
  const stale = [];
  for (const [name, path] of want) {
    if (!have.has(name)) stale.push(`missing  docs/api/${name}`);
    else if (!readFileSync(path).equals(readFileSync(have.get(name))))
      stale.push(`outdated docs/api/${name}`);
  }
  for (const name of have.keys()) if (!want.has(name)) stale.push(`extra    docs/api/${name}`);
  if (stale.length > 0) {
    console.error(
      `${stale.slice(0, 20).join('\n')}${stale.length > 20 ? `\n... and ${stale.length - 20} more` : ''}`,
    );
    console.error(
      `docs:check: the API reference is out of date (${stale.length} file(s)); run \`npm run docs\` and commit docs/api/.`,
    );
    process.exit(1);
  }
  console.log(`docs:check: docs/api/ matches the TSDoc comments (${want.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
