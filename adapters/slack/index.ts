/**
 * The Slack channel: a slash command and a form to send letters, departments' letters posted to
 * their channels with buttons, and thread replies as answers. Its settings live under
 * `adapters.slack`; the secrets come only from the environment (README: adapters/slack/README.md).
 */
import { webApi } from '@slack/bolt';
import * as z from 'zod';
import { defineAdapter } from '../../src/channels/port.js';
import { isLanguage } from '../../src/templates/templates.js';
import { createSlackIntake } from './slack-intake.js';
import { createSlackSender } from './slack-outgoing.js';

const slackConfigSchema = z
  .strictObject({
    /** Turn the Slack channel off even when its secrets are set. */
    enabled: z.boolean().default(true),
    /** Signs every request Slack sends us (from WASL_SLACK_SIGNING_SECRET only). Needed over HTTP. */
    signingSecret: z.string().min(1).optional(),
    /** The bot's token, `xoxb-…` (from WASL_SLACK_BOT_TOKEN only). Without it the channel is off. */
    botToken: z.string().min(1).optional(),
    /** The app-level token, `xapp-…`, for Socket Mode (from WASL_SLACK_APP_TOKEN only). */
    appToken: z.string().min(1).optional(),
    /** Where the Web API lives (WASL_SLACK_API_URL): a proxy, or a local stand-in in tests. Ends with `/api/`. */
    apiUrl: z
      .url()
      .transform((url) => (url.endsWith('/') ? url : `${url}/`))
      .optional(),
    /** The slash command, as declared in the Slack app. */
    command: z
      .string()
      .regex(/^\/[\p{L}\p{N}_-]{1,31}$/u, 'a "/" then letters, digits, "_" or "-"')
      .default('/courrier'),
    /** The path Slack posts events, commands and interactivity to. */
    path: z.string().regex(/^\/[\w/-]*$/, 'an absolute path').default('/slack/events'),
    /** Null: Slack's requests arrive on the gateway's HTTP server. A number: on this port of their own (0 picks one). */
    port: z.number().int().min(0).max(65535).nullable().default(null),
    /** The address the own port listens on. */
    host: z.string().min(1).default('0.0.0.0'),
    /** Receive over Slack's WebSocket instead of HTTP (needs the app token): no public URL needed. */
    socketMode: z.boolean().default(false),
    /** Where receipts and answers to letters sent from Slack go: the person (app DM) or the conversation they wrote in. */
    replyTo: z.enum(['user', 'channel']).default('user'),
    /** Timeout of each call to Slack, in milliseconds. */
    requestTimeoutMs: z.number().int().min(100).default(10_000),
    /**
     * Largest request body taken at Slack's path, in bytes. Slack's payloads are a few kilobytes
     * (a full form stays well under 100 KB); a larger body is answered 413 and the connection
     * closed, before the body is read and before its signature can be checked.
     */
    maxBodyBytes: z.number().int().min(64 * 1024).default(1024 * 1024),
    /** Largest total size of the files of one letter sent from Slack, in bytes. */
    maxFileBytes: z.number().int().min(1024).default(25 * 1024 * 1024),
    /** How many letters `list` shows at most. */
    listLimit: z.number().int().min(1).max(100).default(20),
  })
  .prefault({})
  .superRefine((config, context) => {
    if (!config.enabled || !config.botToken) return;
    if (config.socketMode && !config.appToken) {
      context.addIssue({ code: 'custom', path: ['appToken'], message: 'Socket Mode needs the app token: set WASL_SLACK_APP_TOKEN' });
    }
    if (!config.socketMode && !config.signingSecret) {
      context.addIssue({ code: 'custom', path: ['signingSecret'], message: 'Slack requests cannot be verified: set WASL_SLACK_SIGNING_SECRET' });
    }
  });

export type SlackConfig = z.output<typeof slackConfigSchema>;

export const slackAdapter = defineAdapter({
  name: 'slack',
  configSchema: slackConfigSchema,
  environment: {
    WASL_SLACK_SIGNING_SECRET: { key: 'signingSecret', type: 'string' },
    WASL_SLACK_BOT_TOKEN: { key: 'botToken', type: 'string' },
    WASL_SLACK_APP_TOKEN: { key: 'appToken', type: 'string' },
    WASL_SLACK_API_URL: { key: 'apiUrl', type: 'string' },
    WASL_SLACK_SOCKET_MODE: { key: 'socketMode', type: 'boolean' },
    WASL_SLACK_PORT: { key: 'port', type: 'number' },
  },
  create({ config, settings, port, logger, http, now, lead }) {
    if (!config.enabled) return { off: 'adapters.slack.enabled is false' };
    const { botToken } = config;
    if (!botToken) return { off: 'no bot token (set WASL_SLACK_BOT_TOKEN)' };
    const language = isLanguage(settings.defaultLanguage) ? settings.defaultLanguage : 'en';
    // One attempt per call: the outbox retries with back-off (honouring Retry-After), and an
    // intake call that fails is answered at once instead of holding Slack's 3-second window.
    const client = new webApi.WebClient(botToken, {
      ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: config.requestTimeoutMs,
      logLevel: webApi.LogLevel.ERROR,
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: (...message: unknown[]) => logger.debug({ phase: 'slack.webapi' }, message.map(String).join(' ')),
        error: (...message: unknown[]) => logger.warn({ phase: 'slack.webapi' }, message.map(String).join(' ')),
        setLevel: () => undefined,
        getLevel: () => webApi.LogLevel.ERROR,
        setName: () => undefined,
      },
    });
    const intake = createSlackIntake({ config: { ...config, botToken }, port, http, client, language, logger, now });
    const sender = createSlackSender({ client, port, language, logger });
    // Requests over HTTP come to every gateway (a load balancer spreads them); the socket to one.
    if (intake.socketMode) lead('socket-mode', intake.socketMode);
    return {
      name: 'slack',
      async start() {
        await intake.start();
        const where = config.socketMode ? 'Socket Mode, from the gateway that holds its lease' : config.port === null ? `${settings.publicUrl}${config.path}` : `port ${intake.listeningPort}${config.path}`;
        logger.info({ phase: 'start', command: config.command, where }, 'Slack channel listening');
      },
      stop: () => intake.stop(),
      send: (message) => sender.send(message),
      get listeningPort() {
        return intake.listeningPort;
      },
    };
  },
});
