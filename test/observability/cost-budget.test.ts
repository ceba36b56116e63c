import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CostBudget } from '../../lib/observability/cost-budget';
import { newTestApp } from '../helpers/synth';

function build(monthlyLimitUsd: number, extra: { actualThresholdsPercent?: number[] } = {}) {
  const stack = new Stack(newTestApp(), 'Budget');
  const topic = new sns.Topic(stack, 'Ticket');
  new CostBudget(stack, 'Budget', {
    budgetName: 'shipshape-staging-monthly',
    monthlyLimitUsd,
    topic,
    tags: { Environment: 'staging' },
    ...extra,
  });
  return Template.fromStack(stack);
}

describe('CostBudget', () => {
  test('alerts the topic at 80% and 100% actual and 100% forecast of the monthly limit', () => {
    const template = build(300);
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetName: 'shipshape-staging-monthly',
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: 300, Unit: 'USD' },
        CostFilters: { TagKeyValue: ['user:Environment$staging'] },
      },
      NotificationsWithSubscribers: [
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 80 }) }),
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 100 }) }),
        Match.objectLike({
          Notification: Match.objectLike({ NotificationType: 'FORECASTED', Threshold: 100 }),
          Subscribers: [{ SubscriptionType: 'SNS', Address: { Ref: Match.stringLikeRegexp('^Ticket') } }],
        }),
      ],
    });
  });

  test('lets AWS Budgets publish to the topic', () => {
    build(300).hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'budgets.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      },
    });
  });

  test('fails when the limit is not positive', () => {
    expect(() => build(0)).toThrow("CostBudget 'Budget/Budget': monthlyLimitUsd must be above 0, got 0");
  });

  test('fails when a threshold is out of range', () => {
    expect(() => build(100, { actualThresholdsPercent: [0] })).toThrow(
      'thresholds must be between 0 and 1000 percent, got 0',
    );
  });
});
