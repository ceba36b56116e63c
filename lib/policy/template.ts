/**
 * CloudFormation template JSON as the readiness rules see it: resources, references between
 * them, tags and literal values. Pure functions, no CDK: the same code reads a synthesized cloud
 * assembly (`shipshape audit`) and the templates the cdk-nag pack is handed at synth.
 */

/** A JSON value as found in a CloudFormation template. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** One resource of a template, as the rules see it. */
export interface TemplateResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: JsonObject;
  readonly metadata: JsonObject;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
  readonly updatePolicy: JsonObject;
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a property path (`['DistributionConfig', 'Logging']`), when every step is an object. */
export function prop(value: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** An array property, or an empty array. */
export function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, if the value is one. */
export function referencedLogicalId(value: JsonValue | undefined): string | undefined {
  if (!isObject(value)) return undefined;
  const ref = value.Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Every logical id referenced (Ref / GetAtt / Sub) anywhere inside a value. */
export function referencedLogicalIds(value: JsonValue | undefined, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedLogicalIds(item, into);
  } else if (isObject(value)) {
    const direct = referencedLogicalId(value);
    if (direct) into.add(direct);
    const sub = value['Fn::Sub'];
    const subText =
      typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : '';
    for (const match of subText.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) into.add(match[1]);
    for (const child of Object.values(value)) referencedLogicalIds(child, into);
  }
  return into;
}

/** Whether a value references the given resource anywhere inside it. */
export function references(value: JsonValue | undefined, logicalId: string): boolean {
  return referencedLogicalIds(value).has(logicalId);
}

/** Literal strings inside a value (the pieces of an `Fn::Join`, for instance). */
export function literalStrings(value: JsonValue | undefined, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) literalStrings(item, into);
  else if (isObject(value)) for (const child of Object.values(value)) literalStrings(child, into);
  return into;
}

/** A boolean property, accepting CloudFormation's string spellings. */
export function bool(value: JsonValue | undefined): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** A numeric property, accepting numeric strings; undefined when absent or not literal. */
export function num(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** The literal tags of a resource (`Tags` as a list of Key/Value or as a map; both occur). */
export function tagsOf(resource: TemplateResource): Map<string, string> {
  const out = new Map<string, string>();
  const tags = resource.properties.Tags;
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (isObject(tag) && typeof tag.Key === 'string' && typeof tag.Value === 'string')
        out.set(tag.Key, tag.Value);
    }
  } else if (isObject(tags)) {
    for (const [k, v] of Object.entries(tags)) if (typeof v === 'string') out.set(k, v);
  }
  return out;
}

/** The value of a tag in a resource's `Tags`. */
export function tagValue(resource: TemplateResource, key: string): string | undefined {
  return tagsOf(resource).get(key);
}

/** The construct path (`aws:cdk:path` metadata), when the template carries it. */
export function pathOf(resource: TemplateResource): string | undefined {
  const path = resource.metadata['aws:cdk:path'];
  return typeof path === 'string' ? path : undefined;
}

/** Builds a {@link TemplateResource} from a raw template entry. */
export function toTemplateResource(logicalId: string, raw: JsonObject): TemplateResource {
  return {
    logicalId,
    type: typeof raw.Type === 'string' ? raw.Type : '',
    properties: isObject(raw.Properties) ? raw.Properties : {},
    metadata: isObject(raw.Metadata) ? raw.Metadata : {},
    deletionPolicy: typeof raw.DeletionPolicy === 'string' ? raw.DeletionPolicy : undefined,
    updateReplacePolicy: typeof raw.UpdateReplacePolicy === 'string' ? raw.UpdateReplacePolicy : undefined,
    updatePolicy: isObject(raw.UpdatePolicy) ? raw.UpdatePolicy : {},
  };
}

/** Parses the `Resources` section of a template. */
export function templateResources(template: JsonObject): Map<string, TemplateResource> {
  const out = new Map<string, TemplateResource>();
  const resources = template.Resources;
  if (!isObject(resources)) return out;
  for (const [logicalId, raw] of Object.entries(resources)) {
    if (isObject(raw)) out.set(logicalId, toTemplateResource(logicalId, raw));
  }
  return out;
}

/** The resources of a template of some types. */
export function resourcesOfType(
  resources: ReadonlyMap<string, TemplateResource> | Iterable<TemplateResource>,
  ...types: string[]
): TemplateResource[] {
  const all = resources instanceof Map ? resources.values() : (resources as Iterable<TemplateResource>);
  return [...all].filter((r) => types.includes(r.type));
}

/** Logical ids and literal alarm names that composite alarms of these resources take as input. */
export function compositeAlarmInputsOf(
  resources: Iterable<TemplateResource>,
  into = new Set<string>(),
): Set<string> {
  for (const resource of resources) {
    if (resource.type !== 'AWS::CloudWatch::CompositeAlarm') continue;
    const rule = resource.properties.AlarmRule;
    referencedLogicalIds(rule, into);
    // Literal names: ALARM("name") / ALARM(name) / OK(...) / INSUFFICIENT_DATA(...)
    for (const text of literalStrings(rule)) {
      for (const m of text.matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)/g)) {
        const name = m[1].trim();
        into.add(name.startsWith('arn:') ? (name.split(':alarm:')[1] ?? name) : name);
      }
    }
  }
  return into;
}
