/**
 * Reads a synthesized cloud assembly (`cdk.out`): every stack of every stage, its template, its
 * tags, the acknowledgements recorded next to its resources, and the references between stacks
 * (exports and CDK's cross-region references), so that assembly-wide rules can tell which alarm
 * watches which resource wherever the two live.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  isObject,
  type JsonObject,
  type JsonValue,
  pathOf,
  referencedLogicalId,
  referencedLogicalIds,
  type TemplateResource,
  templateResources,
} from './template';

/** The assembly directory is missing or is not a cloud assembly. */
export class AssemblyError extends Error {}

/** One stack of the assembly, parsed. */
export interface AssemblyStack {
  /** Display name (`Production/Stateful`) or artifact id. */
  readonly name: string;
  readonly artifactId: string;
  readonly stackName?: string;
  /** The enclosing stage (nested assembly) display name, if any. */
  readonly stageName?: string;
  /** The template file, relative to the assembly directory. */
  readonly templateFile: string;
  readonly templatePath: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly resources: ReadonlyMap<string, TemplateResource>;
  readonly template: JsonObject;
  /**
   * Acknowledged rule ids (without `Annotation::`) by construct path (`/Stage/Stack/Construct`).
   * Read on first use: the metadata file is as large as the template and most audits need it
   * for a handful of findings only.
   */
  readonly acknowledgements: () => ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A resource somewhere in the assembly. */
export interface ResourceRef {
  readonly stack: AssemblyStack;
  readonly logicalId: string;
}

function readJson(path: string): JsonObject {
  return JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
}

function stringRecord(value: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `aws:cdk:acknowledged-rules` entries of a stack's metadata (inline or in its metadata file). */
function readAcknowledgements(dir: string, artifact: JsonObject): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let metadata: JsonValue | undefined = artifact.metadata;
  if (typeof artifact.additionalMetadataFile === 'string') {
    const file = join(dir, artifact.additionalMetadataFile);
    if (existsSync(file)) metadata = { ...(isObject(metadata) ? metadata : {}), ...readJson(file) };
  }
  if (!isObject(metadata)) return out;
  for (const [path, entries] of Object.entries(metadata)) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!isObject(entry) || entry.type !== 'aws:cdk:acknowledged-rules' || !isObject(entry.data)) continue;
      const rules = out.get(path) ?? new Map<string, string>();
      for (const [id, reason] of Object.entries(entry.data)) {
        rules.set(id.replace(/^annotation::/i, ''), typeof reason === 'string' ? reason : '');
      }
      out.set(path, rules);
    }
  }
  return out;
}

function lazy<T>(compute: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: compute() }).v;
}

/** Reads every stack of an assembly, descending into nested assemblies (stages). */
export function readAssembly(assemblyDir: string, stageName?: string): AssemblyStack[] {
  const dir = resolve(assemblyDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AssemblyError(
      `${assemblyDir} is not a directory. Pass the output of \`cdk synth\` (usually cdk.out).`,
    );
  }
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new AssemblyError(
      `${assemblyDir} has no manifest.json: not a cloud assembly. Run \`cdk synth\` first.`,
    );
  }
  const manifest = readJson(manifestPath);
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  const out: AssemblyStack[] = [];
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact)) continue;
    const properties = isObject(artifact.properties) ? artifact.properties : {};
    if (artifact.type === 'aws:cloudformation:stack' && typeof properties.templateFile === 'string') {
      const templatePath = join(dir, properties.templateFile);
      const template = readJson(templatePath);
      out.push({
        name: typeof artifact.displayName === 'string' ? artifact.displayName : id,
        artifactId: id,
        stackName: typeof properties.stackName === 'string' ? properties.stackName : undefined,
        stageName,
        templateFile: properties.templateFile,
        templatePath,
        tags: stringRecord(properties.tags),
        resources: templateResources(template),
        template,
        acknowledgements: lazy(() => readAcknowledgements(dir, artifact)),
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && typeof properties.directoryName === 'string') {
      const stage =
        typeof properties.displayName === 'string' ? properties.displayName : id.replace(/^assembly-/, '');
      out.push(...readAssembly(join(dir, properties.directoryName), stage));
    }
  }
  return out;
}

