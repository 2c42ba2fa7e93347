/** The one place the core learns which channel adapters exist. */
import { emailAdapter } from '../../adapters/email/index.js';
import { matrixAdapter } from '../../adapters/matrix/index.js';
import { slackAdapter } from '../../adapters/slack/index.js';
import type { AdapterDefinition } from './port.js';

export const adapterDefinitions: readonly AdapterDefinition[] = [emailAdapter, slackAdapter, matrixAdapter];
