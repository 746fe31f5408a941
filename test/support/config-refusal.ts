import { ConfigError, loadConfig } from '../../src/config/config.js';

/** The ConfigError `loadConfig(env)` refuses `env` with; fails the test when it accepts it or throws something else. */
export function configRefusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
