// zod/mini: the API bundles this module, and full zod would add ~400 KB to it.
import * as z from 'zod/mini';

/**
 * The catalogue of background jobs: every job type and the schema of its payload. The service
 * validates a job against it before writing it to the outbox, and the worker validates it again
 * when the job arrives (a message that fails is poison: retrying cannot fix it).
 *
 * Payloads carry ids, never user content: the outbox and the queue are read by operators.
 */
export const JOB_PAYLOADS = {
  /** A note was created: tell its owner. */
  'note.created': z.strictObject({
    noteId: z.uuid(),
    ownerId: z.string().check(z.minLength(1), z.maxLength(200)),
  }),
} as const;

export type JobType = keyof typeof JOB_PAYLOADS;
export const JOB_TYPES = Object.keys(JOB_PAYLOADS) as JobType[];

/** A job as the relay sends it to SQS: the outbox row's id is the job's identity. */
export type JobMessage = Job & {
  /** The outbox row id (decimal string: bigint does not fit a JSON number). */
  readonly id: string;
  /** When the job was committed to the outbox (ISO 8601). */
  readonly createdAt: string;
};

/** Name of the SQS message attribute that carries the outbox id (also in the body). */
export const OUTBOX_ID_ATTRIBUTE = 'outboxId';
/** Name of the SQS message attribute that carries the job type (for filtering and triage). */
export const JOB_TYPE_ATTRIBUTE = 'jobType';

/** A job: its type and the typed payload of that type. */
export type Job = z.infer<typeof jobSchema>;

/** Every job: one entry per type of {@link JOB_PAYLOADS}. */
const jobSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('note.created'), payload: JOB_PAYLOADS['note.created'] }),
]);

const messageEnvelope = z.strictObject({
  id: z.string().check(z.regex(/^[1-9]\d{0,18}$/, 'must be an outbox id (a positive integer as a string)')),
  type: z.string(),
  payload: z.unknown(),
  createdAt: z.iso.datetime({ offset: true }),
});

/** Thrown when a job or a message does not match the catalogue: a user/programming error, never retried. */
export class InvalidJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidJobError';
  }
}

/** Validates a job against the catalogue. @throws InvalidJobError naming the job type and the problem. */
export function parseJob(input: unknown): Job {
  const result = jobSchema.safeParse(input);
  if (!result.success) {
    const type = (input as { type?: unknown } | null)?.type;
    throw new InvalidJobError(
      `invalid job${typeof type === 'string' ? ` '${type}'` : ''}: ${z.prettifyError(result.error)}` +
        (typeof type === 'string' && !(JOB_TYPES as string[]).includes(type)
          ? ` (known job types: ${JOB_TYPES.join(', ')})`
          : ''),
    );
  }
  return result.data;
}

/** Parses an SQS message body sent by the relay. @throws InvalidJobError (a poison message). */
export function parseJobMessage(body: string): JobMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidJobError('message body is not JSON');
  }
  const envelope = messageEnvelope.safeParse(json);
  if (!envelope.success) throw new InvalidJobError(`invalid job message: ${z.prettifyError(envelope.error)}`);
  const job = parseJob({ type: envelope.data.type, payload: envelope.data.payload });
  return { ...job, id: envelope.data.id, createdAt: envelope.data.createdAt };
}
