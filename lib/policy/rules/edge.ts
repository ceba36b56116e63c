/**
 * Edge and auth: HTTPS only with a modern TLS policy, a WAF with a rate limit on every public
 * entry point that can take one, and no route without authorisation that nobody declared public.
 * Checklist seeds: "inputs validated server-side", "auth tested".
 */
import {
  declared,
  fail,
  NA,
  OK,
  PUBLIC_ROUTE_MARKER,
  type ReadinessRule,
  type TemplateContext,
  verdict,
} from '../rule';
import {
  isObject,
  list,
  literalStrings,
  prop,
  referencedLogicalId,
  references,
  type TemplateResource,
} from '../template';

const SEED_EDGE = 'Inputs validated server-side';

function internalLoadBalancer(lbId: string | undefined, context: TemplateContext): boolean {
  const lb = lbId ? context.resources.get(lbId) : undefined;
  return (
    lb?.properties.Scheme === 'internal' ||
    (lb !== undefined && lb.properties.Type !== undefined && lb.properties.Type !== 'application')
  );
}

const httpsOnly: ReadinessRule = {
  id: 'HttpsOnly',
  group: 'edge-and-auth',
  severity: 'blocker',
  seed: SEED_EDGE,
  title: 'Public entry points serve HTTPS only (HTTP redirects to HTTPS)',
  why: 'Plain HTTP exposes session tokens and personal data to anyone on the path, and lets them change responses.',
  fix:
    'CloudFront: `viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS` (or `HTTPS_ONLY`) on ' +
    'every behavior. ALB: serve on an HTTPS listener and make port 80 a redirect, `lb.addRedirect()` (or ' +
    '`ApplicationLoadBalancedFargateService` with `redirectHTTP: true`).',
  equivalents: ['NIST.800.53.R5-ALBHttpToHttpsRedirection', 'NIST.800.53.R5-ELBTlsHttpsListenersOnly'],
  fixByType: {
    'AWS::CloudFront::Distribution':
      '`viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS` on the default behavior and every `additionalBehaviors` entry.',
    'AWS::ElasticLoadBalancingV2::Listener':
      'Serve on an HTTPS listener (`protocol: elbv2.ApplicationProtocol.HTTPS`, `certificates`) and make port 80 a redirect: `lb.addRedirect()` (or `redirectHTTP: true` on `ecs_patterns.ApplicationLoadBalancedFargateService`).',
  },
  resourceTypes: ['AWS::CloudFront::Distribution', 'AWS::ElasticLoadBalancingV2::Listener'],
  check(resource, context) {
    const p = resource.properties;
    if (resource.type === 'AWS::CloudFront::Distribution') {
      const config = p.DistributionConfig;
      const behaviors = [prop(config, 'DefaultCacheBehavior'), ...list(prop(config, 'CacheBehaviors'))];
      const open = behaviors.filter((b) => isObject(b) && b.ViewerProtocolPolicy === 'allow-all');
      return verdict(
        open.map(
          (b) =>
            `behavior ${prop(b, 'PathPattern') ?? '(default)'} allows plain HTTP (ViewerProtocolPolicy allow-all)`,
        ),
      );
    }
    if (resource.type !== 'AWS::ElasticLoadBalancingV2::Listener' || p.Protocol !== 'HTTP') return NA;
    if (internalLoadBalancer(referencedLogicalId(p.LoadBalancerArn), context)) return NA;
    const actions = list(p.DefaultActions);
    const redirects =
      actions.length > 0 &&
      actions.every(
        (a) => isObject(a) && a.Type === 'redirect' && prop(a, 'RedirectConfig', 'Protocol') === 'HTTPS',
      );
    return redirects
      ? OK
      : fail(`listener on port ${String(p.Port ?? 80)} serves plain HTTP instead of redirecting to HTTPS`);
  },
};

/**
 * ALB policies that accept no protocol below TLS 1.2.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
const MODERN_ALB_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;
/**
 * CloudFront security policies with TLS 1.2 as the minimum.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
 */
const MODERN_CLOUDFRONT_POLICY = /^TLSv1\.[23]_/;

