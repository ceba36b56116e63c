/**
 * A `pg` pool that stops a request at a chosen SQL statement, for the fault-injection tests:
 * the statements really run on the real server, and the fault happens before or after one of
 * them, as a dropped connection would (the socket is destroyed, so PostgreSQL itself aborts
 * whatever the transaction had not committed), or as a stall.
 */
import type { Pool, PoolClient } from 'pg';

/** Where the fault hits: the n-th statement (0-based) of the next transaction that runs. */
export interface Fault {
  readonly at: number;
  /**
   * - `before`: the connection drops before the statement is sent;
   * - `after`: the statement runs, then the connection drops before its result is read (for
   *   COMMIT: committed, and the function never learns it);
   * - `stall`: the statement waits `stallMs` first (a slow network, a frozen function).
   */
  readonly mode: 'before' | 'after' | 'stall';
  readonly stallMs?: number;
}

export interface FaultyPool {
  readonly pool: Pool;
  /** Arms a fault for the next transaction (the next `connect()`). */
  arm(fault: Fault | undefined): void;
  /** The statements (SQL comment removed, first 40 characters) of the last transaction. */
  readonly statements: string[];
}

const dropped = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });

export function faultyPool(real: Pool): FaultyPool {
  let armed: Fault | undefined;
  const statements: string[] = [];
  const wrap = (client: PoolClient): PoolClient => {
    const fault = armed;
    armed = undefined;
    statements.length = 0;
    let index = 0;
    let dead = false;
    const drop = () => {
      dead = true;
      // As when the function is killed: the socket closes and the server rolls back what is open.
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    };
    const query = async (text: string, params?: unknown[]) => {
      if (dead) throw dropped();
      const step = index++;
      statements.push(text.replace(/^\/\*.*?\*\/ /, '').slice(0, 40));
      if (fault?.at === step && fault.mode === 'before') {
        drop();
        throw dropped();
      }
      if (fault?.at === step && fault.mode === 'stall') {
        await new Promise((resolve) => setTimeout(resolve, fault.stallMs ?? 1000));
      }
      const result = await client.query(text, params);
      if (fault?.at === step && fault.mode === 'after') {
        drop();
        throw dropped();
      }
      return result;
    };
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property === 'query') return query;
        if (property === 'release') return (destroy?: boolean) => target.release(destroy || dead);
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  };
  const pool = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'connect') return async () => wrap(await target.connect());
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return {
    pool,
    statements,
    arm(fault) {
      armed = fault;
    },
  };
}
