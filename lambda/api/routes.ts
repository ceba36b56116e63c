import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { ApiDependencies } from './app';
import type { Caller } from './auth';
import { notFound } from '../runtime/errors';
import { json, parseJsonBody, validate, type ApiResponse } from '../runtime/http';
import type { StoredResponse } from '../runtime/idempotency';
import type { Sql } from '../runtime/pool';
import {
  createNoteInput,
  decodeCursor,
  listQuery,
  notesRepository,
  patchNoteInput,
  putNoteInput,
} from './notes';

/** What a route's code gets for one request. */
export interface RequestContext {
  readonly event: APIGatewayProxyEventV2;
  readonly context: Context;
  readonly requestId: string;
  /** Path parameters, validated and canonical (a note id in lower case). */
  readonly params: Record<string, string>;
  /** Set on authenticated routes. */
  readonly caller: Caller;
}

/**
 * A write: `parse` validates the request before anything is touched (400/413/415 write
 * nothing), `apply` runs inside the transaction that also holds the idempotency key, and
 * `afterCommit` does what may fail without harm (cache invalidation), also on a replay.
 */
export interface WriteHandler<I = unknown> {
  parse(ctx: RequestContext, deps: ApiDependencies): I;
  apply(sql: Sql, ctx: RequestContext, input: I): Promise<StoredResponse>;
  afterCommit?(ctx: RequestContext, deps: ApiDependencies): Promise<void>;
}

export interface Route {
  readonly method: string;
  /** Template, used in logs, metric dimensions and idempotency scopes: `GET /notes/{id}`. */
  readonly key: string;
  readonly pattern: RegExp;
  readonly authenticated: boolean;
  /** Reads (and the health check). */
  readonly read?: (ctx: RequestContext, deps: ApiDependencies) => Promise<ApiResponse>;
  /** Writes: they need an `Idempotency-Key`. */
  readonly write?: WriteHandler;
}

export const NOTE_PATH = /^\/notes\/([^/]+)\/?$/;

/** The notes resource: every route but `GET /health`. */
export function noteRoutes(
  bestEffort: <T>(deps: ApiDependencies, what: string, op: () => Promise<T>) => Promise<T | undefined>,
): Route[] {
  const invalidate = async ({ caller, params }: RequestContext, deps: ApiDependencies) => {
    await bestEffort(deps, 'invalidation', () => deps.notesCache.invalidate(caller.id, params.id));
  };
  const update = (method: 'PATCH' | 'PUT'): Route => ({
    method,
    key: `${method} /notes/{id}`,
    pattern: NOTE_PATH,
    authenticated: true,
    write: {
      parse: ({ event }, deps) =>
        parseJsonBody(event, method === 'PUT' ? putNoteInput : patchNoteInput, deps.maxBodyBytes),
      apply: async (sql, { caller, params }, input) => {
        const note = await notesRepository.update(sql, caller.id, params.id, input);
        return { statusCode: 200, body: JSON.stringify(note) };
      },
      afterCommit: invalidate,
    } satisfies WriteHandler<{ title?: string; body?: string; version: number }>,
  });
  return [
    {
      method: 'POST',
      key: 'POST /notes',
      pattern: /^\/notes\/?$/,
      authenticated: true,
      write: {
        parse: ({ event }, deps) => parseJsonBody(event, createNoteInput, deps.maxBodyBytes),
        apply: async (sql, { caller }, input) => {
          const note = await notesRepository.create(sql, caller.id, input);
          return { statusCode: 201, body: JSON.stringify(note) };
        },
      } satisfies WriteHandler<{ title: string; body: string }>,
    },
    {
      method: 'GET',
      key: 'GET /notes',
      pattern: /^\/notes\/?$/,
      authenticated: true,
      async read({ event, requestId, caller }, deps) {
        const query = validate(listQuery, event.queryStringParameters ?? {}, 'the query');
        const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
        const page = await deps.database.transaction({ callerId: caller.id, requestId }, (sql) =>
          notesRepository.list(sql, caller.id, { limit: query.limit, after }),
        );
        return json(200, { items: page.items, ...(page.next ? { nextCursor: page.next } : {}) });
      },
    },
    {
      method: 'GET',
      key: 'GET /notes/{id}',
      pattern: NOTE_PATH,
      authenticated: true,
      async read({ requestId, caller, params }, deps) {
        const id = params.id;
        const cached = await bestEffort(deps, 'read', () => deps.notesCache.get(caller.id, id));
        if (cached) {
          deps.metrics.addMetric('CacheHit', MetricUnit.Count, 1);
          return json(200, cached, { 'x-cache': 'hit' });
        }
        deps.metrics.addMetric('CacheMiss', MetricUnit.Count, 1);
        const note = await deps.database.transaction({ callerId: caller.id, requestId }, (sql) =>
          notesRepository.get(sql, caller.id, id),
        );
        if (!note) throw notFound('the note');
        await bestEffort(deps, 'fill', () => deps.notesCache.set(caller.id, id, note));
        return json(200, note, { 'x-cache': 'miss' });
      },
    },
    update('PATCH'),
    update('PUT'),
    {
      method: 'DELETE',
      key: 'DELETE /notes/{id}',
      pattern: NOTE_PATH,
      authenticated: true,
      write: {
        parse: () => ({}),
        apply: async (sql, { caller, params }) => {
          await notesRepository.delete(sql, caller.id, params.id);
          return { statusCode: 204 };
        },
        afterCommit: invalidate,
      },
    },
  ];
}
