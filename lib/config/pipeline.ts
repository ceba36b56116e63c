import { z } from 'zod';

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const CONNECTION_ARN =
  /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:connection\/[0-9a-f-]{36}$/;

export const pipelineConfigSchema = z.strictObject({
  /** Account the pipeline (and its artifact bucket) lives in. */
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  region: z.string().regex(REGION, 'must be an AWS region code such as eu-west-1'),
  /** CodeStar (CodeConnections) connection to the Git host, created once in the console. */
  connectionArn: z
    .string()
    .regex(
      CONNECTION_ARN,
      'must be a CodeConnections ARN such as arn:aws:codeconnections:eu-west-1:111111111111:connection/<uuid>',
    ),
  /** Repository as `owner/name`. */
  repository: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/name, e.g. example/shipshape'),
  /** Branch whose pushes start the pipeline. */
  branch: z.string().min(1, 'must name a branch').max(255),
});

/** The validated configuration of the delivery pipeline. */
export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/**
 * The pipeline as checked in. Replace the connection, repository and accounts with your own
 * (README "Pipeline"); the pipeline lives in the staging account here.
 */
export const RAW_PIPELINE_CONFIG: unknown = {
  account: '111111111111',
  region: 'eu-west-1',
  connectionArn:
    'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-4000-8000-000000000000',
  repository: 'example/shipshape',
  branch: 'main',
};

/** Thrown when the pipeline configuration does not validate; `message` lists every problem. */
export class PipelineConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(
      `Invalid pipeline configuration (lib/config/pipeline.ts):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'PipelineConfigError';
  }
}

/** Validates the pipeline configuration; the error names each field, the value and what is allowed. */
export function validatePipelineConfig(raw: unknown = RAW_PIPELINE_CONFIG): PipelineConfig {
  const result = pipelineConfigSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  throw new PipelineConfigError(
    result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return `${issue.keys.join(', ')}: unknown field (check the spelling)`;
      const received = 'input' in issue ? JSON.stringify(issue.input) : 'nothing';
      return `${issue.path.join('.') || '(root)'}: got ${received ?? 'nothing (the field is missing)'}; ${issue.message}`;
    }),
  );
}
