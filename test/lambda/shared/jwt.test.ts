import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { cognitoIssuer, createAccessTokenVerifier, TokenVerificationError } from '../../../lambda/shared/jwt';

const ISSUER = cognitoIssuer('eu-west-1', 'eu-west-1_TestPool');
const CLIENT_ID = 'test-client-id';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let trusted: KeyPair;
let untrusted: KeyPair;
let verify: ReturnType<typeof createAccessTokenVerifier>;

beforeAll(async () => {
  trusted = await generateKeyPair('RS256');
  untrusted = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(trusted.publicKey)), kid: 'trusted', alg: 'RS256', use: 'sig' };
  verify = createAccessTokenVerifier({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
});

function token(
  claims: Record<string, unknown> = {},
  options: { key?: KeyPair; kid?: string; expiresIn?: string | number; issuer?: string } = {},
): Promise<string> {
  return new SignJWT({ token_use: 'access', client_id: CLIENT_ID, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'trusted' })
    .setSubject('user-123')
    .setIssuer(options.issuer ?? ISSUER)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign((options.key ?? trusted).privateKey);
}

async function rejection(promise: Promise<unknown>): Promise<TokenVerificationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  return error as TokenVerificationError;
}

describe('access token verification (tokens signed by a local key)', () => {
  test('accepts a valid access token and returns its subject', async () => {
    const claims = await verify(await token());
    expect(claims).toMatchObject({ sub: 'user-123', token_use: 'access', client_id: CLIENT_ID });
  });

  test('rejects a token signed by a key outside the JWKS', async () => {
    const error = await rejection(verify(await token({}, { key: untrusted })));
    expect(error.reason).toBe('invalid');
  });

  test('rejects a token whose signature was tampered with', async () => {
    const [header, , signature] = (await token()).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        sub: 'someone-else',
        token_use: 'access',
        client_id: CLIENT_ID,
        iss: ISSUER,
        exp: 9e9,
      }),
    ).toString('base64url');
    const error = await rejection(verify(`${header}.${forged}.${signature}`));
    expect(error.message).toMatch(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  test('rejects an expired token', async () => {
    const error = await rejection(verify(await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 })));
    expect(error.message).toMatch(/ERR_JWT_EXPIRED/);
  });

  test('rejects a token from another issuer', async () => {
    const error = await rejection(
      verify(await token({}, { issuer: cognitoIssuer('eu-west-1', 'eu-west-1_Other') })),
    );
    expect(error.message).toMatch(/ERR_JWT_CLAIM_VALIDATION_FAILED/);
  });

  test('rejects an ID token (token_use must be access)', async () => {
    const error = await rejection(verify(await token({ token_use: 'id' })));
    expect(error.message).toMatch(/unexpected claims \(token_use\)/);
  });

  test('rejects a token issued to another app client', async () => {
    const error = await rejection(verify(await token({ client_id: 'another-client' })));
    expect(error.message).toBe('token rejected: issued to another client');
  });

  test('rejects an unsigned (alg none) token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'user-123', token_use: 'access', client_id: CLIENT_ID, iss: ISSUER, exp: 9e9 }),
    ).toString('base64url');
    await rejection(verify(`${header}.${payload}.`));
  });

  test('reports unreachable signing keys as unavailable (retryable), not invalid', async () => {
    const slow = createAccessTokenVerifier({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      keys: async () => {
        const { errors } = await import('jose');
        throw new errors.JWKSTimeout();
      },
    });
    const error = await rejection(slow(await token()));
    expect(error.reason).toBe('unavailable');
  });
});
