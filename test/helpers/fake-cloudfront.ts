import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake CloudFront API received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/**
 * The two CloudFront API calls the origin-verify rotation uses (GetDistributionConfig and
 * UpdateDistribution), on a local HTTP server: a real XML DistributionConfig, an ETag that
 * changes on every update, and `PreconditionFailed` when `If-Match` is stale — as CloudFront does.
 */
export class FakeCloudFront {
  public readonly requests: RecordedRequest[] = [];
  public etag = 'E1';
  /** Answer the next N updates with PreconditionFailed (someone else changed the distribution). */
  public conflictsToInject = 0;
  private server?: Server;

  constructor(
    public readonly distributionId: string,
    public config: string,
  ) {}

  static configWithHeader(headerName: string, value: string): string {
    return `<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>ref-1</CallerReference><Aliases><Quantity>0</Quantity></Aliases><Origins><Quantity>2</Quantity><Items><Origin><Id>api</Id><DomainName>abc123.execute-api.eu-west-1.amazonaws.com</DomainName><OriginPath></OriginPath><CustomHeaders><Quantity>2</Quantity><Items><OriginCustomHeader><HeaderName>x-team</HeaderName><HeaderValue>edge &amp; api</HeaderValue></OriginCustomHeader><OriginCustomHeader><HeaderName>${headerName}</HeaderName><HeaderValue>${value}</HeaderValue></OriginCustomHeader></Items></CustomHeaders><CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>https-only</OriginProtocolPolicy></CustomOriginConfig></Origin><Origin><Id>assets</Id><DomainName>assets.s3.eu-west-1.amazonaws.com</DomainName><CustomHeaders><Quantity>0</Quantity></CustomHeaders><S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig></Origin></Items></Origins><Comment>front door</Comment><Enabled>true</Enabled></DistributionConfig>`;
  }

  /** Starts listening on 127.0.0.1; returns the endpoint URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const expected = `/2020-05-31/distribution/${this.distributionId}/config`;
        if (req.url !== expected)
          return this.error(res, 404, 'NoSuchDistribution', 'The specified distribution does not exist.');
        if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
          return this.error(res, 403, 'MissingAuthenticationToken', 'Missing Authentication Token');
        }
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/xml', etag: this.etag });
          return res.end(this.config);
        }
        if (req.method === 'PUT') {
          if (this.conflictsToInject > 0) {
            this.conflictsToInject--;
            this.etag = `E${Number(this.etag.slice(1)) + 1}`;
            return this.error(
              res,
              412,
              'PreconditionFailed',
              'The If-Match version is missing or not valid.',
            );
          }
          if (req.headers['if-match'] !== this.etag) {
            return this.error(
              res,
              412,
              'PreconditionFailed',
              'The If-Match version is missing or not valid.',
            );
          }
          this.config = body;
          this.etag = `E${Number(this.etag.slice(1)) + 1}`;
          res.writeHead(200, { 'content-type': 'text/xml', etag: this.etag });
          return res.end(
            `<Distribution><Id>${this.distributionId}</Id><Status>InProgress</Status></Distribution>`,
          );
        }
        return this.error(res, 405, 'MethodNotAllowed', 'method not allowed');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server?.close((e) => (e ? reject(e) : resolve())));
  }

  /** Value of the origin custom header `name` in the current config. */
  headerValue(name: string): string | undefined {
    const m = new RegExp(`<HeaderName>${name}</HeaderName><HeaderValue>([^<]*)</HeaderValue>`).exec(
      this.config,
    );
    return m?.[1];
  }

  private error(
    res: import('node:http').ServerResponse,
    status: number,
    code: string,
    message: string,
  ): void {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
    );
  }
}
