/**
 * The rule that decides whether a pending `contract` migration may run.
 *
 * During a canary the previous release and the new one run side by side against one schema, and
 * a rollback puts the previous release back on it. A contract migration (drop a column, tighten a
 * constraint) is only safe once NO release that still depends on the old shape can come back. So:
 *
 *   A contract migration C completing expand migration E may run only when
 *   1. E is applied, and
 *   2. a deployment of this deployment group finished successfully AFTER E was applied
 *      (E's `run_on` in `public.shipshape_migrations` is earlier than the `endTime` of the
 *      group's last successful deployment).
 *
 * Condition 2 means a release that works with E's new shape has fully taken traffic (its canary
 * passed and every alarm stayed quiet) — E has been "live for one release". The release that
 * applied E does count: it ran its whole traffic shift on top of E. What does not count is the
 * deployment in progress, which is exactly why a release cannot ship E and C together.
 */

/** The migration facts the rule needs (a subset of `lib/migrations`' status entries). */
export interface MigrationFacts {
  readonly name: string;
  readonly phase: 'expand' | 'contract';
  /** For a contract: the expand migration it completes, by number (`0005`) or full name. */
  readonly contracts?: string;
  readonly state: 'applied' | 'pending';
  /** @default - undefined while pending */
  readonly appliedAt?: Date;
}

/** A pending contract migration the gate refuses, and why. */
export interface RefusedContract {
  readonly migration: string;
  readonly contracts: string;
  readonly reason: string;
}

/**
 * The pending contract migrations that may NOT run yet.
 * @param lastSuccessfulDeploymentEnd end time of the deployment group's last successful
 *   deployment, or undefined when it has none (the first deployment: no contract may run).
 */
export function refusedContracts(
  migrations: readonly MigrationFacts[],
  lastSuccessfulDeploymentEnd: Date | undefined,
): RefusedContract[] {
  const refused: RefusedContract[] = [];
  for (const migration of migrations) {
    if (migration.phase !== 'contract' || migration.state !== 'pending') continue;
    const reference = migration.contracts ?? '';
    const expand = migrations.find((m) => m.name === reference || m.name.startsWith(`${reference}_`));
    const refuse = (reason: string) =>
      refused.push({ migration: migration.name, contracts: reference, reason });
    if (!expand) {
      refuse(`its expand migration '${reference}' does not exist`);
    } else if (expand.phase !== 'expand') {
      refuse(`'${expand.name}' is not an expand migration`);
    } else if (expand.state !== 'applied' || expand.appliedAt === undefined) {
      refuse(
        `its expand migration ${expand.name} is not applied yet; ship the expand in one release and the contract in a later one`,
      );
    } else if (lastSuccessfulDeploymentEnd === undefined) {
      refuse(
        `no deployment of this group has succeeded since ${expand.name} was applied (${expand.appliedAt.toISOString()}): there is no successful deployment at all`,
      );
    } else if (lastSuccessfulDeploymentEnd.getTime() <= expand.appliedAt.getTime()) {
      refuse(
        `${expand.name} was applied at ${expand.appliedAt.toISOString()}, after the last successful deployment ended (${lastSuccessfulDeploymentEnd.toISOString()}): it has not been live for one full release yet`,
      );
    }
  }
  return refused;
}
