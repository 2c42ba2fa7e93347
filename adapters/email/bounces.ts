/**
 * Reading a bounce (RFC 3464 DSN, or the free-text reports of older MTAs) for what concerns us:
 * which of our deliveries it is about, and whether it says the delivery failed. Pure functions.
 */
import { BOUNCE_PREFIX } from '../../src/routing/routing.js';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Our deliveries a returned message names: its envelope sender `bounce+<id>@domain` (VERP, kept
 * in the Return-Path of the returned copy) or our Message-ID `<wasl.<id>.<number>@domain>`.
 */
export function deliveriesNamedIn({ raw, domain }: { raw: Buffer; domain: string }): number[] {
  const text = raw.toString('latin1');
  const at = `@${escapeRegExp(domain)}`;
  const patterns = [new RegExp(`${escapeRegExp(BOUNCE_PREFIX)}(\\d{1,15})${at}\\b`, 'gi'), new RegExp(`<wasl\\.(\\d{1,15})\\.[^@<>\\s]{1,64}${at}>`, 'gi')];
  const found = new Set<number>();
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.add(Number(match[1]));
  return [...found].sort((a, b) => a - b);
}

export interface BounceReport {
  /** False for notices that the message was delayed, relayed or delivered (RFC 3464 §2.3.3). */
  failed: boolean;
  /** A short reason for the mail office: status code and diagnostic, or the report's first words. */
  reason: string;
}

const FIELD = (name: string) => new RegExp(`^${name}:[ \\t]*(.+(?:\\r?\\n[ \\t].+)*)`, 'gim');

export function readBounce({ raw, text }: { raw: Buffer; text: string }): BounceReport {
  const source = raw.toString('latin1');
  const actions = [...source.matchAll(FIELD('Action'))].map((match) => match[1]!.trim().toLowerCase());
  const failed = actions.length === 0 || actions.some((action) => action.startsWith('failed'));
  const status = FIELD('Status').exec(source)?.[1]?.trim();
  const diagnostic = FIELD('Diagnostic-Code').exec(source)?.[1]?.replace(/\s+/g, ' ').trim();
  const words = text.replace(/\s+/g, ' ').trim();
  const reason = [status && `Status: ${status}`, diagnostic && `Diagnostic-Code: ${diagnostic}`].filter(Boolean).join('; ') || words;
  return { failed, reason: (reason || 'returned without explanation').slice(0, 1000) };
}
