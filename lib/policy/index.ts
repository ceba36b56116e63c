export * from './production-readiness-checks';
export {
  DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS,
  ENVIRONMENT_TAG,
  GROUP_TITLES,
  PUBLIC_ROUTE_MARKER,
  READINESS_PACK_NAME,
  READINESS_RULES,
  RESTORE_VERIFIED_MARKER,
  RULE_GROUPS,
  SEVERITIES,
  SEVERITY_WEIGHT,
  STATEFUL_RESOURCE_TYPES,
  secretLookingValue,
  type ReadinessOptions,
  type ReadinessRule,
  type RuleGroup,
  type RuleInfo,
  type RuleResult,
  type Severity as ReadinessSeverity,
  type TemplateContext,
  type TemplateResource,
} from './readiness-rules';
export { ASSEMBLY_RULES, type AssemblyRule } from './assembly-rules';
export {
  auditAssembly,
  hasFindingsAtOrAbove,
  readinessScore,
  AssemblyError,
  type AuditAcknowledged,
  type AuditedStack,
  type AuditFinding,
  type AuditOptions,
  type AuditReport,
} from './audit';
export { decideProduction, type ProductionDecision } from './production';
export { formatAuditMarkdown, formatAuditText } from './formats/text';
export { toSarif } from './formats/sarif';
