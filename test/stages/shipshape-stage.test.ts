import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { buildShipshapeApp } from '../../lib/app';
import { RAW_CONFIGS } from '../../lib/config';
import { newTestApp, synthEnvironment } from '../helpers/synth';

describe.each(['staging', 'production'] as const)('%s stage', (env) => {
  test('has a stateful and a stateless stack, the stateless one deployed after', () => {
    const { stage } = synthEnvironment(env);
    expect(stage.stateful.stackName).toBe(`${stage.stageName}-Stateful`);
    expect(stage.stateless.stackName).toBe(`${stage.stageName}-Stateless`);
    expect(stage.stateless.dependencies).toContain(stage.stateful);
    expect(stage.stateful.dependencies).not.toContain(stage.stateless);
  });

  test('pins account, region and AZs from config, without lookups', () => {
    const { stage } = synthEnvironment(env);
    const config = stage.config;
    for (const stack of [stage.stateful, stage.stateless]) {
      expect(stack.account).toBe(config.account);
      expect(stack.region).toBe(config.region);
      expect(stack.availabilityZones).toEqual(config.availabilityZones);
    }
  });

  test('tags every resource with Application and Environment', () => {
    const { stateful, stateless } = synthEnvironment(env);
    const tags = Match.arrayWith([
      { Key: 'Application', Value: 'shipshape' },
      { Key: 'Environment', Value: env },
    ]);
    stateful.hasResourceProperties('AWS::EC2::VPC', { Tags: tags });
    stateless.hasResourceProperties('AWS::SNS::Topic', { Tags: tags });
  });

  test(env === 'production' ? 'stacks have termination protection' : 'stacks can be torn down', () => {
    const { stage } = synthEnvironment(env);
    expect(stage.stateful.terminationProtection).toBe(env === 'production');
    expect(stage.stateless.terminationProtection).toBe(env === 'production');
  });

  test('alarm topics are KMS-encrypted, TLS-only and e-mail the on-call address', () => {
    const { stateless, stage } = synthEnvironment(env);
    stateless.resourceCountIs('AWS::SNS::Topic', 2);
    stateless.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    stateless.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    stateless.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: stage.config.alarmEmail,
    });
  });
});

describe('the whole app', () => {
  let outdir: string;
  beforeAll(() => {
    const app = newTestApp();
    buildShipshapeApp(app);
    outdir = app.synth().directory;
  });

  function templates(): Array<[string, string]> {
    const found: Array<[string, string]> = [];
    for (const assembly of readdirSync(outdir).filter((d) => d.startsWith('assembly-'))) {
      for (const file of readdirSync(join(outdir, assembly)).filter((f) => f.endsWith('.template.json'))) {
        found.push([`${assembly}/${file}`, readFileSync(join(outdir, assembly, file), 'utf8')]);
      }
    }
    return found;
  }

  test('writes a Staging and a Production assembly: stateful, stateless and the us-east-1 edge stacks', () => {
    const files = templates().map(([name]) => name);
    for (const stage of ['Staging', 'Production']) {
      const stacks = files.filter((f) => f.startsWith(`assembly-${stage}/`)).map((f) => f.split('/')[1]);
      expect(stacks.sort()).toEqual(
        [
          `${stage}Stateful`,
          `${stage}Stateless`,
          `${stage}StatelessEdgeAlarms`,
          `${stage}StatelessEdgeWaf`,
        ].map((s) => expect.stringMatching(new RegExp(`^${s}[0-9A-F]{8}\\.template\\.json$`))),
      );
    }
  });

  test('no template contains the dummy1 placeholder AZs of a failed lookup', () => {
    const all = templates();
    expect(all.length).toBeGreaterThan(0);
    for (const [name, body] of all) {
      expect({ name, hasDummy: body.includes('dummy1') }).toEqual({ name, hasDummy: false });
    }
  });

  test('a bad config stops synth with a message naming environment, field and allowed values', () => {
    const bad = structuredClone(RAW_CONFIGS) as Record<'staging' | 'production', Record<string, unknown>>;
    (bad.production.database as Record<string, unknown>).backupRetentionDays = 90;
    expect(() => buildShipshapeApp(newTestApp(), { rawConfigs: bad })).toThrow(
      /environment 'production'[\s\S]*database\.backupRetentionDays: got 90; must be at most 35/,
    );
  });
});
