/**
 * Reading a delivery status notification (RFC 3464) for what concerns us: whether it says a
 * delivery failed, why, and which message it returns. Only a real DSN counts: anyone can write
 * "Undeliverable" in a subject, so free-text reports are never acted on. One pass over the
 * message, whatever the number of addresses it was sent to. Pure functions.
 */

/**
 * How many bounce addresses one message may be sent to. A DSN needs one (it goes to the one
 * envelope sender of the message it returns, RFC 3464 §2), but a server must take 100 recipients
 * in a message (RFC 5321 §4.5.3.1.8); beyond that, 452 (§4.5.3.1.10).
 */
export const MAX_BOUNCE_RECIPIENTS = 100;

export interface DeliveryStatusNotice {
  /** A recipient's `Action` is `failed`; `delayed`, `delivered`, `relayed` and `expanded` change nothing (RFC 3464 §2.3.3). */
  failed: boolean;
  /** A short reason for the mail office: the failed recipient's status and diagnostic. */
  reason: string;
  /** Header fields of the returned message (`message/rfc822` or `text/rfc822-headers`), when the notice has one. */
  returned: { messageId?: string | undefined; returnPath?: string | undefined } | undefined;
}

/** Splits an entity at its first empty line: header fields, then body. */
function splitEntity(text: string): { head: string; body: string } {
  const blank = /\r?\n\r?\n/.exec(text);
  if (!blank) return { head: text, body: '' };
  return { head: text.slice(0, blank.index), body: text.slice(blank.index + blank[0].length) };
}

/** Header fields (or DSN fields, which share their syntax) unfolded, by lower-case name; the first of each name wins. */
function fieldsOf(head: string): Map<string, string> {
  const fields = new Map<string, string>();
  let name: string | undefined;
  let value = '';
  const keep = () => {
    if (name !== undefined && !fields.has(name)) fields.set(name, value.trim());
  };
  for (const line of head.split(/\r?\n/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && name !== undefined) {
      value += ` ${line.trim()}`;
      continue;
    }
    keep();
    const colon = line.indexOf(':');
    name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : undefined;
    value = colon > 0 ? line.slice(colon + 1) : '';
  }
  keep();
  return fields;
}

/** A Content-Type's type (lower case) and parameters (names in lower case). */
function contentTypeOf(fields: Map<string, string>): { type: string; params: Map<string, string> } {
  const header = fields.get('content-type') ?? 'text/plain';
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  const params = new Map<string, string>();
  for (const match of header.slice(semicolon + 1).matchAll(/([^\s=;]+)\s*=\s*(?:"([^"]*)"|([^\s;]*))/g)) {
    params.set(match[1]!.toLowerCase(), match[2] ?? match[3] ?? '');
  }
  return { type, params };
}

/** The body parts of a multipart, between its delimiter lines (RFC 2046 §5.1.1). */
function partsOf(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(`\n${delimiter}`) + 1;
  if (at === 0 && !body.startsWith(delimiter)) return parts;
  for (;;) {
    const after = at + delimiter.length;
    const lineEnd = body.indexOf('\n', after);
    // The close delimiter (`--boundary--`) ends the parts, and so does a message cut short.
    if (body.startsWith('--', after) || lineEnd === -1) break;
    const next = body.indexOf(`\n${delimiter}`, lineEnd);
    parts.push(body.slice(lineEnd + 1, next === -1 ? body.length : next).replace(/\r$/, ''));
    if (next === -1) break;
    at = next + 1;
  }
  return parts;
}

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers']);

/** A field value as one line of printable text (it comes from outside and is shown to the mail office). */
const oneLine = (value: string | undefined) => value?.replace(/[\s\p{Cc}]+/gu, ' ').trim();

/**
 * The DSN a message is, or undefined when it is not one: a `multipart/report;
 * report-type=delivery-status` (RFC 6522) with a `message/delivery-status` part (RFC 3464).
 */
export function readDeliveryStatus(raw: Buffer): DeliveryStatusNotice | undefined {
  const { head, body } = splitEntity(raw.toString('latin1'));
  const contentType = contentTypeOf(fieldsOf(head));
  const boundary = contentType.params.get('boundary');
  if (contentType.type !== 'multipart/report' || contentType.params.get('report-type')?.toLowerCase() !== 'delivery-status' || !boundary) return undefined;

  let recipients: Map<string, string>[] | undefined;
  let returned: DeliveryStatusNotice['returned'];
  for (const part of partsOf(body, boundary)) {
    const entity = splitEntity(part);
    const { type } = contentTypeOf(fieldsOf(entity.head));
    if (DELIVERY_STATUS.has(type) && !recipients) {
      // Per-message fields first, then one group per recipient, each ended by an empty line; only the latter have an Action.
      recipients = entity.body
        .split(/\r?\n[ \t]*\r?\n/)
        .map(fieldsOf)
        .filter((fields) => fields.has('action'));
    } else if (RETURNED.has(type) && !returned) {
      const fields = fieldsOf(splitEntity(entity.body).head);
      returned = { messageId: fields.get('message-id'), returnPath: fields.get('return-path') };
    }
  }
  if (!recipients) return undefined;
  const failure = recipients.find((fields) => /^failed\b/i.test(fields.get('action')!));
  const status = oneLine(failure?.get('status'));
  const diagnostic = oneLine(failure?.get('diagnostic-code'));
  const reason = [status && `Status: ${status}`, diagnostic && `Diagnostic-Code: ${diagnostic}`].filter(Boolean).join('; ');
  return { failed: failure !== undefined, reason: (reason || 'returned without explanation').slice(0, 1000), returned };
}

/** Which of our deliveries a returned message is, by its Message-ID and by its Return-Path. */
export interface ReturnedDelivery {
  /** From our Message-ID `<wasl.<id>.<number>@domain>` (to-native.ts `messageIdFor`): anyone can write one, so it only confirms. */
  byMessageId: number | undefined;
  /** From its Return-Path, our VERP address, whose token `deliveryOfAddress` has checked: this one authenticates. */
  byReturnPath: number | undefined;
}

export function returnedDelivery({
  notice,
  domain,
  deliveryOfAddress,
}: {
  notice: DeliveryStatusNotice;
  domain: string;
  deliveryOfAddress: (address: string) => number | undefined;
}): ReturnedDelivery {
  const messageId = /^<wasl\.(\d{1,15})\.[^@<>\s]{1,64}@([^@<>\s]+)>$/i.exec(notice.returned?.messageId ?? '');
  const returnPath = /^<([^<>\s]+)>$/.exec(notice.returned?.returnPath ?? '');
  return {
    byMessageId: messageId && messageId[2]!.toLowerCase() === domain.toLowerCase() ? Number(messageId[1]) : undefined,
    byReturnPath: returnPath ? deliveryOfAddress(returnPath[1]!) : undefined,
  };
}