const modernTls: ReadinessRule = {
  id: 'ModernTls',
  group: 'edge-and-auth',
  severity: 'hardening',
  seed: SEED_EDGE,
  title: 'HTTPS entry points accept TLS 1.2 or newer only',
  why: 'TLS 1.0 and 1.1 are deprecated (RFC 8996) and fail PCI DSS; a policy that still offers them invites downgrades.',
  fix:
    'ALB: `sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS` (ELBSecurityPolicy-TLS13-1-2-2021-06) on HTTPS listeners. ' +
    'CloudFront with your certificate: `minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021`. ' +
    'API Gateway custom domains: `securityPolicy: apigateway.SecurityPolicy.TLS_1_2`.',
  equivalents: ['AwsSolutions-CFR4', 'cdk-validator-cfnguard::cloudfront_security_policy_check'],
  fixByType: {
    'AWS::CloudFront::Distribution':
      '`minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021` on the `cloudfront.Distribution`.',
    'AWS::ElasticLoadBalancingV2::Listener':
      '`sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS` (ELBSecurityPolicy-TLS13-1-2-2021-06) on the listener.',
    'AWS::ApiGateway::DomainName':
      '`securityPolicy: apigateway.SecurityPolicy.TLS_1_2` on the `apigateway.DomainName`.',
    'AWS::ApiGatewayV2::DomainName':
      '`securityPolicy: apigwv2.SecurityPolicy.TLS_1_2` on the `apigwv2.DomainName`.',
  },
  resourceTypes: [
    'AWS::CloudFront::Distribution',
    'AWS::ElasticLoadBalancingV2::Listener',
    'AWS::ApiGateway::DomainName',
    'AWS::ApiGatewayV2::DomainName',
  ],
  check(resource) {
    const p = resource.properties;
    switch (resource.type) {
      case 'AWS::CloudFront::Distribution': {
        const cert = prop(p, 'DistributionConfig', 'ViewerCertificate');
        // With the default *.cloudfront.net certificate CloudFront fixes the policy at TLSv1 and
        // ignores MinimumProtocolVersion, so there is nothing to set:
        // https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ViewerCertificate.html
        if (!isObject(cert) || (cert.AcmCertificateArn === undefined && cert.IamCertificateId === undefined))
          return NA;
        const version = cert.MinimumProtocolVersion;
        return typeof version === 'string' && MODERN_CLOUDFRONT_POLICY.test(version)
          ? OK
          : fail(
              `MinimumProtocolVersion is ${typeof version === 'string' ? version : 'not set'}; TLSv1.2_2021 or newer is required`,
            );
      }
      case 'AWS::ElasticLoadBalancingV2::Listener': {
        if (p.Protocol !== 'HTTPS' && p.Protocol !== 'TLS') return NA;
        // The docs do not name the policy CloudFormation applies when SslPolicy is absent: an
        // explicit modern policy is required (safe reading).
        const policy = p.SslPolicy;
        return typeof policy === 'string' && MODERN_ALB_POLICY.test(policy)
          ? OK
          : fail(
              `SslPolicy is ${typeof policy === 'string' ? policy : 'not set'}; a TLS 1.2+ policy is required`,
            );
      }
      case 'AWS::ApiGateway::DomainName':
        return p.SecurityPolicy === 'TLS_1_2' ||
          (typeof p.SecurityPolicy === 'string' && /TLS13|TLS_1_3/.test(p.SecurityPolicy))
          ? OK
          : fail(
              `SecurityPolicy is ${typeof p.SecurityPolicy === 'string' ? p.SecurityPolicy : 'not set'}; TLS_1_2 is required`,
            );
      default: {
        const weak = list(p.DomainNameConfigurations).filter((c) => prop(c, 'SecurityPolicy') !== 'TLS_1_2');
        return weak.length === 0
          ? OK
          : fail('a domain name configuration does not set SecurityPolicy TLS_1_2');
      }
    }
  },
};

export function hasRateBasedRule(acl: TemplateResource): boolean {
  return list(acl.properties.Rules).some(
    (r) => isObject(r) && JSON.stringify(r.Statement ?? {}).includes('"RateBasedStatement"'),
  );
}

