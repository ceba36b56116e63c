// Policy acknowledgements of Service (cdk-nag AwsSolutions, NIST 800-53 R5, Serverless and the
// Control Tower guard rules): each finding is acknowledged on the resource it concerns.
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import {
  acknowledgeFunctionBaseline,
  acknowledgeGrantPolicies,
  acknowledgeSynchronousInvocation,
} from '../shared/function-acknowledgements';
import type { Service } from './service';

/** Acknowledges every finding the service's own resources raise. */
export function acknowledgeServiceFindings(service: Service): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  acknowledgeFunctionBaseline(service.function, { inVpc: true, importedSubnets: true });
  acknowledgeGrantPolicies(service);
  const logs =
    'Request logs (request id, route, status, latency, caller id; never tokens or note bodies), encrypted at rest by CloudWatch Logs with service keys; retention from config so personal data is not kept longer than it is useful.';
  ack(service.logGroup, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
  ack(service.logGroup, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
  ack(service.logGroup, guardRuleId('cloudwatch_log_group_retention_period_check'), logs);
  ack(
    service.function,
    'NIST.800.53.R5-LambdaConcurrency',
    'Scales with traffic behind the per-IP WAF rate limit and the per-caller rate limit; the RDS Proxy pools the connections. A reservation would take capacity from the account pool (new accounts have 10) and turn bursts into 429s.',
  );
  const sync =
    'Invoked synchronously by API Gateway (and by CodeDeploy hooks); the caller receives the error. A DLQ applies only to asynchronous invocations.';
  acknowledgeSynchronousInvocation(service.function, sync);
}
