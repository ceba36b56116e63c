/**
 * Name of the header CloudFront adds to every request it forwards to the API origin. Its value
 * is the origin-verify secret (Secrets Manager); a request without a current value did not come
 * through CloudFront. Lower case, as API Gateway HTTP APIs deliver header names.
 *
 * Kept in a module of its own, free of SDK imports, so the CDK construct (`lib/edge`) and the
 * handlers share one constant.
 */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
