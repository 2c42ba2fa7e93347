/**
 * Bounces of our messages (delivery status notifications that say they failed, authenticated by
 * the channel): the delivery is failed after all, and the letter's history says so. No letter is
 * registered.
 */
import type { RegisterTx } from '../db/register-tx.js';
import type { DeliveryRow } from '../letters/letters.repository.js';
import { appendEvent, letterById } from '../letters/letters.repository.js';
import { deliveryById, markFailed } from './outbox.repository.js';

/**
 * Marks failed those of `deliveryIds` the relay had taken (status `sent`) and says which. Only a
 * message that left can bounce: a delivery still pending or being sent is never failed by mail
 * from outside (it would then never be sent), and one failed already keeps its first reason.
 */
export async function recordBounces(
  tx: RegisterTx,
  { deliveryIds, reason, at }: { deliveryIds: readonly number[]; reason: string; at: Date },
): Promise<{ deliveryId: number; number: string; channel: string; kind: DeliveryRow['kind'] }[]> {
  const marked: { deliveryId: number; number: string; channel: string; kind: DeliveryRow['kind'] }[] = [];
  for (const deliveryId of deliveryIds) {
    const delivery = await deliveryById(tx, deliveryId);
    if (delivery?.status !== 'sent') continue;
    await markFailed(tx, { id: delivery.id, at, errorCode: 'delivery.bounced', error: reason.slice(0, 1000) });
    await appendEvent(tx, {
      letterId: delivery.letterId,
      type: delivery.kind === 'receipt' ? 'receipt_undeliverable' : 'delivery_failed',
      at,
      departmentCode: delivery.departmentCode ?? undefined,
      detail: { delivery: delivery.id, code: 'delivery.bounced' },
    });
    marked.push({ deliveryId, number: (await letterById(tx, delivery.letterId))!.number, channel: delivery.channel, kind: delivery.kind });
  }
  return marked;
}
