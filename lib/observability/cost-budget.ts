import { Token } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of {@link CostBudget}. */
export interface CostBudgetProps {
  /** Budget name, unique in the account, e.g. `shipshape-staging-monthly`. */
  readonly budgetName: string;
  /** Monthly amount in USD. */
  readonly monthlyLimitUsd: number;
  /** Receives the alerts (actual and forecast). Its policy is extended so AWS Budgets may publish. */
  readonly topic: sns.ITopic;
  /**
   * Count only costs tagged with these cost-allocation tags (the tags must be activated in the
   * Billing console to appear in budgets).
   * @default - every cost in the account
   */
  readonly tags?: Record<string, string>;
  /**
   * Percentages of the limit at which actual spend alerts.
   * @default [80, 100]
   */
  readonly actualThresholdsPercent?: number[];
  /**
   * Percentage of the limit at which the month's forecast alerts.
   * @default 100
   */
  readonly forecastThresholdPercent?: number;
}

/**
 * A monthly AWS Budget that alerts a topic when actual spend crosses each threshold and when the
 * forecast for the month exceeds the limit. What usually grows silently, and how to find it, is
 * in runbooks/cost-overrun.md.
 */
export class CostBudget extends Construct {
  public readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: CostBudgetProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.monthlyLimitUsd) && !(props.monthlyLimitUsd > 0)) {
      throw new Error(
        `CostBudget '${this.node.path}': monthlyLimitUsd must be above 0, got ${props.monthlyLimitUsd}`,
      );
    }
    const actual = props.actualThresholdsPercent ?? [80, 100];
    for (const t of [...actual, props.forecastThresholdPercent ?? 100]) {
      if (!(t > 0 && t <= 1000)) {
        throw new Error(
          `CostBudget '${this.node.path}': thresholds must be between 0 and 1000 percent, got ${t}`,
        );
      }
    }

    props.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetsToPublish',
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [props.topic.topicArn],
      }),
    );

    const subscriber = [{ subscriptionType: 'SNS', address: props.topic.topicArn }];
    const notification = (type: 'ACTUAL' | 'FORECASTED', threshold: number) => ({
      notification: {
        notificationType: type,
        comparisonOperator: 'GREATER_THAN',
        threshold,
        thresholdType: 'PERCENTAGE',
      },
      subscribers: subscriber,
    });

    this.budget = new budgets.CfnBudget(this, 'Resource', {
      budget: {
        budgetName: props.budgetName,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.monthlyLimitUsd, unit: 'USD' },
        ...(props.tags
          ? { costFilters: { TagKeyValue: Object.entries(props.tags).map(([k, v]) => `user:${k}$${v}`) } }
          : {}),
      },
      notificationsWithSubscribers: [
        ...actual.map((t) => notification('ACTUAL', t)),
        notification('FORECASTED', props.forecastThresholdPercent ?? 100),
      ],
    });
  }
}
