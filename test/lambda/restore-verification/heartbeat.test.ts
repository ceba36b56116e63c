import { Logger } from '@aws-lambda-powertools/logger';
import { Client } from 'pg';
import { createHandler, type Heartbeat } from '../../../lambda/restore-verification/heartbeat';
import type { ConnectFn } from '../../../lambda/runtime/iam-connect';
import { createTestDatabase, type TestDatabase, TEST_DATABASE_URL } from '../../helpers/postgres';

const server = new URL(TEST_DATABASE_URL);
let db: TestDatabase;
const connectedAs: string[] = [];

/** Password auth locally, then the target user's privileges (`shipshape_heartbeat`) via SET ROLE. */
const passwordConnect: ConnectFn = async (target) => {
  const client = new Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  });
  await client.connect();
  await client.query(`SET ROLE ${client.escapeIdentifier(target.user)}`);
  connectedAs.push(target.user);
  return client;
};

beforeAll(async () => {
  db = await createTestDatabase('rv_heartbeat', { migrated: true });
});
afterAll(async () => db?.drop());

test('writes one heartbeat row as shipshape_heartbeat through the proxy endpoint and returns it', async () => {
  const handler = createHandler(() => ({
    connect: passwordConnect,
    env: {
      PROXY_ENDPOINT: server.hostname,
      DATABASE_NAME: db.name,
      DATABASE_USER: 'shipshape_heartbeat',
      DATABASE_PORT: Number(server.port || 5432),
      HEARTBEAT_SOURCE: 'heartbeat-writer',
    },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  }));
  const before = Date.now();
  const first: Heartbeat = await handler({});
  const second: Heartbeat = await handler({});
  expect(connectedAs).toEqual(['shipshape_heartbeat', 'shipshape_heartbeat']);
  const { rows } = await db.pool.query<{ id: string; source: string; recorded_at: Date }>(
    'SELECT id, source, recorded_at FROM public.heartbeat ORDER BY id',
  );
  expect(rows.map((r) => [String(r.id), r.source])).toEqual([
    [first.id, 'heartbeat-writer'],
    [second.id, 'heartbeat-writer'],
  ]);
  expect(Date.parse(second.recordedAt)).toBeGreaterThanOrEqual(before - 1000);
});

test('fails loudly when the connecting role may not insert (read-only restore_verifier)', async () => {
  const handler = createHandler(() => ({
    connect: passwordConnect,
    env: {
      PROXY_ENDPOINT: server.hostname,
      DATABASE_NAME: db.name,
      DATABASE_USER: 'restore_verifier',
      DATABASE_PORT: Number(server.port || 5432),
      HEARTBEAT_SOURCE: 'heartbeat-writer',
    },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  }));
  await expect(handler({})).rejects.toThrow(/permission denied for table heartbeat/);
});
