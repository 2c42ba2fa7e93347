/**
 * The Matrix channel: a bot account that takes letters with `!courrier send`, posts each
 * department's letters in its room, and turns replies in those threads into answers.
 * Its settings live under `adapters.matrix`; the secrets come from the environment.
 */
import * as z from 'zod';
import { defineAdapter } from '../../src/channels/port.js';
import { connectHomeserver } from './homeserver.js';
import { createMatrixIntake } from './intake.js';
import { createMatrixSender } from './outgoing.js';
import { botLanguage } from './to-native.js';

const matrixConfigSchema = z
  .strictObject({
    /** Turn the Matrix channel off even when it has settings. */
    enabled: z.boolean().default(true),
    /** The bot's homeserver, e.g. https://matrix.example.org (from WASL_MATRIX_HOMESERVER_URL). */
    homeserverUrl: z.url().optional(),
    /** The bot account, e.g. @courrier:example.org (from WASL_MATRIX_USER_ID). */
    userId: z
      .string()
      .regex(/^@[^:\s]+:\S+$/, 'a Matrix user id such as @courrier:example.org')
      .optional(),
    /** The bot's access token: set it through WASL_MATRIX_ACCESS_TOKEN, never in a committed file. */
    accessToken: z.string().min(1).optional(),
    /**
     * Who may invite the bot into a room: user ids (@alice:example.org) or whole servers
     * (example.org). Invitations into a department's own room are always accepted.
     */
    allowedInviters: z.array(z.string().min(1)).default([]),
    /** The word that starts a command in a message: `!courrier send RH Subject`. */
    commandPrefix: z
      .string()
      .regex(/^\S+$/, 'one word without spaces')
      .default('!courrier'),
    /**
     * Events per room one sync brings at most: at start, the messages sent while the gateway was
     * stopped; when running, a burst of messages between two syncs. Beyond it the homeserver leaves
     * a gap (the bot logs a warning).
     */
    syncTimelineLimit: z.number().int().min(10).max(1000).default(100),
    /** Largest file taken from a message, in bytes; a larger one makes the letter refused. */
    maxAttachmentBytes: z.number().int().min(1024).default(25 * 1024 * 1024),
    /** How long one request to the homeserver may take, in milliseconds. */
    requestTimeoutMs: z.number().int().min(1000).default(30_000),
  })
  .prefault({});

export type MatrixConfig = z.output<typeof matrixConfigSchema>;

export const matrixAdapter = defineAdapter({
  name: 'matrix',
  configSchema: matrixConfigSchema,
  environment: {
    WASL_MATRIX_HOMESERVER_URL: { key: 'homeserverUrl', type: 'string' },
    WASL_MATRIX_USER_ID: { key: 'userId', type: 'string' },
    WASL_MATRIX_ACCESS_TOKEN: { key: 'accessToken', type: 'string' },
  },
  create({ config, settings, port, logger, lead }) {
    if (!config.enabled) return { off: 'adapters.matrix.enabled is false' };
    const { homeserverUrl, userId, accessToken } = config;
    const missing = [
      homeserverUrl ? undefined : 'WASL_MATRIX_HOMESERVER_URL',
      userId ? undefined : 'WASL_MATRIX_USER_ID',
      accessToken ? undefined : 'WASL_MATRIX_ACCESS_TOKEN',
    ].filter((name) => name !== undefined);
    if (!homeserverUrl || !userId || !accessToken) return { off: `no Matrix bot account configured (missing ${missing.join(', ')})` };

    const language = botLanguage(settings.defaultLanguage);
    const homeserver = connectHomeserver({
      homeserverUrl,
      userId,
      accessToken,
      requestTimeoutMs: config.requestTimeoutMs,
      maxAttachmentBytes: config.maxAttachmentBytes,
      logger,
    });
    const intake = createMatrixIntake({ homeserver, config: { ...config, userId }, settings, port, logger, language });
    const sender = createMatrixSender({ homeserver, language, onDelivered: intake.homeserverAnswered });
    // Every sync hears every event of the bot's rooms: two gateways syncing would each handle each
    // message (the register would keep one letter, but both would fetch its files and race to answer).
    lead('sync', intake);
    return {
      name: 'matrix',
      async start() {
        logger.info({ phase: 'start', homeserver: homeserverUrl, user: userId }, 'Matrix bot started: it syncs from the gateway that holds its lease, and sends from every one');
      },
      // The sync, its intake, is stopped by the gateway with the lease.
      stop: async () => undefined,
      send: sender.send,
    };
  },
});
