/** SHA-256 as lowercase hex: how the register, its chain and its receipts name bytes. */
import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
