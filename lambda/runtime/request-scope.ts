import { AsyncLocalStorage } from 'node:async_hooks';

/** What the runtime knows about the request being served. */
export interface RequestScope {
  /** The request id: the edge's `x-request-id` when well-formed, else a fresh UUID. */
  readonly requestId: string;
  /** Epoch milliseconds by which the handler must have answered (the time budget). */
  readonly deadline: number;
}

// Pure: bundlers may drop it when nothing reads the scope.
const storage = /* @__PURE__ */ new AsyncLocalStorage<RequestScope>();

/** Runs `work` with `scope` as the current request (also inside every callback it starts). */
export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

/**
 * The request being served, anywhere below {@link apiHandler} (a route, a repository, a pool
 * query): `undefined` outside a request.
 */
export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}

/** Milliseconds left of the current request's time budget (`Infinity` outside a request). */
export function remainingBudgetMs(now: number = Date.now()): number {
  const scope = storage.getStore();
  return scope === undefined ? Number.POSITIVE_INFINITY : Math.max(0, scope.deadline - now);
}
