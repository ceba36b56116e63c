import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type RotationEvent, rotateSecret } from '../shared/secret-rotation';
import type { OriginHeaderStore } from './cloudfront-origin-headers';

export { type RotationEvent, RotationFatalError, rotationEventSchema } from '../shared/secret-rotation';

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
 * The rotation of the origin-verify secret (the protocol is in `../shared/secret-rotation.ts`):
 * `setSecret` writes the pending value into the distribution's origin custom header (CloudFront
 * then deploys it edge by edge, while the API accepts both the current and the pending value);
 * `testSecret` reads the distribution back and checks the header holds the pending value;
 * `finishSecret` makes it AWSCURRENT (the old value becomes AWSPREVIOUS, still accepted while the
 * last edges switch over).
 */
export async function rotate(event: RotationEvent, deps: RotationDependencies): Promise<void> {
  await rotateSecret(event, deps, {
    async set(pending) {
      const changed = await deps.distribution.setHeaderValue(deps.distributionId, deps.headerName, pending);
      deps.logger.info(
        changed
          ? 'distribution updated with the pending value'
          : 'distribution already sends the pending value',
        { distributionId: deps.distributionId },
      );
    },
    async test(pending) {
      const configured = await deps.distribution.getHeaderValues(deps.distributionId, deps.headerName);
      if (configured.length === 0 || configured.some((v) => v !== pending)) {
        // Retryable: setSecret may have lost a race with a deployment of the distribution.
        throw new Error(
          `distribution ${deps.distributionId} does not send the pending value in '${deps.headerName}' on every origin`,
        );
      }
      deps.logger.info('distribution sends the pending value', { distributionId: deps.distributionId });
    },
  });
}
