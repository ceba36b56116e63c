import type { Template } from 'aws-cdk-lib/assertions';

/**
 * The value (as JSON text) of every `Resource` dimension of every alarm in `template`, from
 * plain metric alarms and metric-math alarms alike.
 */
export function alarmResourceDimensions(template: Template): string[] {
  const found: string[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.Name === 'Resource' && 'Value' in record) found.push(JSON.stringify(record.Value));
    Object.values(record).forEach(collect);
  };
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')))
    collect(alarm.Properties);
  return found;
}
