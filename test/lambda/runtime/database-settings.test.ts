import { databaseSettingsFromEnv } from '../../../lambda/runtime/database-settings';

describe('database settings from the environment', () => {
  const env = {
    DB_PROXY_ENDPOINT: 'proxy.example',
    DB_NAME: 'shipshape',
    DB_USER: 'app',
    AWS_REGION: 'eu-west-1',
  };

  test('reads the proxy, database and user the construct sets, defaulting the port to 5432', () => {
    expect(databaseSettingsFromEnv(env)).toEqual({ ...env, DB_PORT: 5432 });
    expect(databaseSettingsFromEnv({ ...env, DB_PORT: '6432' }).DB_PORT).toBe(6432);
  });

  test('fails naming every missing variable', () => {
    expect(() => databaseSettingsFromEnv({ AWS_REGION: 'eu-west-1' })).toThrow(
      /database settings:[\s\S]*DB_PROXY_ENDPOINT[\s\S]*DB_NAME[\s\S]*DB_USER/,
    );
  });
});
