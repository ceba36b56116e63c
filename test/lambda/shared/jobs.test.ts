import { InvalidJobError, parseJob, parseJobMessage } from '../../../lambda/shared/jobs';

const NOTE = '7b0f4a8e-2c7d-4a36-9b8e-0e6f3c1d2a4b';

describe('job catalogue', () => {
  test('accepts a note.created job with its typed payload', () => {
    expect(parseJob({ type: 'note.created', payload: { noteId: NOTE, ownerId: 'user-a' } })).toEqual({
      type: 'note.created',
      payload: { noteId: NOTE, ownerId: 'user-a' },
    });
  });

  test('fails an unknown job type, listing the known ones', () => {
    expect(() => parseJob({ type: 'note.shared', payload: {} })).toThrow(
      /invalid job 'note.shared'.*\(known job types: note.created\)/s,
    );
  });

  test('fails a payload with content it must not carry', () => {
    expect(() =>
      parseJob({ type: 'note.created', payload: { noteId: NOTE, ownerId: 'u', title: 'secret plans' } }),
    ).toThrow(InvalidJobError);
  });

  test('parses a message the relay sent', () => {
    const body = JSON.stringify({
      id: '42',
      type: 'note.created',
      payload: { noteId: NOTE, ownerId: 'u' },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(parseJobMessage(body)).toEqual({
      id: '42',
      type: 'note.created',
      payload: { noteId: NOTE, ownerId: 'u' },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
  });

  test('fails a message whose id is not an outbox id', () => {
    const body = JSON.stringify({
      id: 'abc',
      type: 'note.created',
      payload: {},
      createdAt: '2026-01-01T00:00:00Z',
    });
    expect(() => parseJobMessage(body)).toThrow(/must be an outbox id/);
  });
});
