#!/usr/bin/env node
// Proves a refactor changed no logical id: lists every resource (stack, logical id, type) of a
// synthesized cloud assembly, nested stages included, and compares two such lists.
//
//   node scripts/compare-logical-ids.mjs list <cdk.out> > before.json
//   ... change the code, synthesize again ...
//   node scripts/compare-logical-ids.mjs compare before.json <cdk.out | after.json>
//
// `compare` exits 1 and prints every id that disappeared, appeared or changed type. Renaming a
// construct id replaces its resource (for a database: a new, empty one), so run this on both
// stages (`npx cdk synth '**'`) before and after moving constructs around.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `fn.currentVersion` names its AWS::Lambda::Version after a hash of the function's code and
 * settings (aws-cdk-lib's lambda `Function.currentVersion`), so that id changes with every code
 * change by design; a version holds no data. The hash is masked so the comparison shows only
 * ids that a refactor must not change.
 */
const VERSION_HASH = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}$/;
const stable = (id, type) =>
  type === 'AWS::Lambda::Version' ? id.replace(VERSION_HASH, '$1<code-hash>') : id;

/** @returns {Record<string, string>} "<stack>/<logicalId>" → resource type */
function listAssembly(dir) {
  const ids = {};
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly') {
      Object.assign(ids, listAssembly(join(dir, artifact.properties.directoryName)));
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const template = JSON.parse(readFileSync(join(dir, artifact.properties.templateFile), 'utf8'));
    const stack = artifact.displayName ?? artifact.properties.stackName;
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      ids[stable(`${stack}/${logicalId}`, resource.Type)] = resource.Type;
    }
  }
  return ids;
}

function load(pathOrDir) {
  const ids = statSync(pathOrDir).isDirectory()
    ? listAssembly(pathOrDir)
    : JSON.parse(readFileSync(pathOrDir, 'utf8'));
  // Lists written by an older copy of this script may hold the raw version hash.
  return Object.fromEntries(Object.entries(ids).map(([id, type]) => [stable(id, type), type]));
}

const [command, first, second] = process.argv.slice(2);
if (command === 'list' && first) {
  const ids = listAssembly(first);
  const sorted = Object.fromEntries(Object.entries(ids).sort(([a], [b]) => a.localeCompare(b)));
  process.stdout.write(`${JSON.stringify(sorted, null, 2)}\n`);
} else if (command === 'compare' && first && second) {
  const before = load(first);
  const after = load(second);
  const problems = [];
  for (const [id, type] of Object.entries(before)) {
    if (!(id in after)) problems.push(`- removed  ${id} (${type})`);
    else if (after[id] !== type) problems.push(`~ retyped  ${id}: ${type} -> ${after[id]}`);
  }
  for (const [id, type] of Object.entries(after)) {
    if (!(id in before)) problems.push(`+ added    ${id} (${type})`);
  }
  const count = Object.keys(before).length;
  if (problems.length === 0) {
    console.log(`compare-logical-ids: all ${count} resources keep their logical id and type`);
  } else {
    console.log(problems.sort().join('\n'));
    console.log(`compare-logical-ids: ${problems.length} difference(s) across ${count} resources`);
    process.exit(1);
  }
} else {
  console.error(
    'usage: compare-logical-ids.mjs list <cdk.out> | compare <before.json|cdk.out> <after.json|cdk.out>',
  );
  process.exit(2);
}
