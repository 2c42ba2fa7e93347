/**
 * Posts what the outbox hands over: forwards into a department's room (a notice that starts a
 * thread, the files in that thread), receipts and answers into the sender's thread. Each event has
 * a transaction id derived from the delivery, so a retried delivery never posts twice.
 */
import type { Language } from '../../src/config/config.schema.js';
import type { OutboundMessage, SendResult } from '../../src/channels/port.js';
import { WaslError } from '../../src/errors.js';
import type { Homeserver } from './homeserver.js';
import { fileContent, outboundNotice, transactionId } from './to-native.js';

export function createMatrixSender({ homeserver, language, onDelivered }: { homeserver: Homeserver; language: Language; onDelivered: () => void }) {
  async function send(message: OutboundMessage): Promise<SendResult> {
    const roomId = message.to.id;
    // Without the SDK's crypto the bot cannot encrypt: posting in clear into an encrypted room would leak the letter.
    if (await homeserver.isEncrypted(roomId)) {
      throw new WaslError('matrix.room_encrypted', `room ${roomId} is encrypted; the bot posts only in unencrypted rooms`);
    }
    const eventId = await homeserver.sendEvent({
      roomId,
      content: outboundNotice({ message, language }),
      txnId: transactionId({ deliveryId: message.deliveryId, part: 'message' }),
    });
    const thread = message.to.thread ?? eventId;
    for (const [index, attachment] of message.attachments.entries()) {
      const mxc = await homeserver.upload(attachment);
      await homeserver.sendEvent({ roomId, content: fileContent({ attachment, mxc, thread }), txnId: transactionId({ deliveryId: message.deliveryId, part: index }) });
    }
    onDelivered();
    return { externalId: eventId };
  }

  return { send };
}
