import { describe, expect, it } from 'vitest';
import { createReceiptAllowance } from '../../src/receipts/receipt-allowance.js';
import { temporaryRegister } from '../helpers/register-file.js';

function allowance(perHour: number) {
  return createReceiptAllowance({ db: temporaryRegister(), perHour });
}

const citizen = { channel: 'email', id: 'citizen@example.test' };
const start = new Date('2026-11-24T09:00:00Z');
const after = (minutes: number) => new Date(start.getTime() + minutes * 60_000);

describe('the per-sender receipt allowance', () => {
  it('lets ten receipts go in a row to one sender, then refuses the eleventh', () => {
    const cap = allowance(10);
    const answers = Array.from({ length: 11 }, () => cap.take(citizen, start));
    expect(answers.filter(Boolean)).toHaveLength(10);
    expect(answers[10]).toBe(false);
  });

  it('gives one receipt back for each tenth of an hour that passes, and never more than the cap', () => {
    const cap = allowance(10);
    for (let index = 0; index < 10; index += 1) cap.take(citizen, start);
    expect(cap.take(citizen, after(5))).toBe(false);
    expect(cap.take(citizen, after(6))).toBe(true);
    expect(cap.take(citizen, after(6))).toBe(false);
    const nextDay = Array.from({ length: 11 }, () => cap.take(citizen, after(24 * 60)));
    expect(nextDay.filter(Boolean)).toHaveLength(10);
  });

  it('counts each place on its own: another sender, or another thread of the same room', () => {
    const cap = allowance(1);
    expect(cap.take(citizen, start)).toBe(true);
    expect(cap.take(citizen, start)).toBe(false);
    expect(cap.take({ channel: 'email', id: 'company@example.test' }, start)).toBe(true);
    expect(cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$one' }, start)).toBe(true);
    expect(cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$two' }, start)).toBe(true);
    expect(cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$one' }, start)).toBe(false);
  });

  it('counts the subaddresses of one mailbox as one person, whatever their case', () => {
    const cap = allowance(2);
    expect(cap.take({ channel: 'email', id: 'victim+1@example.test' }, start)).toBe(true);
    expect(cap.take({ channel: 'email', id: 'Victim+2@Example.TEST' }, start)).toBe(true);
    expect(cap.take({ channel: 'email', id: 'VICTIM@example.test' }, start)).toBe(false);
    expect(cap.take({ channel: 'email', id: 'victim-3@example.test' }, start)).toBe(true);
  });
});
