export * from './production-readiness-checks';
export {
  DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS,
  ENVIRONMENT_TAG,
  READINESS_PACK_NAME,
  READINESS_RULES,
  RESTORE_VERIFIED_MARKER,
  STATEFUL_RESOURCE_TYPES,
  secretLookingValue,
  type ReadinessOptions,
  type ReadinessRule,
  type RuleResult,
  type TemplateContext,
  type TemplateResource,
} from './readiness-rules';
export {
  auditAssembly,
  formatAuditReport,
  AssemblyError,
  type AuditOptions,
  type AuditReport,
} from './audit';
