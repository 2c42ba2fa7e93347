import { ConfigError } from '../../src/config/config.load.js';

/** The problems a check of configuration or data reports; a check that passes fails the test. */
export function configProblems(check: () => unknown): string[] {
  try {
    check();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}
