/**
 * The API's published versions in the game day: the real production wrapper `apiHandler`
 * (lambda/runtime/handler.ts: error classification, per-route EMF, the per-version deployment
 * metrics) around a small notes app with injected faults. A fault is spread evenly over the
 * version's user requests (every k-th one), so a rate is exact over any window, not a dice roll.
 * The smoke test's user and `GET /health` are outside the faults (health has its own switch):
 * the scenarios test the alarms and the rollback, not the smoke test.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { apiHandler } from '../../../lambda/runtime/handler';
import type { Handler } from './lambda';

/** What a version does wrong. */
export interface VersionProfile {
  label: string;
  /** Share of non-health requests answered 500 (the app throws; the wrapper classifies it). */
  serverErrorPercent?: number;
  /** Share of non-health requests answered 404 (the client's problem; never a server error). */
  clientErrorPercent?: number;
  /** `GET /health` answers 500. */
  healthFails?: boolean;
}

export const HEALTHY: VersionProfile = { label: 'healthy' };

/** Bearer tokens the stand-in's Cognito hands out. */
export const TOKENS = { smoke: 'smoke-access-token', user: 'user-access-token' } as const;

interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
}

/** The notes the versions share (the database outlives any version). */
export class NotesTable {
  public readonly notes = new Map<string, Note>();
  public readonly idempotency = new Map<string, Note>();
}

/** Is request `k` (0-based) one of an evenly spread `percent`%? */
function hit(k: number, percent: number | undefined): boolean {
  if (!percent) return false;
  return Math.floor(((k + 1) * percent) / 100) > Math.floor((k * percent) / 100);
}

type Answer = { statusCode: number; headers?: Record<string, string>; body?: string };

const json = (statusCode: number, body: unknown): Answer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Builds the handler of one version. */
export function apiVersion(profile: VersionProfile, table: NotesTable): Handler {
  let requests = 0;
  const inner = async (event: APIGatewayProxyEventV2): Promise<Answer> => {
    const method = event.requestContext.http.method;
    const path = event.rawPath;
    if (method === 'GET' && path === '/health') {
      return profile.healthFails
        ? json(500, { status: 'failing', check: 'injected' })
        : json(200, { status: 'ok' });
    }
    const token = /^Bearer (.+)$/.exec(event.headers.authorization ?? '')?.[1];
    if (token === TOKENS.user) {
      const k = requests++;
      if (hit(k, profile.serverErrorPercent)) throw new Error(`injected fault (${profile.label})`);
      if (hit(k, profile.clientErrorPercent))
        return json(404, { error: 'not_found', message: 'no such note' });
    }
    if (token !== TOKENS.smoke && token !== TOKENS.user) return json(401, { error: 'unauthorized' });
    const id = /^\/notes\/([^/]+)$/.exec(path)?.[1];
    if (path === '/notes' && method === 'GET')
      return json(200, { items: [...table.notes.values()].slice(0, 20) });
    if (path === '/notes' && method === 'POST') {
      const key = event.headers['idempotency-key'];
      if (!key) return json(400, { error: 'idempotency_key_required' });
      const replay = table.idempotency.get(key);
      if (replay) return json(201, replay);
      const input = JSON.parse(event.body ?? '{}') as { title?: string; body?: string };
      const note = { id: randomUUID(), title: input.title ?? '', body: input.body ?? '' };
      table.notes.set(note.id, note);
      table.idempotency.set(key, note);
      return json(201, note);
    }
    if (id && method === 'GET') {
      const note = table.notes.get(decodeURIComponent(id));
      return note ? json(200, note) : json(404, { error: 'not_found' });
    }
    if (id && method === 'DELETE') {
      table.notes.delete(decodeURIComponent(id));
      return { statusCode: 204 };
    }
    return json(404, { error: 'no_route' });
  };
  const handler = apiHandler(async (event) => inner(event), {
    logger: new Logger({ serviceName: 'shipshape-api', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Shipshape', serviceName: 'shipshape-api' }),
  });
  return (event, context) => handler(event as APIGatewayProxyEventV2, context as unknown as Context);
}
