import {
  CloudFrontApiError,
  CloudFrontOriginHeaders,
} from '../../../lambda/origin-verify-rotation/cloudfront-origin-headers';
import { FakeCloudFront } from '../../helpers/fake-cloudfront';

const DISTRIBUTION_ID = 'E3EXAMPLE456';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('CloudFrontOriginHeaders', () => {
  let cloudfront: FakeCloudFront;
  let store: CloudFrontOriginHeaders;
  beforeAll(async () => {
    cloudfront = new FakeCloudFront(DISTRIBUTION_ID, '');
    store = new CloudFrontOriginHeaders({ endpoint: await cloudfront.start(), credentials, maxAttempts: 2 });
  });
  afterAll(() => cloudfront.stop());
  beforeEach(() => {
    cloudfront.config = FakeCloudFront.configWithHeader('X-Origin-Verify', 'a&b');
    cloudfront.conflictsToInject = 0;
    cloudfront.requests.length = 0;
  });

  test('reads the header value (name matched case-insensitively, XML entities decoded)', async () => {
    await expect(store.getHeaderValues(DISTRIBUTION_ID, 'x-origin-verify')).resolves.toEqual(['a&b']);
    await expect(store.getHeaderValues(DISTRIBUTION_ID, 'x-missing')).resolves.toEqual([]);
  });

  test('writes an XML-escaped value and reports no change when the value is already there', async () => {
    await expect(store.setHeaderValue(DISTRIBUTION_ID, 'x-origin-verify', '<new>')).resolves.toBe(true);
    expect(cloudfront.config).toContain(
      '<HeaderName>X-Origin-Verify</HeaderName><HeaderValue>&lt;new&gt;</HeaderValue>',
    );
    await expect(store.setHeaderValue(DISTRIBUTION_ID, 'x-origin-verify', '<new>')).resolves.toBe(false);
    expect(cloudfront.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  test('gives up after maxAttempts conflicting updates, with a retryable error', async () => {
    cloudfront.conflictsToInject = 5;
    const error = await store
      .setHeaderValue(DISTRIBUTION_ID, 'x-origin-verify', 'v')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudFrontApiError);
    expect(error).toMatchObject({ code: 'PreconditionFailed', status: 412, retryable: true });
    expect(cloudfront.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  test('reports an unknown distribution as a non-retryable CloudFront error', async () => {
    const error = await store.getHeaderValues('E0UNKNOWN', 'x-origin-verify').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NoSuchDistribution', status: 404, retryable: false });
    expect((error as Error).message).toBe(
      'CloudFront NoSuchDistribution (404): The specified distribution does not exist.',
    );
  });

  test('refuses something that is not a distribution id before calling CloudFront', async () => {
    await expect(store.getHeaderValues('../../etc', 'x-origin-verify')).rejects.toThrow(
      'not a CloudFront distribution id: ../../etc',
    );
    expect(cloudfront.requests).toHaveLength(0);
  });
});
