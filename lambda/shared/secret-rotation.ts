/**
 * The four-step Secrets Manager rotation protocol, shared by every rotation function of ours;
 * each supplies only what is specific to where its secret is used (`set` and `test`).
 *
 * Protocol (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
 * `createSecret` stores a new value as AWSPENDING under the rotation's ClientRequestToken;
 * `setSecret` makes the service that uses the secret accept the pending value; `testSecret`
 * proves it does; `finishSecret` moves AWSCURRENT to the pending version (the old one becomes
 * AWSPREVIOUS). Every step is idempotent: Secrets Manager calls a step again with the same token
 * after a failure.
 */
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';

/** The event Secrets Manager sends for each of the four rotation steps. */
export const rotationEventSchema = z.object({
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(1),
  Step: z.enum(['createSecret', 'setSecret', 'testSecret', 'finishSecret']),
});
export type RotationEvent = z.infer<typeof rotationEventSchema>;

/** A rotation that must not be retried as is (wrong secret, token not pending): alarm-worthy. */
export class RotationFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationFatalError';
  }
}

/** Where the rotated secret is used. */
export interface RotationTarget {
  /** Makes the service accept `pending` (in addition to the current value). Idempotent. */
  set(pending: string): Promise<void>;
  /** Throws unless the service accepts `pending`. */
  test(pending: string): Promise<void>;
}

/** What every rotation needs besides its target. */
export interface SecretRotationDependencies {
  readonly secrets: SecretsManagerClient;
  readonly logger: Pick<Logger, 'info' | 'appendKeys'>;
  /**
   * Length of a generated value.
   * @default 64
   */
  readonly valueLength?: number;
  /**
   * Timeout of each Secrets Manager call, in milliseconds.
   * @default 5_000
   */
  readonly requestTimeout?: number;
}

/** Runs one step of a rotation of `event.SecretId` into `target`. */
export async function rotateSecret(
  event: RotationEvent,
  deps: SecretRotationDependencies,
  target: RotationTarget,
): Promise<void> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  deps.logger.appendKeys({ secretId, step, clientRequestToken: token });
  const options = () => ({ abortSignal: AbortSignal.timeout(deps.requestTimeout ?? 5_000) });

  const described = await deps.secrets.send(new DescribeSecretCommand({ SecretId: secretId }), options());
  if (!described.RotationEnabled) {
    throw new RotationFatalError(`secret ${secretId} does not have rotation enabled`);
  }
  const stages = described.VersionIdsToStages?.[token];
  if (!stages) {
    throw new RotationFatalError(`secret ${secretId} has no version ${token} to rotate to`);
  }
  if (stages.includes('AWSCURRENT')) {
    deps.logger.info('version is already AWSCURRENT; nothing to do');
    return;
  }
  if (!stages.includes('AWSPENDING')) {
    throw new RotationFatalError(`version ${token} of secret ${secretId} is not AWSPENDING`);
  }

  const pendingValue = async (): Promise<string> => {
    const pending = await deps.secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: 'AWSPENDING' }),
      options(),
    );
    if (!pending.SecretString) throw new RotationFatalError(`pending version ${token} has no string value`);
    return pending.SecretString;
  };

  switch (step) {
    case 'createSecret': {
      // Fails loudly when the secret has no current value at all.
      await deps.secrets.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
        options(),
      );
      try {
        await pendingValue();
        deps.logger.info('pending value already exists');
        return;
      } catch (error) {
        if (!(
          error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException'
        )) {
          throw error;
        }
      }
      const generated = await deps.secrets.send(
        new GetRandomPasswordCommand({
          PasswordLength: deps.valueLength ?? 64,
          ExcludePunctuation: true,
          IncludeSpace: false,
          RequireEachIncludedType: true,
        }),
        options(),
      );
      if (!generated.RandomPassword) throw new Error('GetRandomPassword returned no value');
      await deps.secrets.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: generated.RandomPassword,
          VersionStages: ['AWSPENDING'],
        }),
        options(),
      );
      deps.logger.info('stored a new pending value');
      return;
    }
    case 'setSecret':
      await target.set(await pendingValue());
      return;
    case 'testSecret':
      await target.test(await pendingValue());
      return;
    case 'finishSecret': {
      const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, s]) =>
        s.includes('AWSCURRENT'),
      )?.[0];
      await deps.secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          RemoveFromVersionId: current,
        }),
        options(),
      );
      deps.logger.info('pending value is now AWSCURRENT', { previousVersionId: current });
      return;
    }
  }
}
