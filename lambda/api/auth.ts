import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import * as z from 'zod/mini';
import { type AccessTokenClaims, TokenVerificationError } from '../shared/jwt';
import { unauthorized, unavailable } from '../runtime/errors';
import { header } from '../runtime/http';

/** The authenticated caller. `id` is the Cognito `sub`; it keys ownership and RLS. */
export interface Caller {
  readonly id: string;
}

const authorizerClaims = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(128)),
  token_use: z.literal('access'),
  client_id: z.string().check(z.minLength(1)),
});

export interface AuthenticatorOptions {
  /** The app client whose tokens are accepted. */
  readonly clientId: string;
  /**
   * Verifies the bearer token itself (signature, issuer, expiry, client) as defence in depth,
   * so that a route deployed without the authorizer still refuses unauthenticated calls.
   * @default - trust the authorizer context only
   */
  readonly verifyToken?: (token: string) => Promise<AccessTokenClaims>;
}

/**
 * Who is calling. The identity comes from the HTTP API JWT authorizer's context
 * (`requestContext.authorizer.jwt.claims`), never from a raw header; when a verifier is
 * configured the bearer token is verified too and must name the same subject.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  return async (event: APIGatewayProxyEventV2): Promise<Caller> => {
    const context = (event as APIGatewayProxyEventV2WithJWTAuthorizer).requestContext?.authorizer?.jwt;
    const claims = z.safeParse(authorizerClaims, context?.claims);
    if (!claims.success) throw unauthorized('sign in: this route needs a valid access token');
    if (claims.data.client_id !== options.clientId)
      throw unauthorized('the token was issued to another client');

    if (options.verifyToken) {
      const match = /^Bearer ([A-Za-z0-9._-]+)$/.exec(header(event, 'authorization') ?? '');
      if (!match) throw unauthorized('send the access token as "Authorization: Bearer <token>"');
      let verified: AccessTokenClaims;
      try {
        verified = await options.verifyToken(match[1]);
      } catch (error) {
        if (error instanceof TokenVerificationError && error.reason === 'unavailable') {
          throw unavailable('token verification', error);
        }
        throw unauthorized(error instanceof Error ? error.message : 'token rejected');
      }
      if (verified.sub !== claims.data.sub)
        throw unauthorized('the token does not match the authorized caller');
    }
    return { id: claims.data.sub };
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
