import { production } from './production';
import { staging } from './staging';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  validateEnvironmentConfig,
} from './environment-config';

export * from './environment-config';

/** The raw, unvalidated configuration of every environment, as checked in. */
export const RAW_CONFIGS: Record<EnvironmentName, unknown> = { staging, production };

/**
 * Loads and validates one environment's configuration.
 * @throws ConfigValidationError naming the environment and every invalid field.
 */
export function loadEnvironmentConfig(name: string): EnvironmentConfig {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`Unknown environment '${name}': expected one of ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  const config = validateEnvironmentConfig(name, RAW_CONFIGS[name as EnvironmentName]);
  if (config.name !== name) {
    throw new Error(`Configuration for '${name}' declares name '${config.name}': they must match`);
  }
  return config;
}
