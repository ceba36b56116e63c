import { randomBytes, randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

interface Version {
  value?: string;
  stages: Set<string>;
}

/**
 * One Secrets Manager secret with versions and staging labels, behind `aws-sdk-client-mock`:
 * enough of GetSecretValue, DescribeSecret, GetRandomPassword, PutSecretValue and
 * UpdateSecretVersionStage to run a rotation the way Secrets Manager does (including moving
 * AWSPREVIOUS to the version that loses AWSCURRENT).
 */
export class FakeSecret {
  public readonly client = new SecretsManagerClient({ region: 'eu-west-1' });
  public readonly mock: AwsClientStub<SecretsManagerClient>;
  public rotationEnabled = true;
  private readonly versions = new Map<string, Version>();

  /**
   * @param everyClient mock every SecretsManagerClient (for code that creates its own at load)
   *   instead of only {@link client}
   */
  constructor(
    public readonly secretId: string,
    initialValue: string,
    everyClient = false,
  ) {
    this.versions.set(randomUUID(), { value: initialValue, stages: new Set(['AWSCURRENT']) });
    this.mock = mockClient(everyClient ? SecretsManagerClient : this.client);
    this.mock.on(GetSecretValueCommand).callsFake((input: { VersionId?: string; VersionStage?: string }) => {
      const found = [...this.versions.entries()].find(
        ([id, v]) =>
          (input.VersionId === undefined || input.VersionId === id) &&
          v.stages.has(input.VersionStage ?? 'AWSCURRENT') &&
          v.value !== undefined,
      );
      if (!found) throw notFound(`no version with ${JSON.stringify(input)}`);
      return { ARN: this.secretId, VersionId: found[0], SecretString: found[1].value };
    });
    this.mock.on(DescribeSecretCommand).callsFake(() => ({
      ARN: this.secretId,
      RotationEnabled: this.rotationEnabled,
      VersionIdsToStages: Object.fromEntries([...this.versions].map(([id, v]) => [id, [...v.stages]])),
    }));
    this.mock.on(GetRandomPasswordCommand).callsFake((input: { PasswordLength?: number }) => ({
      RandomPassword: randomBytes(64)
        .toString('base64url')
        .replace(/[-_]/g, 'x')
        .slice(0, input.PasswordLength ?? 32),
    }));
    this.mock
      .on(PutSecretValueCommand)
      .callsFake((input: { ClientRequestToken: string; SecretString: string; VersionStages?: string[] }) => {
        const stages = input.VersionStages ?? ['AWSCURRENT'];
        for (const stage of stages) this.removeStage(stage);
        const existing = this.versions.get(input.ClientRequestToken);
        this.versions.set(input.ClientRequestToken, {
          value: input.SecretString,
          stages: new Set([...(existing?.stages ?? []), ...stages]),
        });
        return { ARN: this.secretId, VersionId: input.ClientRequestToken };
      });
    this.mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake((input: { VersionStage: string; MoveToVersionId: string; RemoveFromVersionId?: string }) => {
        const from = input.RemoveFromVersionId ? this.versions.get(input.RemoveFromVersionId) : undefined;
        if (from && !from.stages.has(input.VersionStage))
          throw new Error('RemoveFromVersionId does not hold the stage');
        if (input.VersionStage === 'AWSCURRENT' && from) {
          this.removeStage('AWSPREVIOUS');
          from.stages.add('AWSPREVIOUS');
        }
        from?.stages.delete(input.VersionStage);
        this.versions.get(input.MoveToVersionId)!.stages.add(input.VersionStage);
        return { ARN: this.secretId };
      });
  }

  /** What Secrets Manager does when a rotation starts: a new version labelled AWSPENDING, no value yet. */
  startRotation(): string {
    const token = randomUUID();
    this.removeStage('AWSPENDING');
    this.versions.set(token, { stages: new Set(['AWSPENDING']) });
    return token;
  }

  /** createSecret's effect, through the client: `value` becomes AWSPENDING of version `token`. */
  async putPending(token: string, value: string): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        ClientRequestToken: token,
        SecretString: value,
        VersionStages: ['AWSPENDING'],
      }),
    );
  }

  /** finishSecret's effect, through the client: version `token` becomes AWSCURRENT. */
  async promote(token: string): Promise<void> {
    const current = Object.entries(this.stages()).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        RemoveFromVersionId: current,
      }),
    );
    this.completeRotation();
  }

  /** What Secrets Manager does after finishSecret succeeds: the AWSPENDING label is dropped. */
  completeRotation(): void {
    this.removeStage('AWSPENDING');
  }

  /** The value labelled `stage`, if any. */
  value(stage: string): string | undefined {
    return [...this.versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  /** Version ids and their labels. */
  stages(): Record<string, string[]> {
    return Object.fromEntries([...this.versions].map(([id, v]) => [id, [...v.stages].sort()]));
  }

  private removeStage(stage: string): void {
    for (const v of this.versions.values()) v.stages.delete(stage);
  }
}

function notFound(message: string): ResourceNotFoundException {
  return new ResourceNotFoundException({ message, $metadata: {} });
}
