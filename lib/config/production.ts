/**
 * Production: Multi-AZ, deletion and termination protection, 35 days of point-in-time recovery.
 * Replace the account and e-mail with your own before deploying (see README "Deploy to a real account").
 */
export const production = {
  name: 'production',
  account: '222222222222',
  region: 'eu-west-1',
  availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
  terminationProtection: true,
  network: {
    cidr: '10.20.0.0/16',
    // One NAT gateway per AZ: an AZ outage must not cut the others off the internet.
    natGateways: 3,
    flowLogRetentionDays: 365,
  },
  database: {
    instanceClass: 't4g.medium',
    allocatedStorageGiB: 50,
    maxAllocatedStorageGiB: 500,
    multiAz: true,
    deletionProtection: true,
    backupRetentionDays: 35,
    secretRotationDays: 30,
    logRetentionDays: 365,
    proxy: { maxConnectionsPercent: 90, maxIdleConnectionsPercent: 50, borrowTimeoutSeconds: 30 },
  },
  cache: {
    nodeType: 'cache.t4g.small',
    replicas: 1,
    snapshotRetentionDays: 7,
  },
  restoreVerification: {
    schedule: 'cron(0 4 * * ? *)',
    timeoutMinutes: 120,
    heartbeatIntervalMinutes: 1,
    rpoTargetMinutes: 10,
  },
  slo: {
    availabilityTargetPercent: 99.9,
    latencyTargetPercent: 99,
    latencyThresholdMs: 500,
  },
  service: {
    memoryMiB: 1024,
    timeoutSeconds: 10,
    perCallerRequestsPerMinute: 300,
    accessTokenMinutes: 60,
  },
  edge: {
    perIpRequestsPer5Min: 5000,
    perIpWriteRequestsPer5Min: 500,
    // The sample API's write routes (POST /notes, PUT/PATCH/DELETE /notes/{id}).
    writePathPrefixes: ['/notes'],
    perIpSignInRequestsPer5Min: 100,
    throttleRatePerSecond: 500,
    throttleBurst: 1000,
    logRetentionDays: 365,
  },
  deployment: {
    // 10% of traffic for 5 minutes; the rollback alarms must fire inside that window. At 300
    // requests a minute the canary serves 30: a version failing over 5% of them is in ALARM
    // about 3 minutes in (docs/constructs/safe-deployment.md, "Canary arithmetic").
    strategy: 'canary',
    percentage: 10,
    intervalMinutes: 5,
    expectedRequestsPerMinute: 300,
  },
  jobs: {
    maxReceiveCount: 5,
    maxConcurrency: 20,
    maxMessageAgeMinutes: 10,
  },
  observability: {
    runbookBaseUrl: 'https://github.com/example/shipshape/blob/main/runbooks',
    monthlyBudgetUsd: 1500,
    rollbackDrillMaxAgeDays: 7,
  },
  alarmEmail: 'oncall@example.com',
};
