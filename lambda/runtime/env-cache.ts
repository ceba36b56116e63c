import { type CacheClient, connector, createCacheClient, readCacheToken } from './cache';

/** Options of {@link connectCacheFromEnv}. */
export interface CacheFromEnvOptions {
  /**
   * Every command fails after this long instead of waiting for a slow or failing-over node.
   * @default 250
   */
  readonly commandTimeoutMs?: number;
  /**
   * How long the first connection may take.
   * @default 1000
   */
  readonly connectTimeoutMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

let shared: Promise<CacheClient> | undefined;

/**
 * The cache client of this container, connected. On AWS (`CACHE_HOST` set by the `Service`
 * construct) it speaks TLS to Valkey with the AUTH token read from Secrets Manager
 * (`CACHE_AUTH_SECRET_ARN`), never from the environment; elsewhere it connects to `REDIS_URL`.
 * Commands fail fast ({@link createCacheClient}). A failed connect is retried by the next call.
 */
export function connectCacheFromEnv(options: CacheFromEnvOptions = {}): Promise<CacheClient> {
  shared ??= open(options).catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

async function open(options: CacheFromEnvOptions): Promise<CacheClient> {
  const env = options.env ?? process.env;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  let client: CacheClient;
  if (env.CACHE_HOST) {
    client = createCacheClient({
      host: env.CACHE_HOST,
      port: env.CACHE_PORT ? Number(env.CACHE_PORT) : 6379,
      tls: true,
      username: env.CACHE_USERNAME,
      password: await readCacheToken(env.CACHE_AUTH_SECRET_ARN),
      connectTimeoutMs,
      commandTimeoutMs,
    });
  } else if (env.REDIS_URL) {
    const url = new URL(env.REDIS_URL);
    client = createCacheClient({
      host: url.hostname,
      port: url.port ? Number(url.port) : 6379,
      tls: url.protocol === 'rediss:',
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      connectTimeoutMs,
      commandTimeoutMs,
    });
  } else {
    throw new Error('connectCacheFromEnv: set CACHE_HOST (the Service construct does) or REDIS_URL');
  }
  await connector(client, connectTimeoutMs)();
  return client;
}
