/**
 * Which stacks are production, and why. Production-only rules (Multi-AZ, deletion protection)
 * apply there, and the report always says which stacks were treated as production and on what
 * grounds, so a missing tag never silently weakens the audit.
 */
import { ENVIRONMENT_TAG } from './rule';

/** Tag keys read as the environment of a stack, in order. */
const ENVIRONMENT_TAG_KEYS = [ENVIRONMENT_TAG, 'environment', 'Env', 'env', 'Stage', 'stage'];

/** Whether an environment or stage value names production (`production`, `prod`, `prd`, any case). */
export function isProductionEnvironment(value: string | undefined): boolean {
  return value !== undefined && /^(prod|production|prd|live)$/i.test(value.trim());
}

/** The words of a name: `MyAppProdStack` → my, app, prod, stack; `api-prod-eu` → api, prod, eu. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/** What the audit knows about a stack to tell whether it is production. */
export interface ProductionEvidence {
  /** `--production` / the pack's `production` prop. */
  readonly flag?: boolean;
  /** Stack names (or patterns with `*`) given with `--production-stack`. */
  readonly namedStacks?: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** The enclosing stage's name (`Production`), if any. */
  readonly stageName?: string;
  /** Display name (`Production/Stateful`) and CloudFormation stack name. */
  readonly stackNames: readonly string[];
}

/** The decision and its grounds, e.g. "tag Environment=production". */
export interface ProductionDecision {
  readonly production: boolean;
  readonly why: string;
}

function matchesPattern(name: string, pattern: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(name);
}

/**
 * Decides whether a stack is production, in this order: the flag; `--production-stack`; an
 * environment tag (either way: `Environment=staging` makes it not production whatever its name);
 * the stage name; a word of the stack name (`prod`, `production`).
 */
export function decideProduction(evidence: ProductionEvidence): ProductionDecision {
  if (evidence.flag === true) return { production: true, why: 'the --production flag (every stack)' };
  for (const pattern of evidence.namedStacks ?? []) {
    const name = evidence.stackNames.find((n) => matchesPattern(n, pattern));
    if (name) return { production: true, why: `named by --production-stack ${pattern}` };
  }
  if (evidence.flag === false)
    return { production: false, why: 'production checks turned off by the caller' };
  for (const key of ENVIRONMENT_TAG_KEYS) {
    const value = evidence.tags[key];
    if (value !== undefined) {
      return { production: isProductionEnvironment(value), why: `tag ${key}=${value}` };
    }
  }
  if (
    evidence.stageName !== undefined &&
    nameWords(evidence.stageName).some((w) => isProductionEnvironment(w))
  ) {
    return { production: true, why: `stage name '${evidence.stageName}'` };
  }
  for (const name of evidence.stackNames) {
    if (nameWords(name).some((w) => isProductionEnvironment(w)))
      return { production: true, why: `stack name '${name}'` };
  }
  return {
    production: false,
    why: 'no --production flag, environment tag, or production stage or stack name',
  };
}
