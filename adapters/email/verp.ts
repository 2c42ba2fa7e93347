/**
 * VERP (variable envelope return path): each delivery leaves with an envelope sender of its own,
 * `bounce+<token>@domain`, so a bounce names the delivery it is about. The token is made with the
 * gateway's secret: only a bounce sent to an address we made can name one of our deliveries, so a
 * bare sequential id is not enough to mark someone else's letter undeliverable.
 */
import type { IdTokens } from '../../src/channels/port.js';

/** A local-part prefix of the addresses the gateway makes itself (RFC 5233 subaddressing). */
export const BOUNCE_PREFIX = 'bounce+';

/** What the tokens are made for: the label earlier versions used, so messages in flight at an upgrade still bounce home. */
export const VERP_PURPOSE = 'verp';

export interface Verp {
  /** The envelope sender of what a delivery sends. */
  addressOf(deliveryId: number): string;
  /** The delivery an address of ours names, or undefined for any other address (a forged token among them). */
  deliveryOf(address: string): number | undefined;
}

export function createVerp({ tokens, domain }: { tokens: IdTokens; domain: string }): Verp {
  const suffix = `@${domain.toLowerCase()}`;
  return {
    addressOf: (deliveryId) => `${BOUNCE_PREFIX}${tokens.tokenFor(deliveryId)}@${domain}`,
    deliveryOf(address) {
      const normalized = address.trim().toLowerCase();
      if (!normalized.startsWith(BOUNCE_PREFIX) || !normalized.endsWith(suffix)) return undefined;
      return tokens.idOf(normalized.slice(BOUNCE_PREFIX.length, -suffix.length));
    },
  };
}
