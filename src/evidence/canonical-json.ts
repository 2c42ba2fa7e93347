/**
 * JSON Canonicalization Scheme (RFC 8785): the one byte form of a statement that is signed and
 * hashed, so that anyone can re-create the same bytes from the same facts.
 *
 * Written here rather than taken from npm: the maintained `canonicalize` package needs Node 22,
 * and the scheme is small because RFC 8785 defines it through ECMAScript itself: numbers and
 * strings are serialised exactly as `JSON.stringify` does (§3.2.2.2, §3.2.2.3), and object members
 * are sorted by their names' UTF-16 code units (§3.2.3), which is how `Array.prototype.sort`
 * compares strings by default.
 */
import { WaslError } from '../errors.js';

export function canonicalJson(value: unknown): string {
  return serialise(value, '$');
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** I-JSON (RFC 7493 §2.1) forbids lone surrogates; RFC 8785 §3.1 builds on I-JSON. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialise(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notCanonical(path, 'a number that is not finite');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return serialiseString(value, path);
  if (Array.isArray(value)) return `[${value.map((item, index) => serialise(item, `${path}[${index}]`)).join(',')}]`;
  if (isPlainObject(value)) {
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${members.map(([name, member]) => `${serialiseString(name, path)}:${serialise(member, `${path}.${name}`)}`).join(',')}}`;
  }
  // Dates, Buffers, Maps...: the caller decides their JSON form, so that the signed bytes never depend on a toJSON().
  throw notCanonical(path, `a value of type ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function serialiseString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw notCanonical(path, 'a string with a lone surrogate');
  return JSON.stringify(value);
}

function notCanonical(path: string, what: string): WaslError {
  return new WaslError('evidence.not_canonical', `${path} is ${what}, which has no canonical JSON form (RFC 8785)`, { details: { path } });
}
