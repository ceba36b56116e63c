import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient } from '@redis/client';
import { withTimeout } from './timeout';

/** Settings of {@link createCacheClient}. */
export interface CacheClientSettings {
  readonly host: string;
  readonly port: number;
  /** TLS to the cache (always on AWS; off for the local test server). */
  readonly tls: boolean;
  readonly username?: string;
  /** AUTH token. */
  readonly password?: string;
  readonly connectTimeoutMs: number;
  /** Every command fails after this long instead of waiting for a slow or failing-over node. */
  readonly commandTimeoutMs: number;
}

/**
 * A Redis/Valkey client that fails fast: bounded connect time, a timeout on every command, no
 * offline queue (a command while disconnected fails at once instead of waiting), and a capped
 * reconnect backoff.
 */
export function createCacheClient(settings: CacheClientSettings) {
  const client = createClient({
    socket: {
      host: settings.host,
      port: settings.port,
      connectTimeout: settings.connectTimeoutMs,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000),
      ...(settings.tls ? { tls: true as const, servername: settings.host } : {}),
    },
    username: settings.username,
    password: settings.password,
    disableOfflineQueue: true,
    commandOptions: { timeout: settings.commandTimeoutMs },
  });
  // Errors surface on the failing command; the event only needs a listener so it cannot crash.
  client.on('error', () => undefined);
  return client;
}

/** The Redis/Valkey client the service uses. */
export type CacheClient = ReturnType<typeof createCacheClient>;

/**
 * Connects once per container; later calls share that connection (the client reconnects by
 * itself after a drop). A caller waits at most `timeoutMs`; the attempt goes on in the
 * background so a later request can find the cache ready.
 */
export function connector(client: CacheClient, timeoutMs: number): () => Promise<void> {
  let connecting: Promise<unknown> | undefined;
  return async () => {
    if (client.isReady) return;
    connecting ??= client.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    await withTimeout(connecting, timeoutMs, 'connecting to the cache');
  };
}

/**
 * Cache-aside for single items. Keys are scoped by owner, so an entry can only ever be served to
 * the caller it was read for. A failing cache never fails a read: it is logged by the caller and
 * the database answers.
 */
export class ItemCache<T> {
  constructor(
    private readonly client: CacheClient,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  public key(ownerId: string, id: string): string {
    return `${this.keyPrefix}${ownerId}:${id}`;
  }

  public async get(ownerId: string, id: string): Promise<T | undefined> {
    const raw = await this.client.get(this.key(ownerId, id));
    return raw === null ? undefined : (JSON.parse(String(raw)) as T);
  }

  public async set(ownerId: string, id: string, value: T): Promise<void> {
    await this.client.set(this.key(ownerId, id), JSON.stringify(value), { EX: this.ttlSeconds });
  }

  public async invalidate(ownerId: string, id: string): Promise<void> {
    await this.client.del(this.key(ownerId, id));
  }
}

let secretsClient: SecretsManagerClient | undefined;

/** One Secrets Manager client per container, created on first use (no work at import time). */
function defaultSecretsClient(): SecretsManagerClient {
  secretsClient ??= new SecretsManagerClient({
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
    maxAttempts: 2,
  });
  return secretsClient;
}

/**
 * The cache AUTH token from its secret: JSON with `password`/`token`, or the bare string. Read
 * at cold start so the token never sits in the function's environment.
 */
export async function readCacheToken(
  secretArn: string | undefined,
  secrets: SecretsManagerClient = defaultSecretsClient(),
): Promise<string | undefined> {
  if (secretArn === undefined) return undefined;
  const { SecretString } = await withTimeout(
    secrets.send(new GetSecretValueCommand({ SecretId: secretArn })),
    3000,
    'reading the cache auth secret',
  );
  if (SecretString === undefined) throw new Error('the cache auth secret has no string value');
  try {
    const parsed = JSON.parse(SecretString) as { password?: unknown; token?: unknown };
    const token = parsed.password ?? parsed.token;
    if (typeof token === 'string') return token;
  } catch {
    // not JSON: the secret is the bare token
  }
  return SecretString;
}
