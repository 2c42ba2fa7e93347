/**
 * A bounce of one of our messages, recognised by its VERP address: the delivery is failed after
 * all (the relay had accepted it), and the letter's history says so. No letter is registered.
 */
import { inTransaction, type Db } from '../db/db.js';
import { appendEvent, letterById } from '../letters/letters.repository.js';
import { deliveryById, markFailed } from './outbox.repository.js';

export function recordBounce(db: Db, { deliveryId, reason, at }: { deliveryId: number; reason: string; at: Date }): { number: string } | undefined {
  return inTransaction(db, () => {
    const delivery = deliveryById(db, deliveryId);
    if (!delivery || delivery.status === 'failed') return delivery ? { number: letterById(db, delivery.letterId)!.number } : undefined;
    markFailed(db, { id: delivery.id, at, errorCode: 'delivery.bounced', error: reason.slice(0, 1000) });
    appendEvent(db, {
      letterId: delivery.letterId,
      type: delivery.kind === 'receipt' ? 'receipt_undeliverable' : 'delivery_failed',
      at,
      departmentCode: delivery.departmentCode ?? undefined,
      detail: { delivery: delivery.id, code: 'delivery.bounced' },
    });
    return { number: letterById(db, delivery.letterId)!.number };
  });
}
