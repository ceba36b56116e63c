import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { limitGrantsToAwsServices } from '../shared/kms';

/** Props of {@link AlarmTopics}. */
export interface AlarmTopicsProps {
  /** Who is paged: receives critical alarms by e-mail. */
  readonly pageEmail: string;

  /**
   * Who receives warnings (tickets) by e-mail.
   * @default - the page address
   */
  readonly ticketEmail?: string;
}

/**
 * Two KMS-encrypted SNS topics that every alarm routes to: `page` (critical: wake someone up)
 * and `ticket` (warning: look at it during working hours). Only TLS publishing is accepted, and
 * the key lets CloudWatch alarms, EventBridge and AWS Budgets publish.
 */
export class AlarmTopics extends Construct {
  public readonly page: sns.Topic;
  public readonly ticket: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicsProps) {
    super(scope, id);

    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the alarm topics',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    limitGrantsToAwsServices(this.key);
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'budgets.amazonaws.com']) {
      this.key.grant(new iam.ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
    }

    this.page = new sns.Topic(this, 'Page', {
      displayName: 'Shipshape critical alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.page.addSubscription(new subscriptions.EmailSubscription(props.pageEmail));

    this.ticket = new sns.Topic(this, 'Ticket', {
      displayName: 'Shipshape warnings',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.ticket.addSubscription(new subscriptions.EmailSubscription(props.ticketEmail ?? props.pageEmail));

    for (const topic of [this.page, this.ticket]) {
      Validations.of(topic).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail subscriptions to people: SNS retries e-mail delivery itself, and a message parked in a dead-letter queue would page nobody; an unconfirmed or bouncing address shows in the topic metrics.',
      });
    }
  }
}
