import { createHash, timingSafeEqual } from 'node:crypto';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ORIGIN_VERIFY_HEADER } from './origin-verify-header';

export { ORIGIN_VERIFY_HEADER };

/**
 * The version stages whose values CloudFront may be sending. During a rotation the new value is
 * AWSPENDING while CloudFront deploys it (minutes, edge by edge); after the rotation the old value
 * is AWSPREVIOUS while the last edges still send it. Accepting all three makes rotation invisible
 * to callers.
 */
export const ACCEPTED_VERSION_STAGES = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'] as const;

/** Thrown when no value of the secret could ever be read: a retryable (5xx) condition. */
export class OriginVerifyUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OriginVerifyUnavailableError';
  }
}

/** Options of {@link createOriginVerifier}. */
export interface OriginVerifierOptions {
  /** ARN or name of the origin-verify secret (a plain string secret). */
  readonly secretId: string;
  /** Secrets Manager client, created once per container by the caller. */
  readonly secretsClient: SecretsManagerClient;
  /**
   * How long fetched values are trusted before they are read again, in milliseconds.
   * @default 300_000 (5 minutes)
   */
  readonly cacheTtl?: number;
  /**
   * A header that matches no cached value triggers an early re-read (the secret may just have
   * rotated), but at most once per this many milliseconds, so a flood of forged headers cannot
   * turn into a flood of Secrets Manager calls.
   * @default 10_000
   */
  readonly minRefreshInterval?: number;
  /**
   * Timeout of each Secrets Manager call, in milliseconds.
   * @default 3_000
   */
  readonly requestTimeout?: number;
  /**
   * Logger for refresh failures (values are never logged).
   * @default - no logging
   */
  readonly logger?: Pick<Logger, 'warn'>;
  /**
   * Clock, in milliseconds since the epoch (tests replace it).
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Checks the origin-verify header of a request. */
export interface OriginVerifier {
  /**
   * Whether the request carries a current, pending or previous value of the secret in the
   * {@link ORIGIN_VERIFY_HEADER} header (name matched case-insensitively).
   * @throws OriginVerifyUnavailableError when the secret has never been readable.
   */
  verify(headers: Readonly<Record<string, string | undefined>> | undefined): Promise<boolean>;
}

interface CachedValues {
  readonly digests: readonly Buffer[];
  readonly fetchedAt: number;
}

/**
 * Creates the check that rejects requests which did not come through CloudFront. Values are
 * cached for `cacheTtl`; comparisons run in constant time over SHA-256 digests (so neither the
 * value nor its length leaks through timing), and every candidate is compared on every call.
 * When a refresh fails the last known values stay in use and a warning is logged.
 */
export function createOriginVerifier(options: OriginVerifierOptions): OriginVerifier {
  const cacheTtl = options.cacheTtl ?? 300_000;
  const minRefreshInterval = options.minRefreshInterval ?? 10_000;
  const requestTimeout = options.requestTimeout ?? 3_000;
  const now = options.now ?? Date.now;
  let cached: CachedValues | undefined;
  let inFlight: Promise<CachedValues> | undefined;

  async function fetchStage(stage: string): Promise<string | undefined> {
    try {
      const result = await options.secretsClient.send(
        new GetSecretValueCommand({ SecretId: options.secretId, VersionStage: stage }),
        { abortSignal: AbortSignal.timeout(requestTimeout) },
      );
      return result.SecretString;
    } catch (error) {
      // A stage that labels no version (no rotation in progress, or none yet) is normal.
      if (
        error instanceof ResourceNotFoundException ||
        (error as Error).name === 'ResourceNotFoundException'
      ) {
        return undefined;
      }
      throw error;
    }
  }

  async function load(): Promise<CachedValues> {
    const values = await Promise.all(ACCEPTED_VERSION_STAGES.map(fetchStage));
    const present = [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
    if (values[0] === undefined) {
      throw new OriginVerifyUnavailableError(
        `origin-verify secret ${options.secretId} has no AWSCURRENT value`,
      );
    }
    return { digests: present.map(digest), fetchedAt: now() };
  }

  async function refresh(): Promise<CachedValues | undefined> {
    inFlight ??= load().finally(() => {
      inFlight = undefined;
    });
    try {
      cached = await inFlight;
    } catch (error) {
      if (!cached) {
        throw error instanceof OriginVerifyUnavailableError
          ? error
          : new OriginVerifyUnavailableError(`cannot read origin-verify secret ${options.secretId}`, {
              cause: error,
            });
      }
      options.logger?.warn('origin-verify secret refresh failed; keeping the last known values', {
        secretId: options.secretId,
        error: (error as Error).name,
      });
      // Do not retry on every request while Secrets Manager is unreachable.
      cached = { digests: cached.digests, fetchedAt: now() };
    }
    return cached;
  }

  return {
    async verify(headers) {
      const presented = headerValue(headers, ORIGIN_VERIFY_HEADER);
      if (presented === undefined || presented.length === 0) return false;
      const candidate = digest(presented);

      let values = cached && now() - cached.fetchedAt < cacheTtl ? cached : await refresh();
      if (values && matchesAny(candidate, values.digests)) return true;

      // Maybe the secret rotated since the last read: look again, but not more often than allowed.
      if (values && now() - values.fetchedAt >= minRefreshInterval) {
        values = await refresh();
        return values !== undefined && matchesAny(candidate, values.digests);
      }
      return false;
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function matchesAny(candidate: Buffer, digests: readonly Buffer[]): boolean {
  let match = false;
  for (const d of digests) match = timingSafeEqual(candidate, d) || match;
  return match;
}

function headerValue(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}
