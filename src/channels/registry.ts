/** The one place the core learns which channel adapters exist. */
import { emailAdapter } from '../../adapters/email/index.js';
import { matrixAdapter } from '../../adapters/matrix/index.js';
import { slackAdapter } from '../../adapters/slack/index.js';
import type { AdapterDefinition } from './port.js';

export const adapterDefinitions: readonly AdapterDefinition[] = [emailAdapter as unknown as AdapterDefinition, slackAdapter as unknown as AdapterDefinition, matrixAdapter as unknown as AdapterDefinition];