const cloudFrontWaf: ReadinessRule = {
  id: 'CloudFrontWAF',
  group: 'edge-and-auth',
  severity: 'hardening',
  seed: SEED_EDGE,
  title: 'CloudFront distributions are protected by a WAF web ACL with a rate-based rule',
  why:
    'The CDN is the public front door. Without a web ACL nothing filters common exploits; without a rate-based ' +
    'rule one client can exhaust the origin (and the bill).',
  fix:
    'A `wafv2.CfnWebACL` with `scope: "CLOUDFRONT"` (in us-east-1) and a `rateBasedStatement` rule, attached with ' +
    '`webAclId: acl.attrArn` on the `cloudfront.Distribution`. An ACL in another stack or region (SSM, import) is ' +
    'checked by WAFRateBasedRule where it is defined.',
  equivalents: ['AwsSolutions-CFR2'],
  resourceTypes: ['AWS::CloudFront::Distribution'],
  check(resource, context) {
    if (resource.type !== 'AWS::CloudFront::Distribution') return NA;
    const aclId = prop(resource.properties, 'DistributionConfig', 'WebACLId');
    if (aclId === undefined || aclId === '' || aclId === null)
      return fail('the distribution has no WebACLId');
    const target = referencedLogicalId(aclId);
    const acl = target ? context.resources.get(target) : undefined;
    if (!acl || acl.type !== 'AWS::WAFv2::WebACL') return OK;
    return hasRateBasedRule(acl) ? OK : fail(`web ACL ${acl.logicalId} has no rate-based rule`);
  },
};

/**
 * Regional resources a web ACL can protect:
 * https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html. HTTP and
 * WebSocket APIs are not among them (no AWS WAF integration for HTTP APIs:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-vs-rest.html).
 */
const REGIONAL_WAF_TARGETS = [
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ApiGateway::Stage',
  'AWS::AppSync::GraphQLApi',
  'AWS::Cognito::UserPool',
];

const regionalWaf: ReadinessRule = {
  id: 'RegionalWAF',
  group: 'edge-and-auth',
  severity: 'hardening',
  seed: SEED_EDGE,
  title:
    'Public ALBs, REST API stages, AppSync APIs and Cognito user pools have a WAF web ACL with a rate-based rule',
  why:
    'Each of these answers the internet directly (a user pool takes sign-in attempts whatever fronts the API): ' +
    'without a web ACL nothing limits credential stuffing, scraping or floods.',
  fix:
    'A `wafv2.CfnWebACL` with `scope: "REGIONAL"` and a `rateBasedStatement` rule, associated with ' +
    '`new wafv2.CfnWebACLAssociation(this, id, { resourceArn, webAclArn: acl.attrArn })` where resourceArn is ' +
    '`alb.loadBalancerArn`, `api.deploymentStage.stageArn`, `graphqlApi.arn` or `userPool.userPoolArn`. HTTP and ' +
    'WebSocket APIs cannot take a web ACL: put CloudFront with a WAF in front of them.',
  equivalents: [
    'AwsSolutions-APIG3',
    'NIST.800.53.R5-APIGWAssociatedWithWAF',
    'NIST.800.53.R5-ALBWAFEnabled',
  ],
  fixByType: {
    'AWS::ElasticLoadBalancingV2::LoadBalancer':
      "A `wafv2.CfnWebACL` (`scope: 'REGIONAL'`, a `rateBasedStatement` rule) and `new wafv2.CfnWebACLAssociation(this, id, { resourceArn: alb.loadBalancerArn, webAclArn: acl.attrArn })`.",
    'AWS::ApiGateway::Stage':
      "A `wafv2.CfnWebACL` (`scope: 'REGIONAL'`, a `rateBasedStatement` rule) and `new wafv2.CfnWebACLAssociation(this, id, { resourceArn: api.deploymentStage.stageArn, webAclArn: acl.attrArn })`.",
    'AWS::AppSync::GraphQLApi':
      "A `wafv2.CfnWebACL` (`scope: 'REGIONAL'`, a `rateBasedStatement` rule) and `new wafv2.CfnWebACLAssociation(this, id, { resourceArn: graphqlApi.arn, webAclArn: acl.attrArn })`.",
    'AWS::Cognito::UserPool':
      "A `wafv2.CfnWebACL` (`scope: 'REGIONAL'`, a per-IP `rateBasedStatement` on sign-in) and `new wafv2.CfnWebACLAssociation(this, id, { resourceArn: userPool.userPoolArn, webAclArn: acl.attrArn })`. With Shipshape: `SignInFirewall`.",
  },
  resourceTypes: REGIONAL_WAF_TARGETS,
  check(resource, context) {
    if (!REGIONAL_WAF_TARGETS.includes(resource.type)) return NA;
    const p = resource.properties;
    if (
      resource.type === 'AWS::ElasticLoadBalancingV2::LoadBalancer' &&
      (p.Scheme === 'internal' || (p.Type !== undefined && p.Type !== 'application'))
    )
      return NA;
    const targets = [resource.logicalId];
    if (resource.type === 'AWS::ApiGateway::Stage') {
      const api = referencedLogicalId(p.RestApiId);
      if (
        api &&
        literalStrings(context.resources.get(api)?.properties.EndpointConfiguration).includes('PRIVATE')
      )
        return NA;
      if (api) targets.push(api);
    }
    const association = [...context.resources.values()].find(
      (r) =>
        r.type === 'AWS::WAFv2::WebACLAssociation' &&
        targets.some((t) => references(r.properties.ResourceArn, t)),
    );
    if (!association) return fail('no WAF web ACL is associated with it');
    const aclId = referencedLogicalId(association.properties.WebACLArn);
    const acl = aclId ? context.resources.get(aclId) : undefined;
    if (!acl || acl.type !== 'AWS::WAFv2::WebACL') return OK;
    return hasRateBasedRule(acl) ? OK : fail(`web ACL ${acl.logicalId} has no rate-based rule`);
  },
};

