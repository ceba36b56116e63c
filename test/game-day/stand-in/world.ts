/**
 * One Shipshape environment in the stand-in: the synthesized stateless stack "deployed" into
 * simulated Lambda, CodeDeploy, CloudWatch and API Gateway, with the AWS SDK clients of the real
 * CLI and the real hook handlers pointed at it through aws-sdk-client-mock (`callsFake`), and a
 * real PostgreSQL database behind the migration gate.
 */
import { defaultMigrationsDir } from '../../../lib/migrations';
import { createHandler as createGateHandler } from '../../../lambda/deploy-hooks/migration-gate';
import { createHandler as createSmokeHandler } from '../../../lambda/deploy-hooks/smoke-test';
import { AlarmEvaluator } from './alarms';
import type { SimClock } from './clock';
import { CodeDeployService, type Deployment, type TrafficConfig } from './codedeploy';
import { type Handler, LambdaService } from './lambda';
import { installSdkMocks, SECRETS } from './sdk-mocks';
import { MetricStore } from './metrics';
import { apiVersion, NotesTable, TOKENS, type VersionProfile } from './service-versions';
import { DeployedTemplate, REGION, type Json, type TemplateJson } from './template';

/** Where the gate's database lives: a real test database. */
export interface DatabaseEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

export interface WorldOptions {
  readonly stackName: string;
  readonly template: TemplateJson;
  readonly clock: SimClock;
  readonly database: DatabaseEndpoint;
  /** Changes to a hook's environment as deployed (e.g. a missing setting). */
  readonly hookEnvironment?: Partial<
    Record<
      'BeforeAllowTraffic' | 'AfterAllowTraffic',
      (env: Record<string, string>) => Record<string, string>
    >
  >;
}

/** An HTTP answer of the front door. */
export interface FrontDoorResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

export class World {
  public readonly store = new MetricStore();
  public readonly lambda: LambdaService;
  public readonly codeDeploy: CodeDeployService;
  public alarms!: AlarmEvaluator;
  public readonly notes = new NotesTable();
  public readonly clock: SimClock;
  public deployed!: DeployedTemplate;
  /** Version CloudFormation last published (what `Fn::GetAtt <Version>.Version` resolves to). */
  private publishedVersion = '0';
  private readonly mocks: Array<{ restore(): void }>;
  public readonly names: {
    service: string;
    serviceLogicalId: string;
    versionLogicalId: string;
    alias: string;
    application: string;
    group: string;
    apiId: string;
    apiUrl: string;
    hooks: Record<string, string>;
    hookLogicalIds: Record<string, string>;
  };

  constructor(public readonly options: WorldOptions) {
    this.clock = options.clock;
    this.lambda = new LambdaService(this.store, () => this.clock.now(), {
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDGAMEDAY',
      AWS_SECRET_ACCESS_KEY: 'game-day-secret',
      TZ: 'UTC',
    });
    this.deployed = this.deployTemplate();
    this.names = this.discover();
    this.alarms = new AlarmEvaluator(this.deployed, this.store);
    this.codeDeploy = new CodeDeployService(this.clock, this.lambda, (name) => this.alarms.state(name));
    this.installDeploymentGroup();
    this.alarms.requireSupported([...this.groupAlarms(), ...this.alarms.notifying(/AlarmTopicsPage/)]);
    // CloudWatch evaluates every alarm once a minute, on the minute.
    const firstMinute = Math.ceil(this.clock.now() / 60_000) * 60_000;
    this.clock.every(60_000, firstMinute, () => this.alarms.evaluate(this.clock.now()));
    this.mocks = installSdkMocks(this);
  }

  private deployTemplate(): DeployedTemplate {
    const db = this.options.database;
    return new DeployedTemplate(this.options.stackName, this.options.template, {
      publishedVersion: () => this.publishedVersion,
      importValue: (name) => {
        if (/DatabaseSecret/.test(name))
          return `arn:aws:secretsmanager:${REGION}:123456789012:secret:master-AbCdEf`;
        if (/EndpointAddress/.test(name)) return db.host;
        if (/EndpointPort/.test(name)) return String(db.port);
        return `imported-${name}`;
      },
    });
  }

