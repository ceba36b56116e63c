import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as z from 'zod/mini';

/** The Cognito issuer URL of a user pool: `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
export function cognitoIssuer(region: string, userPoolId: string): string {
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
}

/** Settings of {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  /** Expected `iss`: the user pool's issuer URL. */
  readonly issuer: string;
  /** Expected `client_id` (Cognito access tokens carry the app client there, not in `aud`). */
  readonly clientId: string;
  /**
   * Where the signing keys come from.
   * @default - the issuer's `/.well-known/jwks.json`, fetched with a timeout and cached
   */
  readonly keys?: JWTVerifyGetKey;
  /**
   * Timeout of one JWKS fetch, in milliseconds.
   * @default 1500
   */
  readonly jwksTimeoutMs?: number;
  /**
   * Clock skew tolerated on `exp`/`iat`, in seconds.
   * @default 5
   */
  readonly clockToleranceSeconds?: number;
}

const accessTokenClaims = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(128)),
  token_use: z.literal('access'),
  client_id: z.string().check(z.minLength(1)),
  exp: z.number(),
  scope: z.optional(z.string()),
});

/** The claims of a verified Cognito access token that the service relies on. */
export type AccessTokenClaims = z.infer<typeof accessTokenClaims>;

/** Why a token was refused: `invalid` (the caller's fault, 401) or `unavailable` (keys unreachable, retry). */
export class TokenVerificationError extends Error {
  constructor(
    public readonly reason: 'invalid' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TokenVerificationError';
  }
}

/**
 * Builds a verifier of Cognito access tokens: RS256 signature against the pool's JWKS, `iss`,
 * `exp` (and `nbf`/`iat` when present), `token_use` = `access` and `client_id`. Create it once per
 * container: the remote key set is cached between invocations.
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): (token: string) => Promise<AccessTokenClaims> {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(`${options.issuer}/.well-known/jwks.json`), {
      timeoutDuration: options.jwksTimeoutMs ?? 1500,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });

  return async (token: string) => {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout) {
        throw new TokenVerificationError('unavailable', 'the signing keys could not be fetched in time', {
          cause: error,
        });
      }
      const message = error instanceof errors.JOSEError ? error.code : 'malformed token';
      throw new TokenVerificationError('invalid', `token rejected: ${message}`, { cause: error });
    }
    const claims = z.safeParse(accessTokenClaims, payload);
    if (!claims.success) {
      const fields = claims.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new TokenVerificationError('invalid', `token rejected: unexpected claims (${fields})`);
    }
    if (claims.data.client_id !== options.clientId) {
      throw new TokenVerificationError('invalid', 'token rejected: issued to another client');
    }
    return claims.data;
  };
}
