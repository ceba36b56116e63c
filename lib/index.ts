export * from './config';
export * from './jobs/background-jobs';
export * from './network/network';
export * from './observability/alarm-topics';
export * from './observability/burn-rate-slo';
export * from './observability/cost-budget';
export * from './observability/observability';
export * from './restore-verification/restore-verification';
export * from './stacks/shipshape-stack';
export * from './stacks/stateful-stack';
export * from './stacks/stateless-stack';
export * from './stages/shipshape-stage';
export { buildShipshapeApp } from './app';
export * from './database/database';
export * from './cache/cache';

export * from './edge/edge';
export * from './edge/edge-firewall';

export * from './service/service';

export * from './service/service';
export * from './edge/edge';
export * from './edge/edge-firewall';
export * from './deployment/safe-deployment';
export * from './pipeline/delivery-pipeline';
export * from './pipeline/pipeline-stack';
export * from './config/pipeline';