  /** Names the service's resources by following the alias's CodeDeploy update policy. */
  private discover(): World['names'] {
    const t = this.deployed;
    const aliasIds = t
      .ofType('AWS::Lambda::Alias')
      .filter((id) => t.resource(id).UpdatePolicy?.CodeDeployLambdaAliasUpdate !== undefined);
    if (aliasIds.length !== 1)
      throw new Error(`expected one alias with a CodeDeploy update policy, found ${aliasIds.length}`);
    const alias = t.resource(aliasIds[0]);
    const p = alias.Properties as Record<string, Json>;
    const serviceLogicalId = (p.FunctionName as { Ref: string }).Ref;
    const versionLogicalId = (p.FunctionVersion as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const policy = alias.UpdatePolicy!.CodeDeployLambdaAliasUpdate as Record<string, Json>;
    const hookLogicalIds: Record<string, string> = {};
    const hooks: Record<string, string> = {};
    for (const [hook, key] of [
      ['BeforeAllowTraffic', 'BeforeAllowTrafficHook'],
      ['AfterAllowTraffic', 'AfterAllowTrafficHook'],
    ] as const) {
      if (policy[key]) {
        hookLogicalIds[hook] = (policy[key] as { Ref: string }).Ref;
        hooks[hook] = t.resolveString(policy[key]);
      }
    }
    const apiIds = t.ofType('AWS::ApiGatewayV2::Api');
    if (apiIds.length !== 1) throw new Error(`expected one HTTP API, found ${apiIds.length}`);
    const apiUrlOutput = this.options.template.Outputs?.ApiUrl;
    if (!apiUrlOutput) throw new Error('the stack has no ApiUrl output');
    return {
      service: t.resolveString({ Ref: serviceLogicalId }),
      serviceLogicalId,
      versionLogicalId,
      alias: String(p.Name),
      application: t.resolveString(policy.ApplicationName),
      group: t.resolveString(policy.DeploymentGroupName),
      apiId: t.resolveString({ Ref: apiIds[0] }),
      apiUrl: t.resolveString(apiUrlOutput.Value).replace(/\/+$/, ''),
      hooks,
      hookLogicalIds,
    };
  }

  private installDeploymentGroup(): void {
    const t = this.deployed;
    const groupId = t
      .ofType('AWS::CodeDeploy::DeploymentGroup')
      .find((id) => t.physicalName(id) === this.names.group);
    if (!groupId) throw new Error('no deployment group');
    const g = t.resolve(t.resource(groupId).Properties as Json) as Record<string, Json>;
    const alarmConfig = (g.AlarmConfiguration ?? {}) as {
      Enabled?: boolean;
      Alarms?: Array<{ Name: string }>;
      IgnorePollAlarmFailure?: boolean;
    };
    for (const id of t.ofType('AWS::CodeDeploy::DeploymentConfig')) {
      const c = t.resource(id).Properties as {
        TrafficRoutingConfig?: Record<string, Record<string, number> | string>;
      };
      const routing = c.TrafficRoutingConfig;
      const type = String(routing?.Type ?? 'AllAtOnce') as TrafficConfig['type'];
      const shape = (routing?.TimeBasedCanary ?? routing?.TimeBasedLinear ?? {}) as Record<string, number>;
      const percentage = shape.CanaryPercentage ?? shape.LinearPercentage;
      const intervalMinutes = shape.CanaryInterval ?? shape.LinearInterval;
      this.codeDeploy.addConfig(t.physicalName(id), { type, percentage, intervalMinutes });
    }
    const rollback = (g.AutoRollbackConfiguration ?? {}) as { Enabled?: boolean; Events?: string[] };
    this.codeDeploy.addGroup({
      applicationName: String(g.ApplicationName),
      deploymentGroupName: this.names.group,
      deploymentConfigName: String(g.DeploymentConfigName ?? 'CodeDeployDefault.LambdaAllAtOnce'),
      alarmConfiguration: {
        enabled: alarmConfig.Enabled === true,
        alarms: (alarmConfig.Alarms ?? []).map((a) => String(a.Name)),
        ignorePollAlarmFailure: alarmConfig.IgnorePollAlarmFailure,
      },
      autoRollbackEvents: rollback.Enabled ? (rollback.Events ?? []) : [],
    });
  }

  /** The deployment group's alarm names (as deployed). */
  public groupAlarms(): readonly string[] {
    return this.codeDeploy.group(this.names.application, this.names.group).alarmConfiguration.alarms;
  }

  private environmentOf(logicalId: string): Record<string, string> {
    const fn = this.deployed.resource(logicalId).Properties as { Environment?: { Variables?: Json } };
    const vars = this.deployed.resolve(fn.Environment?.Variables ?? {}) as Record<string, Json>;
    return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]));
  }

  private timeoutOf(logicalId: string): number {
    const fn = this.deployed.resource(logicalId).Properties as { Timeout?: number };
    return (fn.Timeout ?? 3) * 1000;
  }

  /** (Re)configures the hook functions from the template, as CloudFormation would on an update. */
  private configureHooks(): void {
    const db = this.options.database;
    for (const [hook, logicalId] of Object.entries(this.names.hookLogicalIds)) {
      let env = this.environmentOf(logicalId);
      // The stand-in's database instance hosts the test database under its own name.
      if (hook === 'BeforeAllowTraffic' && 'DB_NAME' in env) env.DB_NAME = db.database;
      const change = this.options.hookEnvironment?.[hook as 'BeforeAllowTraffic'];
      if (change) env = change(env);
      const handler: Handler =
        hook === 'BeforeAllowTraffic'
          ? (createGateHandler({ tls: false, migrationsDir: defaultMigrationsDir() }) as Handler)
          : (createSmokeHandler({ fetch: this.fetch }) as Handler);
      const config = { environment: env, timeoutMs: this.timeoutOf(logicalId), handler };
      const name = this.names.hooks[hook];
      try {
        this.lambda.updateFunctionCode(name, config);
      } catch {
        this.lambda.createFunction(name, config);
      }
    }
  }

  /** The first deployment of the stack: version 1 live at 100%, no CodeDeploy involved. */
  public bootstrap(profile: VersionProfile): string {
    this.lambda.createFunction(this.names.service, this.serviceCode(profile));
    this.publishedVersion = this.lambda.publishVersion(this.names.service);
    this.lambda.createAlias(this.names.service, this.names.alias, this.publishedVersion);
    this.configureHooks();
    this.alarms = this.alarms.reload(this.deployed);
    return this.publishedVersion;
  }

  private serviceCode(profile: VersionProfile) {
    return {
      environment: this.environmentOf(this.names.serviceLogicalId),
      timeoutMs: this.timeoutOf(this.names.serviceLogicalId),
      handler: apiVersion(profile, this.notes),
      description: profile.label,
    };
  }

  /**
   * `cdk deploy` of new code: CloudFormation publishes a version, updates the resources that
   * name it (alarms, hook settings), then updates the alias, whose CodeDeployLambdaAliasUpdate
   * policy starts a deployment of the group's configuration with the policy's hooks
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatepolicy.html#cfn-attributes-updatepolicy-codedeploylambdaaliasupdate).
   */
  public deployNewCode(profile: VersionProfile): Deployment {
    const current = this.lambda.getAlias(this.names.service, this.names.alias).version;
    this.lambda.updateFunctionCode(this.names.service, this.serviceCode(profile));
    this.publishedVersion = this.lambda.publishVersion(this.names.service);
    this.configureHooks();
    this.alarms = this.alarms.reload(this.deployed);
    const group = this.codeDeploy.group(this.names.application, this.names.group);
    return this.codeDeploy.create({
      applicationName: this.names.application,
      deploymentGroupName: this.names.group,
      deploymentConfigName: group.deploymentConfigName,
      description: 'CloudFormation stack update',
      appSpec: JSON.stringify({
        version: 0.0,
        Resources: [
          {
            [this.names.alias]: {
              Type: 'AWS::Lambda::Function',
              Properties: {
                Name: this.names.service,
                Alias: this.names.alias,
                CurrentVersion: current,
                TargetVersion: this.publishedVersion,
              },
            },
          },
        ],
        Hooks: Object.entries(this.names.hooks).map(([hook, fn]) => ({ [hook]: fn })),
      }),
    });
  }

  // --- The front door: CloudFront → HTTP API → alias -------------------------------------------

  /**
   * One request through the HTTP API to the live alias, recording AWS/ApiGateway `Count`, `4xx`,
   * `5xx` and `Latency` by `ApiId` (and `ApiId`+`Stage`)
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html). A failed
   * invocation reaches the caller as 500
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
   */
  public async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<FrontDoorResponse> {
    const now = this.clock.now();
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const [rawPath, rawQueryString = ''] = path.split('?');
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath,
      rawQueryString,
      headers,
      body: init.body,
      isBase64Encoded: false,
      requestContext: {
        accountId: '123456789012',
        apiId: this.names.apiId,
        domainName: 'api.example',
        domainPrefix: 'api',
        http: {
          method,
          path: rawPath,
          protocol: 'HTTP/1.1',
          sourceIp: '198.51.100.7',
          userAgent: 'game-day',
        },
        requestId: `api-${now}-${Math.random().toString(36).slice(2, 8)}`,
        routeKey: '$default',
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
      },
    };
    const result = await this.lambda.invoke(this.names.service, event, this.names.alias);
    let response: FrontDoorResponse;
    if (result.functionError) {
      response = { status: 500, body: '{"message":"Internal Server Error"}', headers: {} };
    } else {
      const payload = result.payload as {
        statusCode?: number;
        body?: string;
        headers?: Record<string, string>;
      };
      response = {
        status: payload.statusCode ?? 200,
        body: payload.body ?? '',
        headers: payload.headers ?? {},
      };
    }
    const sets: Array<Record<string, string>> = [
      { ApiId: this.names.apiId },
      { ApiId: this.names.apiId, Stage: '$default' },
    ];
    for (const dims of sets) {
      this.store.put('AWS/ApiGateway', 'Count', dims, now, 1);
      this.store.put(
        'AWS/ApiGateway',
        '4xx',
        dims,
        now,
        response.status >= 400 && response.status < 500 ? 1 : 0,
      );
      this.store.put('AWS/ApiGateway', '5xx', dims, now, response.status >= 500 ? 1 : 0);
      this.store.put('AWS/ApiGateway', 'Latency', dims, now, 25);
    }
    return response;
  }

  /** Steady user traffic: `perMinute` authenticated reads, evenly spaced. Returns a stop function. */
  public startTraffic(perMinute: number): () => void {
    return this.clock.every(60_000 / perMinute, this.clock.now(), async () => {
      await this.request('GET', '/notes', { headers: { authorization: `Bearer ${TOKENS.user}` } });
    });
  }

  /** `fetch` as the smoke test sees the internet: the front door and Cognito. */
  public readonly fetch = async (url: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const href = String(url instanceof Request ? url.url : url);
    if (href.startsWith(this.names.apiUrl)) {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const answer = await this.request(init.method ?? 'GET', href.slice(this.names.apiUrl.length) || '/', {
        headers,
        body: typeof init.body === 'string' ? init.body : undefined,
      });
      return new Response(answer.status === 204 ? null : answer.body, {
        status: answer.status,
        headers: answer.headers,
      });
    }
    if (href.startsWith(`https://cognito-idp.${REGION}.amazonaws.com`)) {
      const body = JSON.parse(String(init.body)) as { AuthParameters?: { PASSWORD?: string } };
      if (body.AuthParameters?.PASSWORD !== SECRETS.smokePassword) {
        return new Response('{"__type":"NotAuthorizedException"}', { status: 400 });
      }
      return new Response(JSON.stringify({ AuthenticationResult: { AccessToken: TOKENS.smoke } }), {
        status: 200,
      });
    }
    throw new TypeError(`fetch failed: the game day has no route to ${href}`);
  };

  public dispose(): void {
    for (const mock of this.mocks) mock.restore();
  }
}