const wafRateBased: ReadinessRule = {
  id: 'WAFRateBasedRule',
  group: 'edge-and-auth',
  severity: 'hardening',
  seed: SEED_EDGE,
  title: 'WAF web ACLs have a rate-based rule',
  why: 'Managed rule groups block known exploits but not volume; only a rate-based rule stops one client flooding the origin.',
  fix:
    "`rules: [{ name: 'PerIp', priority: 0, action: { block: {} }, statement: { rateBasedStatement: { limit: 1000, " +
    "aggregateKeyType: 'IP' } }, visibilityConfig }]` on the `wafv2.CfnWebACL` (a limit per IP per 5 minutes, " +
    'tighter on sign-in and write paths).',
  resourceTypes: ['AWS::WAFv2::WebACL'],
  check(resource) {
    if (resource.type !== 'AWS::WAFv2::WebACL') return NA;
    return hasRateBasedRule(resource) ? OK : fail('no rule of the web ACL has a RateBasedStatement');
  },
};

/** GET/HEAD on a health-check path: public by convention, listed as declared. */
const HEALTH_CHECK = /^(GET|HEAD|ANY) \/(.*\/)?(health|healthz|healthcheck|ping|livez|readyz)$/i;

function routeIsHealthCheck(method: string, path: string): boolean {
  return HEALTH_CHECK.test(`${method} ${path}`);
}

function apiOf(resource: TemplateResource, context: TemplateContext): TemplateResource | undefined {
  const id = referencedLogicalId(resource.properties.ApiId ?? resource.properties.RestApiId);
  return id ? context.resources.get(id) : undefined;
}

