/**
 * Reading a hook's settings from its environment: every missing or invalid value throws an
 * error naming the variable, which the hook then reports as Failed (never a hang).
 * No CDK imports: bundled into the hook Lambdas.
 */

/** Accessors over `process.env` (or `env`) that validate as they read. */
export function envSettings(env: NodeJS.ProcessEnv = process.env) {
  const optional = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    optional,
    required(name: string): string {
      const value = optional(name);
      if (value === undefined) {
        throw new Error(`environment variable ${name} is not set (the construct sets it at synth time)`);
      }
      return value;
    },
    optionalInt(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
      const value = optional(name);
      if (value === undefined) return undefined;
      const number = Number(value);
      if (!Number.isInteger(number) || number < min || number > max) {
        throw new Error(
          `environment variable ${name} must be a whole number from ${min} to ${max}, got '${value}'`,
        );
      }
      return number;
    },
  };
}

/** A test's settings (a value or a reader), else `fromEnv`: always a reader, run inside the guard. */
export function settingsReader<S>(override: S | (() => S) | undefined, fromEnv: () => S): () => S {
  if (override === undefined) return fromEnv;
  return typeof override === 'function' ? (override as () => S) : () => override;
}