/** Rule ids acknowledged for a resource: in its template metadata (cdk-nag v2) or on it or an ancestor. */
export function acknowledgementsOf(stack: AssemblyStack, resource: TemplateResource): Map<string, string> {
  const out = new Map<string, string>();
  const nag = resource.metadata.cdk_nag;
  const list: JsonValue | undefined = isObject(nag) ? nag.rules_to_suppress : undefined;
  if (Array.isArray(list)) {
    for (const entry of list) {
      if (isObject(entry) && typeof entry.id === 'string')
        out.set(entry.id, typeof entry.reason === 'string' ? entry.reason : '');
    }
  }
  const path = pathOf(resource);
  if (path) {
    const parts = path.split('/');
    for (let n = parts.length; n > 0; n--) {
      const rules = stack.acknowledgements().get(`/${parts.slice(0, n).join('/')}`);
      if (rules) for (const [id, reason] of rules) if (!out.has(id)) out.set(id, reason);
    }
  }
  return out;
}

/**
 * Follows references between stacks: `Fn::ImportValue` of an export, and CDK's cross-region
 * references (an `Fn::GetAtt` on a `Custom::CrossRegionExportReader`, written by a
 * `Custom::CrossRegionExportWriter` in the producing stack).
 */
export class AssemblyReferences {
  private readonly exports = new Map<string, ResourceRef[]>();
  private readonly crossRegion = new Map<string, ResourceRef[]>();

  constructor(stacks: readonly AssemblyStack[]) {
    for (const stack of stacks) {
      const outputs = stack.template.Outputs;
      if (isObject(outputs)) {
        for (const output of Object.values(outputs)) {
          const name = isObject(output) && isObject(output.Export) ? output.Export.Name : undefined;
          if (typeof name === 'string' && isObject(output))
            this.exports.set(name, this.local(stack, output.Value));
        }
      }
      for (const r of stack.resources.values()) {
        if (r.type !== 'Custom::CrossRegionExportWriter') continue;
        const written = isObject(r.properties.WriterProps) ? r.properties.WriterProps.exports : undefined;
        if (isObject(written))
          for (const [key, value] of Object.entries(written))
            this.crossRegion.set(key, this.local(stack, value));
      }
    }
  }

  private local(stack: AssemblyStack, value: JsonValue | undefined): ResourceRef[] {
    return [...referencedLogicalIds(value)]
      .filter((id) => stack.resources.has(id))
      .map((logicalId) => ({ stack, logicalId }));
  }

  /** Every resource a value points at, in its own stack or (through exports) in others. */
  resolve(stack: AssemblyStack, value: JsonValue | undefined, into: ResourceRef[] = []): ResourceRef[] {
    if (Array.isArray(value)) {
      for (const item of value) this.resolve(stack, item, into);
      return into;
    }
    if (!isObject(value)) return into;
    const imported = value['Fn::ImportValue'];
    if (typeof imported === 'string') {
      into.push(...(this.exports.get(imported) ?? []));
      return into;
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') {
      if (stack.resources.get(getAtt[0])?.type === 'Custom::CrossRegionExportReader') {
        into.push(...(this.crossRegion.get(getAtt[1]) ?? []));
        return into;
      }
    }
    const direct = referencedLogicalId(value);
    if (direct !== undefined || value['Fn::Sub'] !== undefined) {
      for (const id of referencedLogicalIds(value))
        if (stack.resources.has(id)) into.push({ stack, logicalId: id });
      return into;
    }
    for (const child of Object.values(value)) this.resolve(stack, child, into);
    return into;
  }
}