const routeAuthorization: ReadinessRule = {
  id: 'RouteAuthorization',
  group: 'edge-and-auth',
  severity: 'blocker',
  seed: 'Auth tested',
  title:
    'Every API route and function URL requires authorisation, except routes declared public (health checks)',
  why:
    'A route without an authoriser answers anyone on the internet. Some are meant to (health checks, sign-in); ' +
    'each must be a decision someone wrote down, not a default nobody noticed.',
  fix:
    'HTTP API: `authorizer: new HttpJwtAuthorizer(...)` (or `defaultAuthorizer` on the `HttpApi`); WebSocket API: ' +
    'an authoriser on `$connect` (`connectRouteOptions: { authorizer }`); REST API: `defaultMethodOptions: { ' +
    'authorizer, authorizationType }`; function URL: `authType: lambda.FunctionUrlAuthType.AWS_IAM`. For a route ' +
    `public on purpose, declare it: \`(route.node.defaultChild as CfnResource).addMetadata('${PUBLIC_ROUTE_MARKER}', '<why>')\` ` +
    '(GET/HEAD /health, /healthz, /ping, /livez and /readyz count as declared).',
  equivalents: [
    'AwsSolutions-APIG4',
    'cdk-validator-cfnguard::api_gw_v2_authorization_type_configured_check',
  ],
  fixByType: {
    'AWS::ApiGatewayV2::Route':
      "`authorizer: new HttpJwtAuthorizer(...)` on the route (or `defaultAuthorizer` on the `HttpApi`); for a WebSocket API, `connectRouteOptions: { authorizer: new WebSocketLambdaAuthorizer(...) }`. Public on purpose: `(route.node.defaultChild as CfnResource).addMetadata('shipshape:public-route', '<why>')`.",
    'AWS::ApiGateway::Method':
      "`defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.COGNITO }` (or `IAM`) on the `apigateway.RestApi`, or `authorizer` on the method. Public on purpose: `(method.node.defaultChild as CfnResource).addMetadata('shipshape:public-route', '<why>')`.",
    'AWS::Lambda::Url':
      '`authType: lambda.FunctionUrlAuthType.AWS_IAM` in `addFunctionUrl()` (put CloudFront with origin access control in front for browsers).',
  },
  resourceTypes: ['AWS::ApiGatewayV2::Route', 'AWS::ApiGateway::Method', 'AWS::Lambda::Url'],
  check(resource, context) {
    const p = resource.properties;
    const declaredPublic = declared(resource, PUBLIC_ROUTE_MARKER);
    if (resource.type === 'AWS::Lambda::Url') {
      if (p.AuthType !== 'NONE' || declaredPublic) return OK;
      return fail('the function URL has AuthType NONE: anyone can invoke it');
    }
    if (resource.type === 'AWS::ApiGatewayV2::Route') {
      const routeKey = typeof p.RouteKey === 'string' ? p.RouteKey : '';
      if (apiOf(resource, context)?.properties.ProtocolType === 'WEBSOCKET') {
        // Only $connect takes an authoriser; later messages ride on the authorised connection.
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-control-access.html
        if (routeKey !== '$connect') return NA;
      }
      const type = p.AuthorizationType;
      if (type !== undefined && type !== 'NONE') return OK;
      const [method, path] = routeKey.includes(' ') ? routeKey.split(' ', 2) : [routeKey, ''];
      if (declaredPublic || routeIsHealthCheck(method, path)) return OK;
      return fail(`route ${routeKey || '(unnamed)'} has no authorisation`);
    }
    if (resource.type !== 'AWS::ApiGateway::Method') return NA;
    const method = typeof p.HttpMethod === 'string' ? p.HttpMethod : '';
    if (method === 'OPTIONS') return NA; // CORS preflight carries no credentials by design
    const type = p.AuthorizationType;
    if (type !== undefined && type !== 'NONE') return OK;
    const path = resourcePath(resource, context);
    if (declaredPublic || routeIsHealthCheck(method, path)) return OK;
    return fail(`method ${method} ${path} has no authorisation (AuthorizationType NONE)`);
  },
};

/** `/a/b` for a REST API method, from the chain of AWS::ApiGateway::Resource path parts. */
function resourcePath(method: TemplateResource, context: TemplateContext): string {
  const parts: string[] = [];
  let id = referencedLogicalId(method.properties.ResourceId);
  for (let depth = 0; id && depth < 32; depth++) {
    const node = context.resources.get(id);
    if (!node || node.type !== 'AWS::ApiGateway::Resource') break;
    parts.unshift(typeof node.properties.PathPart === 'string' ? node.properties.PathPart : '{?}');
    id = referencedLogicalId(node.properties.ParentId);
  }
  return `/${parts.join('/')}`;
}

/** The edge and auth rules, in report order. */
export const EDGE_RULES: readonly ReadinessRule[] = [
  httpsOnly,
  routeAuthorization,
  cloudFrontWaf,
  regionalWaf,
  wafRateBased,
  modernTls,
];
