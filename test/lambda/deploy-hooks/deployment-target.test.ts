import { AppSpecError, isSameFunction, parseAppSpec } from '../../../lambda/deploy-hooks/deployment-target';

const spec = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 0.0,
    Resources: [{ fn: { Type: 'AWS::Lambda::Function', Properties: properties }, ...extra }],
  });

describe('AppSpec of a Lambda deployment', () => {
  test('reads name, alias, current and target version', () => {
    expect(
      parseAppSpec(spec({ Name: 'api', Alias: 'live', CurrentVersion: '3', TargetVersion: '4' })),
    ).toEqual({
      Name: 'api',
      Alias: 'live',
      CurrentVersion: '3',
      TargetVersion: '4',
    });
  });

  test('refuses a version that is not a published version number', () => {
    expect(() =>
      parseAppSpec(spec({ Name: 'api', Alias: 'live', CurrentVersion: '3', TargetVersion: '$LATEST' })),
    ).toThrow(/must be a published version number, got '\$LATEST'/);
  });

  test('refuses an AppSpec without the target, or with two functions', () => {
    expect(() => parseAppSpec(spec({ Name: 'api', Alias: 'live', CurrentVersion: '3' }))).toThrow(
      AppSpecError,
    );
    const two = spec(
      { Name: 'api', Alias: 'live', CurrentVersion: '3', TargetVersion: '4' },
      { other: { Properties: { Name: 'b', Alias: 'live', CurrentVersion: '1', TargetVersion: '2' } } },
    );
    expect(() => parseAppSpec(two)).toThrow(/must name one function/);
  });

  test('refuses text that is neither JSON nor YAML', () => {
    expect(() => parseAppSpec('Resources: [unclosed')).toThrow(/neither JSON nor YAML/);
  });

  test('matches the function by name or by ARN, never by prefix', () => {
    expect(isSameFunction('api', 'api')).toBe(true);
    expect(isSameFunction('arn:aws:lambda:eu-west-1:111111111111:function:api', 'api')).toBe(true);
    expect(isSameFunction('api-old', 'api')).toBe(false);
    expect(isSameFunction('arn:aws:lambda:eu-west-1:111111111111:function:xapi', 'api')).toBe(false);
  });
});
