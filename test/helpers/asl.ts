import type { Template } from 'aws-cdk-lib/assertions';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Turns CloudFormation intrinsics into plain strings so a synthesized `DefinitionString` can be
 * parsed: `Fn::GetAtt [X, Arn]` becomes a Lambda-style ARN ending in `X`, `Ref X` becomes `X`,
 * `Fn::Join` is joined.
 */
function resolve(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(resolve).join(sep);
    }
    if ('Fn::GetAtt' in value) {
      const [logicalId] = value['Fn::GetAtt'] as [string, string];
      return `arn:aws:lambda:eu-west-1:111111111111:function:${logicalId}`;
    }
    if ('Ref' in value) {
      const ref = value.Ref as string;
      return ref === 'AWS::Partition'
        ? 'aws'
        : ref === 'AWS::Region'
          ? 'eu-west-1'
          : ref === 'AWS::AccountId'
            ? '111111111111'
            : `arn:aws:sns:eu-west-1:111111111111:${ref}`;
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in a state machine definition`);
}

/**
 * The ASL definition of the one `AWS::StepFunctions::StateMachine` in a template whose logical id
 * matches `logicalId` (any, by default), as JSON.
 */
export function stateMachineDefinition(template: Template, logicalId: RegExp = /./): Record<string, unknown> {
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))
    .filter(([id]) => logicalId.test(id))
    .map(([, machine]) => machine);
  if (machines.length !== 1)
    throw new Error(`expected one state machine matching ${logicalId}, found ${machines.length}`);
  const definition = (machines[0].Properties as { DefinitionString: Json }).DefinitionString;
  return JSON.parse(resolve(definition)) as Record<string, unknown>;
}
