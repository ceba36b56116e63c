import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  InvalidReplicationGroupStateFault,
  ModifyReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { createClient } from '@redis/client';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

/**
 * A real Redis server whose AUTH passwords are managed like an ElastiCache replication group's
 * AUTH tokens, behind `aws-sdk-client-mock` for the ElastiCache API. Behaviour followed:
 * - ModifyReplicationGroup with `AuthToken` + `AuthTokenUpdateStrategy`: `ROTATE` adds the new
 *   token and keeps accepting the previous one (if two were accepted, the older is dropped);
 *   `SET` keeps only the new token and is allowed only after a ROTATE
 *   (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html#auth-modifyng-token,
 *   https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ModifyReplicationGroup.html).
 *   Dropping the older of two tokens on a further ROTATE is our reading of that page; it is the
 *   strict case for clients, so the stand-in models it.
 * - A modification is refused unless the group is `available` (InvalidReplicationGroupStateFault);
 *   while it applies, the group is `modifying` with `PendingModifiedValues.AuthTokenStatus`
 *   `ROTATING`/`SETTING`
 *   (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReplicationGroupPendingModifiedValues.html).
 *   Here it applies after `describesUntilApplied` DescribeReplicationGroups calls.
 * The passwords are the real server's: `ACL SETUSER default resetpass >a >b` (Redis >= 6 accepts
 * several passwords per user), so a client with a refused token really gets WRONGPASS.
 */
export class FakeElastiCache {
  public readonly client = new ElastiCacheClient({ region: 'eu-west-1' });
  public mock!: AwsClientStub<ElastiCacheClient>;
  public status = 'available';
  /** Describe calls a modification stays pending for. */
  public describesUntilApplied = 1;
  public port = 0;
  /** Every ModifyReplicationGroup input received. */
  public readonly modifications: Array<{ AuthToken?: string; AuthTokenUpdateStrategy?: string }> = [];
  private tokens: string[];
  private pending?: { token: string; strategy: 'ROTATE' | 'SET'; describesLeft: number };
  private rotatedSinceSet = false;
  private server?: ChildProcess;
  private dir?: string;
  private admin?: ReturnType<typeof createClient>;

  constructor(
    public readonly replicationGroupId: string,
    initialToken: string,
  ) {
    this.tokens = [initialToken];
  }

  /** Starts redis-server on a free loopback port with the initial token and mocks every ElastiCacheClient. */
  async start(): Promise<void> {
    this.port = await freePort();
    this.dir = mkdtempSync(join(tmpdir(), 'fake-elasticache-'));
    this.server = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.admin = createClient({ socket: { host: '127.0.0.1', port: this.port, reconnectStrategy: false } });
    this.admin.on('error', () => undefined);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.admin.connect();
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await this.applyPasswords();

    this.mock = mockClient(ElastiCacheClient);
    this.mock
      .on(DescribeReplicationGroupsCommand)
      .callsFake(async (input: { ReplicationGroupId?: string }) => {
        if (input.ReplicationGroupId !== this.replicationGroupId) return { ReplicationGroups: [] };
        if (this.pending && --this.pending.describesLeft < 0) await this.apply();
        return {
          ReplicationGroups: [
            {
              ReplicationGroupId: this.replicationGroupId,
              Status: this.status,
              AuthTokenEnabled: true,
              PendingModifiedValues: this.pending
                ? { AuthTokenStatus: this.pending.strategy === 'ROTATE' ? 'ROTATING' : 'SETTING' }
                : {},
            },
          ],
        };
      });
    this.mock
      .on(ModifyReplicationGroupCommand)
      .callsFake(
        (input: { ReplicationGroupId: string; AuthToken?: string; AuthTokenUpdateStrategy?: string }) => {
          this.modifications.push({
            AuthToken: input.AuthToken,
            AuthTokenUpdateStrategy: input.AuthTokenUpdateStrategy,
          });
          if (this.status !== 'available') {
            throw new InvalidReplicationGroupStateFault({
              message: `Replication group ${this.replicationGroupId} is not in available state (${this.status})`,
              $metadata: {},
            });
          }
          const strategy = (input.AuthTokenUpdateStrategy ?? 'ROTATE') as 'ROTATE' | 'SET';
          if (strategy === 'SET' && !this.rotatedSinceSet)
            throw new Error('InvalidParameterCombination: SET is allowed only after ROTATE');
          if (!input.AuthToken) throw new Error('InvalidParameterValue: AuthToken is required');
          this.status = 'modifying';
          this.pending = { token: input.AuthToken, strategy, describesLeft: this.describesUntilApplied };
          return { ReplicationGroup: { ReplicationGroupId: this.replicationGroupId, Status: 'modifying' } };
        },
      );
  }

  async stop(): Promise<void> {
    this.mock?.restore();
    this.admin?.destroy();
    this.server?.kill('SIGKILL');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Tokens the server accepts now, oldest first. */
  accepted(): readonly string[] {
    return [...this.tokens];
  }

  /** Whether a fresh connection with `password` gets a PONG. */
  async accepts(password: string): Promise<boolean> {
    const c = createClient({
      socket: { host: '127.0.0.1', port: this.port, reconnectStrategy: false },
      password,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.destroy();
    }
  }

  private async apply(): Promise<void> {
    const { token, strategy } = this.pending!;
    this.pending = undefined;
    if (strategy === 'ROTATE') {
      this.tokens = [this.tokens[this.tokens.length - 1], token];
      this.rotatedSinceSet = true;
    } else {
      this.tokens = [token];
      this.rotatedSinceSet = false;
    }
    this.status = 'available';
    await this.applyPasswords();
  }

  private async applyPasswords(): Promise<void> {
    await this.admin!.sendCommand([
      'ACL',
      'SETUSER',
      'default',
      'on',
      'resetpass',
      ...this.tokens.map((t) => `>${t}`),
    ]);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
