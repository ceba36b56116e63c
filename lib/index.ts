export * from './config';
export * from './jobs/background-jobs';
export * from './network/network';
export * from './observability/alarm-topics';
export * from './stacks/shipshape-stack';
export * from './stacks/stateful-stack';
export * from './stacks/stateless-stack';
export * from './stages/shipshape-stage';
export { buildShipshapeApp } from './app';
