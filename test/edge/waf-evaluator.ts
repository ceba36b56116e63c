/**
 * Evaluates the subset of WAFv2 rule statements our web ACLs use, on synthesized templates, so
 * tests check which requests a rule counts instead of how its JSON looks. Anything outside the
 * subset throws.
 *
 * Semantics followed:
 * - Byte match, positional constraints EXACTLY / STARTS_WITH, on the transformed component:
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-string-match.html
 * - Text transformations, applied in priority order: NONE, LOWERCASE, NORMALIZE_PATH ("remove
 *   multiple slashes, directory self-references, and directory back-references that are not at
 *   the beginning of the input"):
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html
 * - Header names match case-insensitively (single header):
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-fields-list.html
 * - And / Or statements: https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-and.html
 */
export interface WafRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
}

type Statement = Record<string, unknown>;

export function matches(statement: Statement, request: WafRequest): boolean {
  const [kind, body] = only(statement);
  switch (kind) {
    case 'OrStatement':
      return (body as { Statements: Statement[] }).Statements.some((s) => matches(s, request));
    case 'AndStatement':
      return (body as { Statements: Statement[] }).Statements.every((s) => matches(s, request));
    case 'ByteMatchStatement':
      return byteMatch(body as ByteMatch, request);
    default:
      throw new Error(`waf-evaluator: unsupported statement ${kind}`);
  }
}

interface ByteMatch {
  FieldToMatch: Record<string, unknown>;
  SearchString: string;
  PositionalConstraint: string;
  TextTransformations: Array<{ Priority: number; Type: string }>;
}

function byteMatch(m: ByteMatch, request: WafRequest): boolean {
  const [field, options] = only(m.FieldToMatch);
  let value: string | undefined;
  if (field === 'Method') value = request.method;
  else if (field === 'UriPath') value = request.path;
  else if (field === 'SingleHeader') {
    const name = (options as { Name: string }).Name.toLowerCase();
    value = Object.entries(request.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
  } else throw new Error(`waf-evaluator: unsupported field ${field}`);
  if (value === undefined) return false;
  for (const t of [...m.TextTransformations].sort((a, b) => a.Priority - b.Priority)) {
    value = transform(t.Type, value);
  }
  switch (m.PositionalConstraint) {
    case 'EXACTLY':
      return value === m.SearchString;
    case 'STARTS_WITH':
      return value.startsWith(m.SearchString);
    default:
      throw new Error(`waf-evaluator: unsupported positional constraint ${m.PositionalConstraint}`);
  }
}

function transform(type: string, value: string): string {
  switch (type) {
    case 'NONE':
      return value;
    case 'LOWERCASE':
      return value.toLowerCase();
    case 'NORMALIZE_PATH': {
      const out: string[] = [];
      for (const segment of value.replace(/\/{2,}/g, '/').split('/')) {
        if (segment === '.') continue;
        if (segment === '..' && out.length > 1) out.pop();
        else out.push(segment);
      }
      return out.join('/');
    }
    default:
      throw new Error(`waf-evaluator: unsupported text transformation ${type}`);
  }
}

function only(o: Record<string, unknown>): [string, unknown] {
  const entries = Object.entries(o);
  if (entries.length !== 1)
    throw new Error(`waf-evaluator: expected one key, got ${entries.map(([k]) => k).join(', ')}`);
  return entries[0];
}
