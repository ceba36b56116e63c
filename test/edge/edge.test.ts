import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/shared/origin-verify-header';
import type { EnvironmentConfig } from '../../lib/config';
import { MANAGED_RULE_GROUPS } from '../../lib/edge/edge-firewall';
import { SIGN_IN_OPERATIONS } from '../../lib/edge/sign-in-firewall';
import { matches, type WafRequest } from './waf-evaluator';
import { type EdgeEnvironment, synthEdgeEnvironment } from './edge-fixture';

// Ids of the AWS managed CloudFront policies (stable, documented by AWS).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

function only(template: Template, type: string, props: Record<string, unknown> = {}): Resource {
  const found = Object.values(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found).toHaveLength(1);
  return found[0] as Resource;
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe.each(['staging', 'production'] as const)('edge in %s', (env) => {
  let e: EdgeEnvironment;
  let config: EnvironmentConfig;
  let rules: Array<Record<string, unknown>>;
  beforeAll(() => {
    e = synthEdgeEnvironment(env);
    config = e.stage.config;
    rules = only(e.firewall, 'AWS::WAFv2::WebACL').Properties.Rules as Array<Record<string, unknown>>;
  });

  describe('web ACL', () => {
    test('lives in a us-east-1 stack of the same account and stage, deployed before the distribution', () => {
      expect(e.firewallStack.region).toBe('us-east-1');
      expect(e.firewallStack.account).toBe(config.account);
      expect(e.firewallStack.node.scope).toBe(e.stage);
      expect(e.stage.stateless.dependencies).toContain(e.firewallStack);
      expect(e.firewallStack.terminationProtection).toBe(env === 'production');
    });

    test('has CLOUDFRONT scope and allows what no rule blocks', () => {
      e.firewall.hasResourceProperties('AWS::WAFv2::WebACL', {
        Scope: 'CLOUDFRONT',
        DefaultAction: { Allow: {} },
      });
    });

    test('evaluates the managed rule groups first, then the two rate limits, in that order', () => {
      const ordered = [...rules].sort((a, b) => (a.Priority as number) - (b.Priority as number));
      expect(ordered.map((r) => r.Name)).toEqual([
        ...MANAGED_RULE_GROUPS,
        'PerIpRateLimit',
        'PerIpWriteRateLimit',
      ]);
      expect(ordered.map((r) => r.Priority)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    test('uses the AWS managed groups common, known bad inputs, SQL injection and IP reputation', () => {
      for (const name of [
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesSQLiRuleSet',
        'AWSManagedRulesAmazonIpReputationList',
      ]) {
        const rule = rules.find((r) => r.Name === name);
        expect(rule).toMatchObject({
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name } },
        });
      }
    });

    test('only counts (does not block) bodies over 8 KB, which notes may legitimately exceed', () => {
      const common = rules.find((r) => r.Name === 'AWSManagedRulesCommonRuleSet');
      expect(common).toMatchObject({
        Statement: {
          ManagedRuleGroupStatement: {
            RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
          },
        },
      });
    });

    test('blocks an IP above the configured requests per 5 minutes on any path', () => {
      expect(rules.find((r) => r.Name === 'PerIpRateLimit')).toMatchObject({
        Action: { Block: {} },
        Statement: {
          RateBasedStatement: {
            Limit: config.edge.perIpRequestsPer5Min,
            AggregateKeyType: 'IP',
            EvaluationWindowSec: 300,
          },
        },
      });
      expect(
        (rules.find((r) => r.Name === 'PerIpRateLimit') as { Statement: { RateBasedStatement: object } })
          .Statement.RateBasedStatement,
      ).not.toHaveProperty('ScopeDownStatement');
    });

    test("blocks an IP above the stricter limit on writes to the API's write routes only", () => {
      const rule = rules.find((r) => r.Name === 'PerIpWriteRateLimit') as {
        Action: unknown;
        Statement: { RateBasedStatement: { Limit: number; ScopeDownStatement: Record<string, unknown> } };
      };
      expect(rule.Action).toEqual({ Block: {} });
      expect(rule.Statement.RateBasedStatement.Limit).toBe(config.edge.perIpWriteRequestsPer5Min);
      expect(rule.Statement.RateBasedStatement.Limit).toBeLessThan(config.edge.perIpRequestsPer5Min);
      const counted = (request: WafRequest) =>
        matches(rule.Statement.RateBasedStatement.ScopeDownStatement, request);
      // The sample API's write routes, however the path is spelled.
      for (const request of [
        { method: 'POST', path: '/notes' },
        { method: 'POST', path: '/notes/' },
        { method: 'PUT', path: '/notes/abc' },
        { method: 'PATCH', path: '/NOTES/abc' },
        { method: 'DELETE', path: '//notes/abc' },
        { method: 'POST', path: '/x/../notes' },
      ]) {
        expect({ request, counted: counted(request) }).toEqual({ request, counted: true });
      }
      // Reads, and paths that are no route of this API (sign-in is at Cognito, not here).
      for (const request of [
        { method: 'GET', path: '/notes' },
        { method: 'GET', path: '/notes/abc' },
        { method: 'GET', path: '/health' },
        { method: 'POST', path: '/health' },
        { method: 'POST', path: '/auth' },
        { method: 'POST', path: '/login' },
      ]) {
        expect({ request, counted: counted(request) }).toEqual({ request, counted: false });
      }
    });

    test('publishes CloudWatch metrics and sampled requests for every rule and the ACL', () => {
      const acl = only(e.firewall, 'AWS::WAFv2::WebACL').Properties;
      const configs = [acl.VisibilityConfig, ...rules.map((r) => r.VisibilityConfig)] as Array<{
        MetricName: string;
      }>;
      for (const v of configs) {
        expect(v).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
      }
      expect(new Set(configs.map((v) => v.MetricName)).size).toBe(configs.length);
    });

    test('logs to an aws-waf-logs-* group with the configured retention, authorization redacted', () => {
      const logGroupId = logicalIdOf(e.firewall, 'AWS::Logs::LogGroup', {
        LogGroupName: Match.stringLikeRegexp('^aws-waf-logs-'),
        RetentionInDays: config.edge.logRetentionDays,
      });
      e.firewall.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
        ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebAcl'), 'Arn'] },
        LogDestinationConfigs: [
          {
            'Fn::Join': [
              '',
              Match.arrayWith([
                Match.stringLikeRegexp(':logs:us-east-1:.*:log-group:$'),
                { Ref: logGroupId },
              ]),
            ],
          },
        ],
        RedactedFields: [{ SingleHeader: { Name: 'authorization' } }],
      });
    });

    test('is attached to the distribution through the cross-region export of its ARN', () => {
      const writer = only(e.firewall, 'Custom::CrossRegionExportWriter').Properties as {
        WriterProps: { region: string; exports: Record<string, unknown> };
      };
      expect(writer.WriterProps.region).toBe(config.region);
      const [exportName] = Object.entries(writer.WriterProps.exports).find(([, v]) =>
        JSON.stringify(v).includes('"Arn"'),
      )!;
      expect(writer.WriterProps.exports[exportName]).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^WebAcl/), 'Arn'],
      });
      const distribution = only(e.stateless, 'AWS::CloudFront::Distribution').Properties as {
        DistributionConfig: { WebACLId: { 'Fn::GetAtt': [string, string] } };
      };
      expect(distribution.DistributionConfig.WebACLId['Fn::GetAtt'][1]).toBe(exportName);
    });
  });

  describe('sign-in firewall (WAF on the user pool)', () => {
    let acl: Resource;
    let signInRules: Array<Record<string, unknown>>;
    beforeAll(() => {
      acl = only(e.stateless, 'AWS::WAFv2::WebACL');
      signInRules = acl.Properties.Rules as Array<Record<string, unknown>>;
    });

    test('is a regional web ACL associated with the service user pool', () => {
      expect(acl.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
      const aclId = logicalIdOf(e.stateless, 'AWS::WAFv2::WebACL', { Scope: 'REGIONAL' });
      e.stateless.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
        ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceUserPool'), 'Arn'] },
        WebACLArn: { 'Fn::GetAtt': [aclId, 'Arn'] },
      });
    });

    test('uses no account-takeover-prevention rule group (Cognito refuses such an ACL)', () => {
      expect(JSON.stringify(signInRules)).not.toContain('AWSManagedRulesATPRuleSet');
    });

    test('limits sign-in, sign-up and password-reset calls per IP, and nothing else at that rate', () => {
      const rule = signInRules.find((r) => r.Name === 'PerIpSignInRateLimit') as {
        Action: unknown;
        Statement: {
          RateBasedStatement: {
            Limit: number;
            AggregateKeyType: string;
            ScopeDownStatement: Record<string, unknown>;
          };
        };
      };
      expect(rule.Action).toEqual({ Block: {} });
      expect(rule.Statement.RateBasedStatement).toMatchObject({
        Limit: config.edge.perIpSignInRequestsPer5Min,
        AggregateKeyType: 'IP',
      });
      const counted = (request: WafRequest) =>
        matches(rule.Statement.RateBasedStatement.ScopeDownStatement, request);
      for (const operation of SIGN_IN_OPERATIONS) {
        const request = {
          method: 'POST',
          path: '/',
          headers: { 'X-Amz-Target': `AWSCognitoIdentityProviderService.${operation}` },
        };
        expect({ operation, counted: counted(request) }).toEqual({ operation, counted: true });
      }
      expect(counted({ method: 'POST', path: '/login' })).toBe(true);
      expect(counted({ method: 'POST', path: '/oauth2/token' })).toBe(true);
      expect(counted({ method: 'GET', path: '/LOGIN' })).toBe(true);
      // Calls of signed-in users and the authorize redirect are only under the general limit.
      expect(
        counted({
          method: 'POST',
          path: '/',
          headers: { 'x-amz-target': 'AWSCognitoIdentityProviderService.GetUser' },
        }),
      ).toBe(false);
      expect(counted({ method: 'GET', path: '/oauth2/authorize' })).toBe(false);
      const general = signInRules.find((r) => r.Name === 'PerIpRateLimit') as {
        Statement: { RateBasedStatement: { Limit: number } };
      };
      expect(general.Statement.RateBasedStatement.Limit).toBeGreaterThanOrEqual(
        rule.Statement.RateBasedStatement.Limit,
      );
    });

    test('logs to an aws-waf-logs- group kept on delete, with the authorization header redacted', () => {
      e.stateless.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
        ResourceArn: {
          'Fn::GetAtt': [logicalIdOf(e.stateless, 'AWS::WAFv2::WebACL', { Scope: 'REGIONAL' }), 'Arn'],
        },
        RedactedFields: [{ SingleHeader: { Name: 'authorization' } }],
      });
      e.stateless.hasResource('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: Match.stringLikeRegexp('^aws-waf-logs-.*SignInFirewall$') },
        DeletionPolicy: 'Retain',
      });
    });
  });

  describe('HTTP API', () => {
    test('serves GET /health without authorization', () => {
      e.stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'GET /health',
        AuthorizationType: 'NONE',
      });
    });

    test('requires a Cognito JWT (issuer = the user pool, audience = the app client) on every other route', () => {
      e.stateless.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
      const authorizerId = logicalIdOf(e.stateless, 'AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: {
          Issuer: {
            'Fn::Join': [
              '',
              [
                `https://cognito-idp.${config.region}.`,
                { Ref: 'AWS::URLSuffix' },
                '/',
                e.stage.stateless.resolve(e.target.userPool.userPoolId),
              ],
            ],
          },
          Audience: [e.stage.stateless.resolve(e.target.userPoolClient.userPoolClientId)],
        },
      });
      e.stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'ANY /{proxy+}',
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
      });
    });

    test('integrates the live alias with payload format 2.0', () => {
      e.stateless.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: e.stage.stateless.resolve(e.target.handler.functionArn),
      });
    });

    test('throttles the default stage as configured', () => {
      e.stateless.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: config.edge.throttleRatePerSecond,
          ThrottlingBurstLimit: config.edge.throttleBurst,
        },
      });
    });

    test('writes JSON access logs with request id, ip, route, status, latency and errors', () => {
      const stage = only(e.stateless, 'AWS::ApiGatewayV2::Stage').Properties as {
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string };
      };
      const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.routeKey',
        status: '$context.status',
        responseLatency: '$context.responseLatency',
        integrationLatency: '$context.integrationLatency',
        integrationError: '$context.integrationErrorMessage',
      });
      const logGroupId = stage.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
      expect(e.stateless.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(
        config.edge.logRetentionDays,
      );
    });
  });

  describe('distribution', () => {
    let dc: Record<string, unknown> & {
      Origins: Array<Record<string, unknown>>;
      DefaultCacheBehavior: Record<string, unknown>;
      CacheBehaviors: Array<Record<string, unknown>>;
    };
    beforeAll(() => {
      dc = (
        only(e.stateless, 'AWS::CloudFront::Distribution').Properties as { DistributionConfig: typeof dc }
      ).DistributionConfig;
    });

    test('sends the API behaviour to the execute-api origin over TLS 1.2, uncached, with all viewer headers but Host', () => {
      expect(dc.DefaultCacheBehavior).toMatchObject({
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        ViewerProtocolPolicy: 'https-only',
      });
      const apiOrigin = dc.Origins.find((o) => o.Id === dc.DefaultCacheBehavior.TargetOriginId);
      expect(apiOrigin).toMatchObject({
        DomainName: {
          'Fn::Join': [
            '',
            [
              { Ref: expect.stringMatching(/^EdgeApi/) },
              `.execute-api.${config.region}.`,
              { Ref: 'AWS::URLSuffix' },
            ],
          ],
        },
        CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
      });
    });

    test('serves /assets/* from the private bucket through origin access control, long-cached', () => {
      expect(dc.CacheBehaviors).toHaveLength(1);
      const assets = dc.CacheBehaviors[0];
      expect(assets).toMatchObject({
        PathPattern: '/assets/*',
        CachePolicyId: CACHING_OPTIMIZED,
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS'],
        ViewerProtocolPolicy: 'redirect-to-https',
      });
      const s3Origin = dc.Origins.find((o) => o.Id === assets.TargetOriginId);
      expect(s3Origin).toMatchObject({
        OriginAccessControlId: { 'Fn::GetAtt': [expect.any(String), 'Id'] },
        S3OriginConfig: { OriginAccessIdentity: '' },
      });
      e.stateless.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: {
          OriginAccessControlOriginType: 's3',
          SigningBehavior: 'always',
          SigningProtocol: 'sigv4',
        },
      });
      e.stateless.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudfront.amazonaws.com' },
              Action: 's3:GetObject',
              Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      });
    });

    test('speaks HTTP/2 and HTTP/3 over IPv4 and IPv6 in the configured price class', () => {
      expect(dc).toMatchObject({ HttpVersion: 'http2and3', IPV6Enabled: true, PriceClass: 'PriceClass_100' });
    });

    test('writes standard logs to the log bucket, which has the ACLs CloudFront logging needs', () => {
      const logBucketId = logicalIdOf(e.stateless, 'AWS::S3::Bucket', {
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      });
      expect(dc.Logging).toEqual({
        Bucket: { 'Fn::GetAtt': [logBucketId, 'RegionalDomainName'] },
        Prefix: 'cloudfront/',
      });
      e.stateless.hasResourceProperties('AWS::S3::Bucket', {
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ ExpirationInDays: config.edge.logRetentionDays, Status: 'Enabled' }),
          ]),
        },
      });
    });

    test('uses the default certificate (no custom domain configured)', () => {
      expect(config.domain).toBeUndefined();
      expect(dc).not.toHaveProperty('Aliases');
      expect(dc).not.toHaveProperty('ViewerCertificate');
    });

    test('adds HSTS (subdomains, preload), CSP, frame DENY, nosniff and a referrer policy to both behaviours', () => {
      const policies = e.stateless.findResources('AWS::CloudFront::ResponseHeadersPolicy');
      expect(Object.keys(policies)).toHaveLength(2);
      for (const behaviour of [dc.DefaultCacheBehavior, ...dc.CacheBehaviors]) {
        const id = (behaviour.ResponseHeadersPolicyId as { Ref: string }).Ref;
        expect(policies[id].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig).toMatchObject({
          StrictTransportSecurity: {
            AccessControlMaxAgeSec: 63_072_000,
            IncludeSubdomains: true,
            Preload: true,
            Override: true,
          },
          ContentSecurityPolicy: {
            ContentSecurityPolicy: expect.stringContaining("frame-ancestors 'none'"),
            Override: true,
          },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ContentTypeOptions: { Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
        });
      }
      const assetsPolicy = policies[(dc.CacheBehaviors[0].ResponseHeadersPolicyId as { Ref: string }).Ref];
      expect(
        assetsPolicy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy
          .ContentSecurityPolicy,
      ).toMatch(/^default-src 'self'/);
    });
  });

  describe('buckets', () => {
    test('the assets bucket is private, encrypted, versioned, TLS-only and access-logged', () => {
      e.stateless.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'assets-access/' },
      });
      const tlsOnly = e.stateless.findResources('AWS::S3::BucketPolicy', {
        Properties: {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
      });
      expect(Object.keys(tlsOnly)).toHaveLength(2);
    });

    test('buckets, log groups and the secret keep their logical ids and survive stack deletion', () => {
      const retained = {
        EdgeAssetsBucket3499E185: 'AWS::S3::Bucket',
        EdgeLogBucket8566D7EF: 'AWS::S3::Bucket',
        EdgeAccessLogsC159D9EF: 'AWS::Logs::LogGroup',
        EdgeOriginVerifySecret50D05EDD: 'AWS::SecretsManager::Secret',
      };
      const resources = e.stateless.toJSON().Resources as Record<string, Resource>;
      for (const [id, type] of Object.entries(retained)) {
        expect({ id, type: resources[id]?.Type, deletion: resources[id]?.DeletionPolicy }).toEqual({
          id,
          type,
          deletion: 'Retain',
        });
      }
      const firewallResources = e.firewall.toJSON().Resources as Record<string, Resource>;
      expect(firewallResources.WebAclLogs68403EB9).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        DeletionPolicy: 'Retain',
      });
    });
  });

  describe('origin protection', () => {
    test('CloudFront adds the origin-verify header from a Secrets Manager dynamic reference', () => {
      const dc = (
        only(e.stateless, 'AWS::CloudFront::Distribution').Properties as {
          DistributionConfig: { Origins: Array<{ OriginCustomHeaders?: unknown }> };
        }
      ).DistributionConfig;
      const withHeaders = dc.Origins.filter((o) => o.OriginCustomHeaders);
      expect(withHeaders).toHaveLength(1);
      expect(withHeaders[0].OriginCustomHeaders).toEqual([
        {
          HeaderName: ORIGIN_VERIFY_HEADER,
          HeaderValue: {
            'Fn::Join': [
              '',
              ['{{resolve:secretsmanager:', { Ref: 'EdgeOriginVerifySecret50D05EDD' }, ':SecretString:::}}'],
            ],
          },
        },
      ]);
    });

    test('the secret value is generated by Secrets Manager and appears in no template', () => {
      e.stateless.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
        SecretString: Match.absent(),
      });
      for (const template of [e.stateless, e.firewall]) {
        const text = JSON.stringify(template.toJSON());
        // Every mention of a secret string is a dynamic reference resolved by CloudFormation.
        const mentions = text.match(/SecretString[^"]*/g) ?? [];
        for (const m of mentions) expect(['SecretString:::}}', 'SecretString']).toContain(m);
        expect(text).not.toMatch(/"HeaderValue":"[A-Za-z0-9]{32,}"/);
      }
    });

    test('the secret rotates every 30 days through the rotation function', () => {
      const fnId = logicalIdOf(e.stateless, 'AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ ORIGIN_VERIFY_HEADER }) },
      });
      e.stateless.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: { Ref: 'EdgeOriginVerifySecret50D05EDD' },
        RotationLambdaARN: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    });

    test('the rotation function is arm64 Node.js 24, holds no secret in its environment, and may only touch this distribution', () => {
      const fn = only(e.stateless, 'AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ ORIGIN_VERIFY_HEADER }) },
      }).Properties as {
        Runtime: string;
        Architectures: string[];
        Environment: { Variables: Record<string, unknown> };
      };
      expect(fn.Runtime).toBe('nodejs24.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(Object.keys(fn.Environment.Variables).sort()).toEqual(
        ['DISTRIBUTION_ID', 'ORIGIN_VERIFY_HEADER', 'POWERTOOLS_SERVICE_NAME'].sort(),
      );
      expect(fn.Environment.Variables.DISTRIBUTION_ID).toEqual({
        Ref: expect.stringMatching(/^EdgeDistribution/),
      });
      e.stateless.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Action: ['cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
              Resource: {
                'Fn::Join': ['', Match.arrayWith([{ Ref: Match.stringLikeRegexp('^EdgeDistribution') }])],
              },
            },
          ]),
        },
      });
    });
  });

  test('outputs the API URL, distribution id and domain, and the assets bucket', () => {
    const outputs = e.stateless.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'DistributionId', 'DistributionDomainName', 'AssetsBucketName']),
    );
    expect(outputs.ApiUrl.Value).toEqual({
      'Fn::Join': [
        '',
        ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^EdgeDistribution/), 'DomainName'] }],
      ],
    });
  });
});
