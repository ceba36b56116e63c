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
import type { OriginHeaderStore } from './cloudfront-origin-headers';

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

/** What the rotation steps act on. */
export interface RotationDependencies {
  readonly secrets: SecretsManagerClient;
  readonly distribution: OriginHeaderStore;
  /** The distribution whose API origin carries the header. */
  readonly distributionId: string;
  /** The origin custom header holding the secret value. */
  readonly headerName: string;
  readonly logger: Pick<Logger, 'info' | 'appendKeys'>;
  /**
   * Length of a generated value (CloudFront allows up to 1,783 characters in a header value).
   * @default 64
   */
  readonly valueLength?: number;
  /**
   * Timeout of each Secrets Manager call, in milliseconds.
   * @default 5_000
   */
  readonly requestTimeout?: number;
}

/**
 * The four steps of a Secrets Manager rotation for the origin-verify secret:
 * `createSecret` stores a new random value as AWSPENDING; `setSecret` writes it into the
 * distribution's origin custom header (CloudFront then deploys it edge by edge, while the API
 * accepts both the current and the pending value); `testSecret` reads the distribution back
 * and checks the header holds the pending value; `finishSecret` makes it AWSCURRENT (the old
 * value becomes AWSPREVIOUS, still accepted while the last edges switch over).
 *
 * Every step is idempotent: Secrets Manager retries a failed step with the same token.
 */
export async function rotate(event: RotationEvent, deps: RotationDependencies): Promise<void> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  deps.logger.appendKeys({ secretId, step, clientRequestToken: token });
  const options = { abortSignal: AbortSignal.timeout(deps.requestTimeout ?? 5_000) };

  const described = await deps.secrets.send(new DescribeSecretCommand({ SecretId: secretId }), options);
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
      options,
    );
    if (!pending.SecretString) throw new RotationFatalError(`pending version ${token} has no string value`);
    return pending.SecretString;
  };

  switch (step) {
    case 'createSecret': {
      // Fails loudly when the secret has no current value at all.
      await deps.secrets.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
        options,
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
        options,
      );
      if (!generated.RandomPassword) throw new Error('GetRandomPassword returned no value');
      await deps.secrets.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: generated.RandomPassword,
          VersionStages: ['AWSPENDING'],
        }),
        options,
      );
      deps.logger.info('stored a new pending value');
      return;
    }
    case 'setSecret': {
      const changed = await deps.distribution.setHeaderValue(
        deps.distributionId,
        deps.headerName,
        await pendingValue(),
      );
      deps.logger.info(
        changed
          ? 'distribution updated with the pending value'
          : 'distribution already sends the pending value',
        {
          distributionId: deps.distributionId,
        },
      );
      return;
    }
    case 'testSecret': {
      const [expected, configured] = await Promise.all([
        pendingValue(),
        deps.distribution.getHeaderValues(deps.distributionId, deps.headerName),
      ]);
      if (configured.length === 0 || configured.some((v) => v !== expected)) {
        // Retryable: setSecret may have lost a race with a deployment of the distribution.
        throw new Error(
          `distribution ${deps.distributionId} does not send the pending value in '${deps.headerName}' on every origin`,
        );
      }
      deps.logger.info('distribution sends the pending value', { distributionId: deps.distributionId });
      return;
    }
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
        options,
      );
      deps.logger.info('pending value is now AWSCURRENT', { previousVersionId: current });
      return;
    }
  }
}
