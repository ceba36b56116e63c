import { type OriginVerifier, OriginVerifyUnavailableError } from '../shared/origin-verify';
import type { BeforeRouteHook } from './app';
import { ApiError, unavailable } from '../runtime/errors';

/**
 * Refuses requests that did not come through CloudFront: the distribution adds a secret
 * origin-verify header that a caller going straight to the execute-api endpoint cannot know.
 * While the secret cannot be read at all the request is retryable (503), never let through.
 */
export function originGuard(verifier: OriginVerifier): BeforeRouteHook {
  return async (event) => {
    let verified: boolean;
    try {
      verified = await verifier.verify(event.headers ?? {});
    } catch (error) {
      if (error instanceof OriginVerifyUnavailableError) throw unavailable('origin verification', error);
      throw error;
    }
    if (!verified) {
      throw new ApiError(403, 'forbidden', 'requests must come through the API domain, not the origin');
    }
    return undefined;
  };
}
