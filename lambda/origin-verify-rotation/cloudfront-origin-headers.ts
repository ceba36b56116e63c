import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  SourceData,
} from '@smithy/types';

/**
 * The two CloudFront operations the rotation needs: read the value of an origin custom header,
 * and change it. An interface so the rotation steps can be tested without HTTP.
 */
export interface OriginHeaderStore {
  /** Values of the origin custom header `headerName` on every origin of the distribution that has it. */
  getHeaderValues(distributionId: string, headerName: string): Promise<string[]>;
  /**
   * Sets the origin custom header `headerName` to `value` on every origin that has it.
   * @returns whether the distribution was changed (false when it already held the value).
   */
  setHeaderValue(distributionId: string, headerName: string, value: string): Promise<boolean>;
}

/** A CloudFront API error: `retryable` for throttling, conflicts and 5xx. */
export class CloudFrontApiError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
  ) {
    super(`CloudFront ${code} (${status}): ${message}`);
    this.name = 'CloudFrontApiError';
  }

  get retryable(): boolean {
    return this.status >= 500 || ['Throttling', 'PreconditionFailed', 'TooManyRequests'].includes(this.code);
  }
}

/** Options of {@link CloudFrontOriginHeaders}. */
export interface CloudFrontOriginHeadersOptions {
  /**
   * Endpoint of the CloudFront API.
   * @default - AWS_ENDPOINT_URL_CLOUDFRONT, then AWS_ENDPOINT_URL, then https://cloudfront.amazonaws.com
   */
  readonly endpoint?: string;
  /**
   * Credentials used to sign requests.
   * @default - the default Node.js provider chain (the Lambda role)
   */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * Timeout of each HTTP call, in milliseconds.
   * @default 10_000
   */
  readonly requestTimeout?: number;
  /**
   * Attempts when the distribution changed between read and write (ETag mismatch).
   * @default 3
   */
  readonly maxAttempts?: number;
}

const API_VERSION = '2020-05-31';
const CUSTOM_HEADER =
  /(<OriginCustomHeader>\s*<HeaderName>)([^<]*)(<\/HeaderName>\s*<HeaderValue>)([^<]*)(<\/HeaderValue>\s*<\/OriginCustomHeader>)/g;

/**
 * {@link OriginHeaderStore} over the CloudFront REST API (GetDistributionConfig /
 * UpdateDistribution with `If-Match`), signed with SigV4.
 *
 * Why not `@aws-sdk/client-cloudfront`: it is not a dependency of this project (see the edge
 * README section). The update edits only the text of the matching `<HeaderValue>` elements in
 * the XML CloudFront returned, so every other setting of the distribution goes back byte for
 * byte, which is exactly what UpdateDistribution requires.
 */
export class CloudFrontOriginHeaders implements OriginHeaderStore {
  private readonly endpoint: URL;
  private readonly signer: SignatureV4;
  private readonly requestTimeout: number;
  private readonly maxAttempts: number;

  constructor(options: CloudFrontOriginHeadersOptions = {}) {
    this.endpoint = new URL(
      options.endpoint ??
        process.env.AWS_ENDPOINT_URL_CLOUDFRONT ??
        process.env.AWS_ENDPOINT_URL ??
        'https://cloudfront.amazonaws.com',
    );
    this.signer = new SignatureV4({
      service: 'cloudfront',
      region: 'us-east-1',
      credentials: options.credentials ?? defaultProvider(),
      sha256: Sha256,
    });
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  async getHeaderValues(distributionId: string, headerName: string): Promise<string[]> {
    const { body } = await this.getConfig(distributionId);
    return findHeaders(body, headerName).map((h) => unescapeXml(h.value));
  }

  async setHeaderValue(distributionId: string, headerName: string, value: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const { body, etag } = await this.getConfig(distributionId);
      const found = findHeaders(body, headerName);
      if (found.length === 0) {
        throw new Error(
          `distribution ${distributionId} has no origin custom header '${headerName}'; the Edge construct sets it on the API origin`,
        );
      }
      if (found.every((h) => unescapeXml(h.value) === value)) return false;
      const updated = body.replace(CUSTOM_HEADER, (whole, open, name: string, middle, _old, close) =>
        name.trim().toLowerCase() === headerName.toLowerCase()
          ? `${open}${name}${middle}${escapeXml(value)}${close}`
          : whole,
      );
      try {
        await this.call('PUT', distributionId, updated, { 'if-match': etag, 'content-type': 'text/xml' });
        return true;
      } catch (error) {
        const conflict = error instanceof CloudFrontApiError && error.code === 'PreconditionFailed';
        if (!conflict || attempt >= this.maxAttempts) throw error;
      }
    }
  }

  private async getConfig(distributionId: string): Promise<{ body: string; etag: string }> {
    const response = await this.call('GET', distributionId);
    const etag = response.headers.get('etag');
    if (!etag) throw new Error(`CloudFront returned no ETag for distribution ${distributionId}`);
    return { body: response.body, etag };
  }

  private async call(
    method: 'GET' | 'PUT',
    distributionId: string,
    body?: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ body: string; headers: Headers }> {
    if (!/^[A-Z0-9]+$/.test(distributionId))
      throw new Error(`not a CloudFront distribution id: ${distributionId}`);
    const basePath = this.endpoint.pathname.replace(/\/$/, '');
    const path = `${basePath}/${API_VERSION}/distribution/${distributionId}/config`;
    const signed = await this.signer.sign({
      method,
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      port: this.endpoint.port ? Number(this.endpoint.port) : undefined,
      path,
      query: {},
      headers: { host: this.endpoint.host, ...extraHeaders },
      body,
    });
    const response = await fetch(new URL(path, this.endpoint), {
      method,
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(this.requestTimeout),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new CloudFrontApiError(
        xmlText(text, 'Code') ?? 'UnknownError',
        response.status,
        xmlText(text, 'Message') ?? text.slice(0, 200),
      );
    }
    return { body: text, headers: response.headers };
  }
}

function findHeaders(xml: string, headerName: string): Array<{ value: string }> {
  return [...xml.matchAll(CUSTOM_HEADER)]
    .filter((m) => m[2].trim().toLowerCase() === headerName.toLowerCase())
    .map((m) => ({ value: m[4] }));
}

function xmlText(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  return match ? unescapeXml(match[1]) : undefined;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function unescapeXml(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** SHA-256 (and HMAC-SHA-256 when given a key) from node:crypto, in the shape SigV4 expects. */
class Sha256 implements Checksum {
  private hash;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }

  update(data: Uint8Array | string): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }

  private create() {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : Buffer.from(toBytes(this.secret));
    return createHmac('sha256', key);
  }
}

function toBytes(data: Exclude<SourceData, string>): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}
