/**
 * Rotation target for the AUTH token of an ElastiCache (Valkey/Redis OSS) replication group.
 *
 * ElastiCache changes a token through ModifyReplicationGroup with `AuthTokenUpdateStrategy`:
 * `ROTATE` adds the new token and keeps accepting the previous one, `SET` (allowed only after
 * ROTATE) keeps only the new one
 * (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html#auth-modifyng-token,
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyReplicationGroup.html).
 * We only ever ROTATE: after a rotation the cache accepts the new token (AWSCURRENT) and the one
 * before it (AWSPREVIOUS), so functions that read the token before the rotation keep working
 * until the next rotation, a full interval later, replaces the older token. This mirrors the
 * origin-verify secret, whose previous value also stays valid.
 *
 * The modification is applied immediately and takes the group through `modifying` back to
 * `available` (status values: https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReplicationGroup.html;
 * `PendingModifiedValues.AuthTokenStatus` is `ROTATING`/`SETTING` meanwhile:
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReplicationGroupPendingModifiedValues.html).
 * `setSecret` waits for that within the function's time budget and otherwise fails, so Secrets
 * Manager calls it again; every call waits for the group to settle and then asks the cache
 * whether it already accepts the pending token, so a repeated step never rotates twice.
 */
import {
  DescribeReplicationGroupsCommand,
  type ElastiCacheClient,
  ModifyReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { RotationTarget } from '../shared/secret-rotation';

/** Answers whether the cache accepts a password (true), refuses it (false), or cannot be asked (throws). */
export type AuthProbe = (password: string) => Promise<boolean>;

/** What {@link cacheTokenTarget} acts on. */
export interface CacheTokenTargetDependencies {
  readonly elasticache: ElastiCacheClient;
  readonly replicationGroupId: string;
  readonly probe: AuthProbe;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Milliseconds this invocation may still spend (the Lambda's remaining time less a margin). */
  readonly remainingMs: () => number;
  /** Waits between polls of the replication group's status. */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Time between polls, in milliseconds.
   * @default 15_000
   */
  readonly pollIntervalMs?: number;
  /**
   * Timeout of each ElastiCache call, in milliseconds.
   * @default 10_000
   */
  readonly requestTimeout?: number;
}

interface GroupState {
  readonly status: string;
  readonly tokenChangePending: boolean;
}

/** The rotation target: ROTATE the pending token into the replication group, then prove it works. */
export function cacheTokenTarget(deps: CacheTokenTargetDependencies): RotationTarget {
  const options = () => ({ abortSignal: AbortSignal.timeout(deps.requestTimeout ?? 10_000) });
  const group = deps.replicationGroupId;

  const describe = async (): Promise<GroupState> => {
    const out = await deps.elasticache.send(
      new DescribeReplicationGroupsCommand({ ReplicationGroupId: group }),
      options(),
    );
    const found = out.ReplicationGroups?.[0];
    if (!found?.Status) throw new Error(`replication group ${group} not found`);
    return {
      status: found.Status,
      tokenChangePending: found.PendingModifiedValues?.AuthTokenStatus !== undefined,
    };
  };

  /** Polls until the group is available with no token change pending; false when out of time. */
  const waitUntilSettled = async (): Promise<boolean> => {
    const interval = deps.pollIntervalMs ?? 15_000;
    for (;;) {
      const state = await describe();
      if (state.status === 'available' && !state.tokenChangePending) return true;
      if (deps.remainingMs() < interval) return false;
      deps.logger.info('waiting for the replication group', {
        replicationGroupId: group,
        status: state.status,
      });
      await deps.sleep(interval);
    }
  };

  return {
    async set(pending) {
      const before = await describe();
      if (before.status === 'modifying' || before.tokenChangePending) {
        // A modification is under way (ours from an earlier attempt of this step, or another).
        // Never stack a second ROTATE on it: wait until it settles, then look again.
        if (!(await waitUntilSettled())) {
          throw new Error(`replication group ${group} is still modifying; Secrets Manager retries this step`);
        }
      } else if (before.status !== 'available') {
        throw new Error(
          `replication group ${group} is ${before.status}, not available; Secrets Manager retries this step`,
        );
      }
      // Asked only once the group is settled, so a modification that completed since an earlier
      // attempt of this step is seen here and not applied a second time.
      if (await deps.probe(pending)) {
        deps.logger.info('the cache already accepts the pending token', { replicationGroupId: group });
        return;
      }
      await deps.elasticache.send(
        new ModifyReplicationGroupCommand({
          ReplicationGroupId: group,
          AuthToken: pending,
          AuthTokenUpdateStrategy: 'ROTATE',
          ApplyImmediately: true,
        }),
        options(),
      );
      deps.logger.info('asked ElastiCache to rotate in the pending token', { replicationGroupId: group });
      if (!(await waitUntilSettled())) {
        throw new Error(
          `replication group ${group} is still applying the new token; Secrets Manager retries this step`,
        );
      }
    },
    async test(pending) {
      if (!(await deps.probe(pending))) {
        throw new Error(`replication group ${group} does not accept the pending token yet`);
      }
      deps.logger.info('the cache accepts the pending token', { replicationGroupId: group });
    },
  };
}
