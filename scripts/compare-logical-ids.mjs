#!/usr/bin/env node
// Logical-id guard for refactors: synthesizes every stage of the reference app and records, per
// stack, each resource's logical id and type.
//
//   node scripts/compare-logical-ids.mjs --save <file>      record a baseline
//   node scripts/compare-logical-ids.mjs --against <file>   compare with a baseline
//   node scripts/compare-logical-ids.mjs --template-dir <cdk.out> ...  use an existing assembly
//
// `--against` prints every added, removed and changed id and exits 1 when a resource that holds
// data was removed or changed type (CloudFormation replaces a resource whose logical id
// changes: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html).
// "Holds data" means DeletionPolicy Retain/Snapshot, or one of STATEFUL_TYPES below. Stateless
// changes (alarms, policies, functions) are listed but allowed.
//
// Synth runs the app directly (no CDK CLI) with the checked-in cdk.json context and bundling
// skipped (`aws:cdk:bundling-stacks: []`), so it needs no AWS credentials and no esbuild run;
// asset hashes do not affect logical ids.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Resource types that hold data whatever their DeletionPolicy says. */
export const STATEFUL_TYPES = [
  /^AWS::RDS::/,
  /^AWS::ElastiCache::/,
  /^AWS::Backup::/,
  /^AWS::S3::Bucket$/,
  /^AWS::DynamoDB::/,
  /^AWS::KMS::/,
  /^AWS::SecretsManager::Secret$/,
  /^AWS::Logs::LogGroup$/,
];

function usage(message) {
  console.error(
    `${message}\nusage: node scripts/compare-logical-ids.mjs (--save <file> | --against <file>) [--template-dir <dir>]`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (!['--save', '--against', '--template-dir'].includes(flag)) usage(`unknown argument: ${flag}`);
    const value = argv[i + 1];
    if (!value || value.startsWith('--')) usage(`${flag} needs a value`);
    args[flag.slice(2)] = value;
    i += 1;
  }
  if (!args.save === !args.against) usage('give exactly one of --save or --against');
  return args;
}

function synthesize() {
  const outdir = mkdtempSync(join(tmpdir(), 'shipshape-ids-'));
  const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8'));
  const context = { ...(cdkJson.context ?? {}), 'aws:cdk:bundling-stacks': [] };
  const run = spawnSync('npx', ['tsx', 'bin/shipshape-app.ts'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
  });
  if (run.status !== 0) {
    rmSync(outdir, { recursive: true, force: true });
    console.error('synth failed');
    process.exit(run.status ?? 1);
  }
  return outdir;
}

/** { "<stage>/<stack>": { "<logicalId>": { type, deletionPolicy? } } } of every nested assembly. */
export function collect(dir, into = {}) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly') collect(join(dir, artifact.properties.directoryName), into);
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const template = JSON.parse(readFileSync(join(dir, artifact.properties.templateFile), 'utf8'));
    const resources = {};
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const key = stableId(logicalId, resource.Type);
      resources[key] = { type: resource.Type };
      if (resource.DeletionPolicy) resources[key].deletionPolicy = resource.DeletionPolicy;
    }
    into[artifact.displayName ?? id] = resources;
  }
  return into;
}

/**
 * `fn.currentVersion` ends its logical id in a hash of the function's code and configuration, so
 * it changes with every code change by design (a new version is published, the old one kept):
 * compared without that hash. https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_lambda.Function.html#currentversion
 */
function stableId(logicalId, type) {
  return type === 'AWS::Lambda::Version' ? logicalId.replace(/[0-9a-f]{32}$/, '<hash>') : logicalId;
}

export function isStateful(resource) {
  return (
    resource.deletionPolicy === 'Retain' ||
    resource.deletionPolicy === 'Snapshot' ||
    STATEFUL_TYPES.some((pattern) => pattern.test(resource.type))
  );
}

/** Differences between two collections; `blocking` lists the ones that would replace data. */
export function compare(before, after) {
  const added = [];
  const removed = [];
  const changed = [];
  const stacks = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const stack of stacks) {
    const was = before[stack] ?? {};
    const is = after[stack] ?? {};
    for (const id of Object.keys(is)) if (!(id in was)) added.push({ stack, id, ...is[id] });
    for (const id of Object.keys(was)) {
      if (!(id in is)) removed.push({ stack, id, ...was[id] });
      else if (was[id].type !== is[id].type || was[id].deletionPolicy !== is[id].deletionPolicy) {
        changed.push({ stack, id, type: was[id].type, deletionPolicy: was[id].deletionPolicy, now: is[id] });
      }
    }
  }
  const blocking = [...removed.filter(isStateful), ...changed.filter(isStateful)];
  return { added, removed, changed, blocking };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = args['template-dir'] ?? synthesize();
  const current = collect(dir);
  if (!args['template-dir']) rmSync(dir, { recursive: true, force: true });
  const count = Object.values(current).reduce((n, r) => n + Object.keys(r).length, 0);

  if (args.save) {
    writeFileSync(args.save, `${JSON.stringify(current, null, 2)}\n`);
    console.log(`Saved ${count} logical ids of ${Object.keys(current).length} stacks to ${args.save}`);
    return;
  }

  const baseline = JSON.parse(readFileSync(args.against, 'utf8'));
  const { added, removed, changed, blocking } = compare(baseline, current);
  const show = (r) =>
    `  ${isStateful(r) ? '[stateful] ' : ''}${r.stack} ${r.id} (${r.type}${r.deletionPolicy ? `, ${r.deletionPolicy}` : ''})`;
  console.log(
    `Compared ${count} logical ids of ${Object.keys(current).length} stacks against ${args.against}`,
  );
  console.log(`added: ${added.length}`);
  for (const r of added) console.log(show(r));
  console.log(`removed: ${removed.length}`);
  for (const r of removed) console.log(show(r));
  console.log(`changed: ${changed.length}`);
  for (const r of changed)
    console.log(`${show(r)} -> ${r.now.type}${r.now.deletionPolicy ? `, ${r.now.deletionPolicy}` : ''}`);
  if (blocking.length > 0) {
    console.error(
      `\n${blocking.length} resource(s) that hold data would be replaced or lose their deletion policy:`,
    );
    for (const r of blocking) console.error(show(r));
    process.exit(1);
  }
  console.log('\nNo resource that holds data changed.');
}

if (import.meta.url === `file://${process.argv[1]}`) main();
