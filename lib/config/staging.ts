/**
 * Staging: the same code as production, smaller and cheaper, with shorter retention.
 * Replace the account and e-mail with your own before deploying (see README "Deploy to a real account").
 */
export const staging = {
  name: 'staging',
  account: '111111111111',
  region: 'eu-west-1',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  terminationProtection: false,
  network: {
    cidr: '10.10.0.0/16',
    natGateways: 1,
    flowLogRetentionDays: 30,
  },
  database: {
    instanceClass: 't4g.micro',
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 100,
    multiAz: false,
    deletionProtection: false,
    backupRetentionDays: 7,
    secretRotationDays: 30,
    logRetentionDays: 30,
    proxy: { maxConnectionsPercent: 90, maxIdleConnectionsPercent: 50, borrowTimeoutSeconds: 30 },
  },
  cache: {
    nodeType: 'cache.t4g.micro',
    replicas: 0,
    snapshotRetentionDays: 1,
  },
  restoreVerification: {
    schedule: 'cron(0 4 * * ? *)',
    timeoutMinutes: 90,
    heartbeatIntervalMinutes: 5,
    rpoTargetMinutes: 15,
  },
  slo: {
    availabilityTargetPercent: 99.5,
    latencyTargetPercent: 99,
    latencyThresholdMs: 800,
  },
  service: {
    memoryMiB: 512,
    timeoutSeconds: 10,
    perCallerRequestsPerMinute: 120,
    accessTokenMinutes: 60,
  },
  edge: {
    perIpRequestsPer5Min: 2000,
    perIpWriteRequestsPer5Min: 300,
    // The sample API's write routes (POST /notes, PUT/PATCH/DELETE /notes/{id}).
    writePathPrefixes: ['/notes'],
    perIpSignInRequestsPer5Min: 100,
    throttleRatePerSecond: 50,
    throttleBurst: 100,
    logRetentionDays: 30,
  },
  deployment: {
    // Staging shifts a larger share: 50% for four minutes, then the rest. A failing version puts
    // the rollback alarms in ALARM after about three minutes (2 of 3 one-minute datapoints plus
    // the evaluation delay), a minute before the shift. At 30 requests a minute the canary serves
    // 15, above the alarms' 10-request minimum.
    strategy: 'canary',
    percentage: 50,
    intervalMinutes: 4,
    expectedRequestsPerMinute: 30,
  },
  jobs: {
    maxReceiveCount: 5,
    maxConcurrency: 5,
    maxMessageAgeMinutes: 15,
  },
  observability: {
    runbookBaseUrl: 'https://github.com/example/shipshape/blob/main/runbooks',
    monthlyBudgetUsd: 300,
    rollbackDrillMaxAgeDays: 7,
  },
  alarmEmail: 'oncall-staging@example.com',
};
