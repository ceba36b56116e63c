import * as z from 'zod/mini';
import type { Sql } from '../runtime/pool';
import { ApiError, badRequest, notFound } from '../runtime/errors';
import { enqueueInTransaction } from '../shared/outbox';

export const TITLE_MAX = 200;
export const BODY_MAX = 10_000;
export const PAGE_DEFAULT = 20;
export const PAGE_MAX = 100;

/** A note as the API returns it. */
export interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** PostgreSQL's `int`: `version` is stored in one. */
export const INT4_MAX = 2_147_483_647;

// Text PostgreSQL stores as sent: no NUL (it refuses it, 22021) and no lone UTF-16 surrogate
// (UTF-8 cannot encode one; the driver would silently store U+FFFD instead).
const STORABLE = /^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
const storable = z.regex(STORABLE, 'must be Unicode text without NUL (\\u0000) characters');

// zod/mini: the same validation as classic zod at a fraction of the bundle size. Lengths count
// UTF-16 code units, never fewer than the code points PostgreSQL's char_length() counts, so a
// value accepted here always passes the table's length checks.
const title = z
  .string('must be a string')
  .check(
    z.trim(),
    z.minLength(1, 'must not be empty'),
    z.maxLength(TITLE_MAX, `must be at most ${TITLE_MAX} characters`),
    storable,
  );
const body = z
  .string('must be a string')
  .check(z.maxLength(BODY_MAX, `must be at most ${BODY_MAX} characters`), storable);
const version = z
  .int('must be an integer')
  .check(z.minimum(1, 'must be at least 1'), z.maximum(INT4_MAX, `must be at most ${INT4_MAX}`));

// The object's own message only for a non-object; unknown keys keep zod's "Unrecognized key" message.
const OBJECT = {
  error: (issue: { code?: string }) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined),
};

export const createNoteInput = z.strictObject({ title, body: z._default(body, '') }, OBJECT);
export type CreateNoteInput = z.infer<typeof createNoteInput>;

/** PATCH: change some fields; `version` is the one the client last read (optimistic locking). */
export const patchNoteInput = z
  .strictObject({ title: z.optional(title), body: z.optional(body), version }, OBJECT)
  .check(
    z.refine((v) => v.title !== undefined || v.body !== undefined, {
      message: 'send at least one of title, body',
      path: ['title'],
    }),
  );
/** PUT: replace the note. */
export const putNoteInput = z.strictObject({ title, body, version }, OBJECT);
export type UpdateNoteInput = { title?: string; body?: string; version: number };

export const noteId = z.uuid('must be a note id (UUID)');

export const listQuery = z.strictObject({
  limit: z._default(
    z.coerce
      .number('must be a number')
      .check(
        z.int('must be an integer'),
        z.minimum(1, 'must be at least 1'),
        z.maximum(PAGE_MAX, `must be at most ${PAGE_MAX}`),
      ),
    PAGE_DEFAULT,
  ),
  cursor: z.optional(z.string().check(z.maxLength(512, 'is not a cursor this API issued'))),
});

// A timestamp as to_json() renders it, within the years and offsets PostgreSQL accepts: a
// hand-made year 0000 (22008) or an offset beyond ±15:59 (22009) would fail in the database.
const storableTime = (v: string) =>
  !v.startsWith('0000') && !/[+-](1[6-9]|[2-9]\d)(:?\d\d)?$/.test(v) && !Number.isNaN(Date.parse(v));
const cursorTime = z.iso.datetime({ offset: true }).check(z.refine(storableTime));
const cursorShape = z.strictObject({ c: cursorTime, i: z.uuid() });

/** An opaque cursor: base64url of the (created_at, id) of the last note of the page. */
export function encodeCursor(note: Pick<Note, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify({ c: note.createdAt, i: note.id })).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const parsed = cursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: parsed.c, id: parsed.i };
  } catch {
    throw badRequest('the query is invalid', { cursor: ['is not a cursor this API issued'] });
  }
}

interface NoteRow {
  id: string;
  title: string;
  body: string;
  version: number;
  created_at: string;
  updated_at: string;
}

// to_json() renders timestamptz as ISO 8601 with microseconds, whatever the session's DateStyle:
// exact enough to serve as a pagination key (a JS Date would round to milliseconds).
export const COLUMNS = `id, title, body, version,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at`;

function toNote(row: NoteRow): Note {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * SQL of the notes resource. Every statement filters on `owner_id` — the handler's own
 * ownership check — and runs inside a transaction whose `app.caller_id` makes PostgreSQL's
 * row-level security enforce the same rule a second time.
 */
export const notesRepository = {
  async create(sql: Sql, ownerId: string, input: CreateNoteInput): Promise<Note> {
    await sql.query('INSERT INTO accounts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [ownerId]);
    const [row] = await sql.query<NoteRow>(
      `INSERT INTO notes (owner_id, title, body) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
      [ownerId, input.title, input.body],
    );
    // Transactional outbox: the notification job commits (or rolls back) with the note.
    await enqueueInTransaction(sql, { type: 'note.created', payload: { noteId: row.id, ownerId } });
    return toNote(row);
  },

  async get(sql: Sql, ownerId: string, id: string): Promise<Note | undefined> {
    const [row] = await sql.query<NoteRow>(`SELECT ${COLUMNS} FROM notes WHERE id = $1 AND owner_id = $2`, [
      id,
      ownerId,
    ]);
    return row ? toNote(row) : undefined;
  },

  /** One page, newest first; `next` is set when there may be more. */
  async list(
    sql: Sql,
    ownerId: string,
    page: { limit: number; after?: { createdAt: string; id: string } },
  ): Promise<{ items: Note[]; next?: string }> {
    const params: unknown[] = [ownerId, page.limit + 1];
    let where = 'owner_id = $1';
    if (page.after) {
      params.push(page.after.createdAt, page.after.id);
      where += ' AND (created_at, id) < ($3::timestamptz, $4::uuid)';
    }
    const rows = await sql.query<NoteRow>(
      `SELECT ${COLUMNS} FROM notes WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    );
    const items = rows.slice(0, page.limit).map(toNote);
    const next = rows.length > page.limit ? encodeCursor(items[items.length - 1]) : undefined;
    return { items, next };
  },

  /** Updates when `input.version` is current: 404 when absent, 409 when someone changed it first. */
  async update(sql: Sql, ownerId: string, id: string, input: UpdateNoteInput): Promise<Note> {
    const [row] = await sql.query<NoteRow>(
      `UPDATE notes SET title = COALESCE($4, title), body = COALESCE($5, body),
         version = version + 1, updated_at = now()
       WHERE id = $1 AND owner_id = $2 AND version = $3 RETURNING ${COLUMNS}`,
      [id, ownerId, input.version, input.title ?? null, input.body ?? null],
    );
    if (row) return toNote(row);
    const current = await this.get(sql, ownerId, id);
    if (!current) throw notFound('the note');
    throw new ApiError(
      409,
      'version_conflict',
      `the note is at version ${current.version}, not ${input.version}; read it again and retry your change`,
    );
  },

  async delete(sql: Sql, ownerId: string, id: string): Promise<void> {
    const rows = await sql.query('DELETE FROM notes WHERE id = $1 AND owner_id = $2 RETURNING id', [
      id,
      ownerId,
    ]);
    if (rows.length === 0) throw notFound('the note');
  },
};
