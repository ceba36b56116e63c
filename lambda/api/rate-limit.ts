import { createHash } from 'node:crypto';
import type { CacheClient } from '../runtime/cache';

/**
 * Token bucket, atomically in one Lua script: refills continuously at `rate` tokens per
 * millisecond up to `capacity`, takes one token if there is one, and otherwise says how many
 * milliseconds until there will be. The clock is the server's (`TIME`), so containers with
 * skewed clocks share one bucket correctly.
 *
 * KEYS[1] bucket; ARGV[1] capacity; ARGV[2] refill per ms.
 * Returns { allowed (0|1), remaining tokens (floored), retry after (ms) }.
 */
export const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate) end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return { allowed, math.floor(tokens), retry }
`;
const SCRIPT_SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex');

export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Whole seconds until a request would be allowed (0 when allowed). */
  readonly retryAfterSeconds: number;
}

/** A per-caller limit of `requestsPerMinute`, with a burst of the same size. */
export class RateLimiter {
  private readonly ratePerMs: number;

  constructor(
    private readonly client: CacheClient,
    private readonly keyPrefix: string,
    private readonly requestsPerMinute: number,
  ) {
    this.ratePerMs = requestsPerMinute / 60_000;
  }

  public async take(callerId: string): Promise<RateLimitDecision> {
    const options = {
      keys: [`${this.keyPrefix}${callerId}`],
      arguments: [String(this.requestsPerMinute), String(this.ratePerMs)],
    };
    let reply: unknown;
    try {
      reply = await this.client.evalSha(SCRIPT_SHA, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.client.eval(TOKEN_BUCKET_LUA, options);
    }
    const [allowed, remaining, retryMs] = reply as [number, number, number];
    return {
      allowed: allowed === 1,
      remaining,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
    };
  }
}
