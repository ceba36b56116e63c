export * from './migration-files';
export * from './migrate';
