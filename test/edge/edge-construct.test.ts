import { App, Duration, Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Edge, type EdgeProps } from '../../lib/edge/edge';
import { EdgeFirewall } from '../../lib/edge/edge-firewall';
import { SignInFirewall } from '../../lib/edge/sign-in-firewall';
import { newTestApp, SKIP_BUNDLING } from '../helpers/synth';

const ACCOUNT = '123456789012';
const CERTIFICATE_ARN = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;

function newStage(): Stage {
  return new Stage(new App({ context: SKIP_BUNDLING, builtinCloudFormationValidation: false }), 'Test');
}

function serviceStack(stage: Stage, region = 'eu-central-1'): Stack {
  return new Stack(stage, 'Service', { env: { account: ACCOUNT, region }, crossRegionReferences: true });
}

function target(stack: Stack): Pick<EdgeProps, 'handler' | 'userPool' | 'userPoolClient'> {
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });
  const userPool = new cognito.UserPool(stack, 'Pool');
  return { handler: fn, userPool, userPoolClient: userPool.addClient('Client') };
}

describe('Edge construct', () => {
  describe('with a custom domain, in eu-central-1', () => {
    let template: Template;
    let edge: Edge;
    beforeAll(() => {
      const stack = serviceStack(newStage());
      edge = new Edge(stack, 'Edge', {
        ...target(stack),
        domain: {
          domainName: 'api.example.com',
          certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', CERTIFICATE_ARN),
        },
        originVerifyRotation: Duration.days(7),
        assetsPathPattern: '/static/*',
      });
      template = Template.fromStack(stack);
    });

    test('serves the domain with the certificate and requires TLS 1.2 (2021 policy) from viewers', () => {
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          Aliases: ['api.example.com'],
          ViewerCertificate: {
            AcmCertificateArn: CERTIFICATE_ARN,
            MinimumProtocolVersion: 'TLSv1.2_2021',
            SslSupportMethod: 'sni-only',
          },
        }),
      });
      expect(edge.url).toBe('https://api.example.com');
    });

    test('rotates the secret on the schedule given', () => {
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: 'rate(7 days)' },
      });
    });

    test('serves assets under the path pattern given', () => {
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          CacheBehaviors: [Match.objectLike({ PathPattern: '/static/*' })],
        }),
      });
    });

    test('puts the web ACL into a us-east-1 sibling stack in the same stage and account', () => {
      expect(edge.firewallStack).not.toBe(Stack.of(edge));
      expect(edge.firewallStack.region).toBe('us-east-1');
      expect(edge.firewallStack.account).toBe(ACCOUNT);
      expect(edge.firewallStack.node.scope).toBe(Stage.of(edge));
      Template.fromStack(edge.firewallStack).hasResourceProperties('AWS::WAFv2::WebACL', {
        Scope: 'CLOUDFRONT',
      });
    });
  });

  test('keeps the web ACL in its own stack when that stack is already in us-east-1', () => {
    const stage = newStage();
    const stack = serviceStack(stage, 'us-east-1');
    const edge = new Edge(stack, 'Edge', target(stack));
    expect(edge.firewallStack).toBe(stack);
    expect(stage.node.children.filter((c) => c instanceof Stack)).toHaveLength(1);
    const template = Template.fromStack(stack);
    // The CloudFront ACL, plus the regional one on the user pool.
    expect(
      Object.keys(template.findResources('AWS::WAFv2::WebACL', { Properties: { Scope: 'CLOUDFRONT' } })),
    ).toHaveLength(1);
    template.resourceCountIs('AWS::WAFv2::WebACL', 2);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EdgeFirewall'), 'Arn'] },
      }),
    });
  });

  test('grantOriginVerify lets the API function read the origin-verify secret', () => {
    const stack = serviceStack(newStage());
    const t = target(stack);
    const edge = new Edge(stack, 'Edge', t);
    edge.grantOriginVerify(t.handler);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^FnServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: Match.stringLikeRegexp('^EdgeOriginVerifySecret') },
          }),
        ]),
      },
    });
  });

  test('blocked-requests metric points at the web ACL in us-east-1', () => {
    const stack = serviceStack(newStage());
    const edge = new Edge(stack, 'Edge', target(stack));
    const metric = edge.metricBlockedRequests();
    expect(metric.namespace).toBe('AWS/WAFV2');
    expect(metric.region).toBe('us-east-1');
    expect(metric.dimensions).toEqual({ WebACL: edge.firewall.webAclName, Rule: 'ALL' });
    Template.fromStack(edge.firewallStack).hasResourceProperties('AWS::WAFv2::WebACL', {
      Name: edge.firewall.webAclName,
      VisibilityConfig: Match.objectLike({ MetricName: edge.firewall.webAclName }),
    });
  });

  describe('fails when', () => {
    function build(props: Partial<EdgeProps>, region = 'eu-central-1'): () => Edge {
      const stack = serviceStack(newStage(), region);
      const t = target(stack);
      return () => new Edge(stack, 'Edge', { ...t, ...props });
    }

    test('the stack has no explicit region', () => {
      const stack = new Stack(newStage(), 'Agnostic');
      const t = target(stack);
      expect(() => new Edge(stack, 'Edge', t)).toThrow(
        "Edge 'Test/Agnostic/Edge': the stack must have an explicit account and region (env)",
      );
    });

    test('the stack outside us-east-1 does not allow cross-region references', () => {
      const stack = new Stack(newStage(), 'NoCrossRegion', {
        env: { account: ACCOUNT, region: 'eu-west-1' },
      });
      const t = target(stack);
      expect(() => new Edge(stack, 'Edge', t)).toThrow(
        "Edge 'Test/NoCrossRegion/Edge': stack 'Test/NoCrossRegion' is in eu-west-1, so the distribution references the web ACL in us-east-1 across regions; create the stack with crossRegionReferences: true",
      );
    });

    test('the certificate is not in us-east-1', () => {
      const stack = serviceStack(newStage());
      const t = target(stack);
      const arn = `arn:aws:acm:eu-central-1:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;
      expect(
        () =>
          new Edge(stack, 'Edge', {
            ...t,
            domain: {
              domainName: 'api.example.com',
              certificate: acm.Certificate.fromCertificateArn(stack, 'C', arn),
            },
          }),
      ).toThrow(`CloudFront only reads ACM certificates in us-east-1, got one in 'eu-central-1' (${arn})`);
    });

    test('the domain name is not a lower-case DNS name', () => {
      const stack = serviceStack(newStage());
      const t = target(stack);
      expect(
        () =>
          new Edge(stack, 'Edge', {
            ...t,
            domain: {
              domainName: 'API.Example.com',
              certificate: acm.Certificate.fromCertificateArn(stack, 'C', CERTIFICATE_ARN),
            },
          }),
      ).toThrow(
        "domain.domainName must be a lower-case DNS name such as api.example.com, got 'API.Example.com'",
      );
    });

    test('the throttle rate is not a positive integer', () => {
      expect(build({ throttleRatePerSecond: 0 })).toThrow(
        "Edge 'Test/Service/Edge': throttleRatePerSecond must be an integer between 1 and 10000, got 0",
      );
      expect(build({ throttleBurst: 2.5 })).toThrow(
        'throttleBurst must be an integer between 1 and 5000, got 2.5',
      );
    });

    test('the rotation interval is outside 1 to 365 days', () => {
      expect(build({ originVerifyRotation: Duration.days(400) })).toThrow(
        'originVerifyRotation must be between 1 and 365 days, got 400 days',
      );
    });

    test('the write rate limit is looser than the all-traffic one', () => {
      expect(build({ perIpRequestsPer5Min: 1000, perIpWriteRequestsPer5Min: 2000 })).toThrow(
        "EdgeFirewall 'Test/ServiceEdgeWaf/WebAcl': perIpWriteRequestsPer5Min (2000) must not exceed perIpRequestsPer5Min (1000)",
      );
    });

    test('a rate limit is below what WAF accepts', () => {
      expect(build({ perIpRequestsPer5Min: 5 })).toThrow(
        'perIpRequestsPer5Min must be an integer between 10 and 2000000000 (WAF rate-based rule limits), got 5',
      );
    });

    test('a write path prefix is not a plain lower-case path', () => {
      expect(build({ writePathPrefixes: ['/Notes'] })).toThrow(
        "writePathPrefixes entry '/Notes' must start with '/' and be lower case without wildcards, query or fragment",
      );
      expect(build({ writePathPrefixes: ['notes*'] })).toThrow("writePathPrefixes entry 'notes*'");
      expect(build({ writePathPrefixes: [] })).toThrow('writePathPrefixes is empty');
    });

    test('the sign-in limit is looser than what WAF accepts', () => {
      expect(build({ perIpSignInRequestsPer5Min: 3 })).toThrow(
        "SignInFirewall 'Test/Service/Edge/SignInFirewall': perIpSignInRequestsPer5Min must be an integer between 10 and 2000000000 (WAF rate-based rule limits), got 3",
      );
    });

    test('the firewall is created outside us-east-1', () => {
      const stack = serviceStack(newStage(), 'eu-west-1');
      expect(() => new EdgeFirewall(stack, 'Firewall')).toThrow(
        "EdgeFirewall 'Test/Service/Firewall': a CloudFront web ACL must be created in us-east-1, but this stack is in eu-west-1",
      );
    });
  });
});

describe('SignInFirewall on its own', () => {
  test('protects any user pool with a regional web ACL, in the pool stack region', () => {
    const stack = new Stack(newTestApp(), 'Identity', {
      env: { account: '111111111111', region: 'eu-west-1' },
    });
    const pool = new cognito.UserPool(stack, 'Pool');
    const firewall = new SignInFirewall(stack, 'SignInWaf', {
      userPool: pool,
      perIpSignInRequestsPer5Min: 50,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'REGIONAL', Name: 'Identity-SignInWaf' });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Pool'), 'Arn'] },
    });
    const rules = Object.values(template.findResources('AWS::WAFv2::WebACL'))[0].Properties.Rules as Array<{
      Name: string;
      Statement: { RateBasedStatement?: { Limit: number } };
    }>;
    expect(rules.find((r) => r.Name === 'PerIpSignInRateLimit')?.Statement.RateBasedStatement?.Limit).toBe(
      50,
    );
    expect(stack.resolve(firewall.metricBlockedRequests().dimensions)).toEqual({
      WebACL: 'Identity-SignInWaf',
      Region: 'eu-west-1',
      Rule: 'ALL',
    });
  });

  test('fails when the sign-in limit is looser than the general one', () => {
    const stack = new Stack(newTestApp(), 'Identity', {
      env: { account: '111111111111', region: 'eu-west-1' },
    });
    const pool = new cognito.UserPool(stack, 'Pool');
    expect(
      () =>
        new SignInFirewall(stack, 'SignInWaf', {
          userPool: pool,
          perIpSignInRequestsPer5Min: 500,
          perIpRequestsPer5Min: 400,
        }),
    ).toThrow(
      "SignInFirewall 'Identity/SignInWaf': perIpSignInRequestsPer5Min (500) must not exceed perIpRequestsPer5Min (400); the sign-in limit is the stricter one",
    );
  });
});
