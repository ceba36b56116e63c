/**
 * The parts of the SARIF 2.1.0 JSON schema the audit's output uses: for each object, its
 * required properties and the properties it may have (the schema sets additionalProperties:
 * false on every one of them). Transcribed from the OASIS schema,
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json
 */
export interface SchemaObject {
  readonly required: readonly string[];
  /** At least one of these must be present (the schema's anyOf of required sets). */
  readonly anyOf?: readonly string[];
  readonly allowed: readonly string[];
}

export const SARIF_2_1_0: Readonly<Record<string, SchemaObject>> = {
  sarifLog: {
    required: ['version', 'runs'],
    allowed: ['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'],
  },
  run: {
    required: ['tool'],
    allowed: [
      'tool',
      'invocations',
      'conversion',
      'language',
      'versionControlProvenance',
      'originalUriBaseIds',
      'artifacts',
      'logicalLocations',
      'graphs',
      'results',
      'automationDetails',
      'runAggregates',
      'baselineGuid',
      'redactionTokens',
      'defaultEncoding',
      'defaultSourceLanguage',
      'newlineSequences',
      'columnKind',
      'externalPropertyFileReferences',
      'threadFlowLocations',
      'taxonomies',
      'addresses',
      'translations',
      'policies',
      'webRequests',
      'webResponses',
      'specialLocations',
      'properties',
    ],
  },
  tool: { required: ['driver'], allowed: ['driver', 'extensions', 'properties'] },
  toolComponent: {
    required: ['name'],
    allowed: [
      'guid',
      'name',
      'organization',
      'product',
      'productSuite',
      'shortDescription',
      'fullDescription',
      'fullName',
      'version',
      'semanticVersion',
      'dottedQuadFileVersion',
      'releaseDateUtc',
      'downloadUri',
      'informationUri',
      'globalMessageStrings',
      'notifications',
      'rules',
      'taxa',
      'locations',
      'language',
      'contents',
      'isComprehensive',
      'localizedDataSemanticVersion',
      'minimumRequiredLocalizedDataSemanticVersion',
      'associatedComponent',
      'translationMetadata',
      'supportedTaxonomies',
      'properties',
    ],
  },
  reportingDescriptor: {
    required: ['id'],
    allowed: [
      'id',
      'deprecatedIds',
      'guid',
      'deprecatedGuids',
      'name',
      'deprecatedNames',
      'shortDescription',
      'fullDescription',
      'messageStrings',
      'defaultConfiguration',
      'helpUri',
      'help',
      'relationships',
      'properties',
    ],
  },
  reportingConfiguration: { required: [], allowed: ['enabled', 'level', 'rank', 'parameters', 'properties'] },
  multiformatMessageString: { required: ['text'], allowed: ['text', 'markdown', 'properties'] },
  result: {
    required: ['message'],
    allowed: [
      'ruleId',
      'ruleIndex',
      'rule',
      'kind',
      'level',
      'message',
      'analysisTarget',
      'locations',
      'guid',
      'correlationGuid',
      'occurrenceCount',
      'partialFingerprints',
      'fingerprints',
      'stacks',
      'codeFlows',
      'graphs',
      'graphTraversals',
      'relatedLocations',
      'suppressions',
      'baselineState',
      'rank',
      'attachments',
      'hostedViewerUri',
      'workItemUris',
      'provenance',
      'fixes',
      'taxa',
      'webRequest',
      'webResponse',
      'properties',
    ],
  },
  message: {
    required: [],
    anyOf: ['text', 'id'],
    allowed: ['text', 'markdown', 'id', 'arguments', 'properties'],
  },
  location: {
    required: [],
    allowed: [
      'id',
      'physicalLocation',
      'logicalLocations',
      'message',
      'annotations',
      'relationships',
      'properties',
    ],
  },
  physicalLocation: {
    required: [],
    anyOf: ['address', 'artifactLocation'],
    allowed: ['address', 'artifactLocation', 'region', 'contextRegion', 'properties'],
  },
  artifactLocation: { required: [], allowed: ['uri', 'uriBaseId', 'index', 'description', 'properties'] },
  region: {
    required: [],
    allowed: [
      'startLine',
      'startColumn',
      'endLine',
      'endColumn',
      'charOffset',
      'charLength',
      'byteOffset',
      'byteLength',
      'snippet',
      'message',
      'sourceLanguage',
      'properties',
    ],
  },
  logicalLocation: {
    required: [],
    allowed: ['name', 'index', 'fullyQualifiedName', 'decoratedName', 'parentIndex', 'kind', 'properties'],
  },
};

/** Where each nested object sits: `<parent type>.<property>` → child type (arrays by element). */
const CHILDREN: Readonly<Record<string, string>> = {
  'sarifLog.runs': 'run',
  'run.tool': 'tool',
  'run.results': 'result',
  'tool.driver': 'toolComponent',
  'toolComponent.rules': 'reportingDescriptor',
  'reportingDescriptor.shortDescription': 'multiformatMessageString',
  'reportingDescriptor.fullDescription': 'multiformatMessageString',
  'reportingDescriptor.help': 'multiformatMessageString',
  'reportingDescriptor.defaultConfiguration': 'reportingConfiguration',
  'result.message': 'message',
  'result.locations': 'location',
  'location.physicalLocation': 'physicalLocation',
  'location.logicalLocations': 'logicalLocation',
  'physicalLocation.artifactLocation': 'artifactLocation',
  'physicalLocation.region': 'region',
};

/** Every violation of the transcribed schema, as `<json path>: <problem>`. */
export function sarifViolations(value: unknown, type = 'sarifLog', path = '$'): string[] {
  const schema = SARIF_2_1_0[type];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`${path}: ${type} must be an object`];
  const object = value as Record<string, unknown>;
  const out: string[] = [];
  for (const key of schema.required) if (!(key in object)) out.push(`${path}: ${type} requires ${key}`);
  if (schema.anyOf && !schema.anyOf.some((k) => k in object))
    out.push(`${path}: ${type} needs one of ${schema.anyOf.join(', ')}`);
  for (const [key, child] of Object.entries(object)) {
    if (!schema.allowed.includes(key)) out.push(`${path}: ${type} does not allow ${key}`);
    const childType = CHILDREN[`${type}.${key}`];
    if (!childType) continue;
    if (Array.isArray(child))
      child.forEach((item, i) => out.push(...sarifViolations(item, childType, `${path}.${key}[${i}]`)));
    else out.push(...sarifViolations(child, childType, `${path}.${key}`));
  }
  return out;
}
