/**
 * Visibility, per alarm: every alarm reaches someone and says what to do. The assembly-wide
 * questions (does every entry point and datastore have an alarm, does any alarm page a human)
 * are in ../assembly-rules.ts. Checklist seed: "monitoring alerts configured".
 */
import { fail, NA, OK, type ReadinessRule, verdict } from '../rule';
import { bool, list, literalStrings } from '../template';

const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];

const alarmAction: ReadinessRule = {
  id: 'AlarmAction',
  group: 'visibility',
  severity: 'hardening',
  seed: 'Monitoring alerts configured',
  title:
    'Every CloudWatch alarm notifies someone (an alarm action), unless it is an input of a composite alarm',
  why: 'An alarm without an action changes colour on a dashboard nobody watches at 3 AM.',
  fix:
    '`alarm.addAlarmAction(new cloudwatch_actions.SnsAction(topic))` and keep `actionsEnabled` true, or make the ' +
    'alarm an input of a `cloudwatch.CompositeAlarm` that has one.',
  equivalents: ['cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
  resourceTypes: ALARM_TYPES,
  check(resource, context) {
    if (!ALARM_TYPES.includes(resource.type)) return NA;
    const name = resource.properties.AlarmName;
    const isInput =
      context.compositeAlarmInputs.has(resource.logicalId) ||
      (typeof name === 'string' && context.compositeAlarmInputs.has(name));
    if (resource.type === 'AWS::CloudWatch::Alarm' && isInput) return OK;
    const reasons: string[] = [];
    if (list(resource.properties.AlarmActions).length === 0) reasons.push('the alarm has no AlarmActions');
    if (bool(resource.properties.ActionsEnabled) === false) reasons.push('ActionsEnabled is false');
    return verdict(reasons);
  },
};

const RUNBOOK_LINK = /Runbook:\s*https:\/\/\S+/;

const alarmRunbook: ReadinessRule = {
  id: 'AlarmRunbook',
  group: 'visibility',
  severity: 'cleanup',
  seed: 'Every error has a recovery path',
  title: 'Every CloudWatch alarm links its runbook (`Runbook: https://...` in the description)',
  why: 'Whoever is paged needs to know what the alarm means and what to do first, without searching a wiki.',
  fix:
    "`alarmDescription: 'What broke and for whom. Runbook: https://runbooks.example.com/<alarm>.md'` on the " +
    '`cloudwatch.Alarm` (or `CompositeAlarm`).',
  resourceTypes: ALARM_TYPES,
  check(resource) {
    if (!ALARM_TYPES.includes(resource.type)) return NA;
    const description = literalStrings(resource.properties.AlarmDescription).join('');
    return RUNBOOK_LINK.test(description)
      ? OK
      : fail('the alarm description has no `Runbook: https://...` link');
  },
};

/** The per-alarm visibility rules, in report order. */
export const VISIBILITY_RULES: readonly ReadinessRule[] = [alarmAction, alarmRunbook];
