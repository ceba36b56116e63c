import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { ORIGIN_VERIFY_HEADER } from '../shared/origin-verify-header';
import { CloudFrontOriginHeaders } from './cloudfront-origin-headers';
import { rotate, rotationEventSchema } from './rotation';

const env = z
  .object({
    DISTRIBUTION_ID: z.string().regex(/^[A-Z0-9]+$/, 'must be a CloudFront distribution id'),
    ORIGIN_VERIFY_HEADER: z.string().min(1).default(ORIGIN_VERIFY_HEADER),
  })
  .parse(process.env);

const logger = new Logger({ serviceName: 'origin-verify-rotation' });
const secrets = new SecretsManagerClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
});
const distribution = new CloudFrontOriginHeaders({ requestTimeout: 10_000 });

/**
 * Secrets Manager rotation function of the origin-verify secret (see `rotation.ts`). An invalid
 * event is a fatal error: Secrets Manager marks the rotation failed and the failure is logged.
 */
export async function handler(event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  const parsed = rotationEventSchema.safeParse(event);
  if (!parsed.success) {
    logger.error('not a Secrets Manager rotation event', { issues: parsed.error.issues });
    throw new Error('invalid rotation event');
  }
  try {
    await rotate(parsed.data, {
      secrets,
      distribution,
      distributionId: env.DISTRIBUTION_ID,
      headerName: env.ORIGIN_VERIFY_HEADER,
      logger,
    });
  } catch (error) {
    logger.error('rotation step failed', { error: error as Error });
    throw error;
  } finally {
    logger.resetKeys();
  }
}
