/**
 * The gateway's receipt signing key: Ed25519 (RFC 8032), because its signatures are small, its
 * verification needs no parameters to agree on, and OpenSSL 3 checks it with one command.
 * Made once in the data directory unless the configuration names a PEM file; the private key file
 * is written with mode 0600 and never replaced, since every receipt already given out depends on it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WaslError } from '../errors.js';
import { createPrivateFileOnce } from '../paths.js';
import { sha256Hex } from './sha256.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, as published at `/.well-known/wasl-receipt-key.pem`. */
  publicKeyPem: string;
  /** Lower-case hex SHA-256 of the raw 32-byte public key. */
  keyId: string;
}

export interface PublicKeyDescription {
  algorithm: 'Ed25519';
  keyId: string;
  publicKeyPem: string;
}

export const PUBLIC_KEY_WELL_KNOWN_PATH = '/.well-known/wasl-receipt-key.pem';

/** Where a key made by the gateway lives, relative to the data directory. */
export function defaultSigningKeyPaths(dataDir: string): { privateKeyPath: string; publicKeyPath: string } {
  const directory = join(dataDir, 'keys');
  return { privateKeyPath: join(directory, 'receipt-signing.key'), publicKeyPath: join(directory, 'receipt-signing.pub') };
}

/**
 * The configured key (`privateKeyPath`, a PKCS#8 PEM), or the one in `<dataDir>/keys/`, made on
 * first use. Two processes starting at once cannot both make it, nor read it half-written: the key
 * is written to a file of its own, then linked into place, which fails if a key is already there,
 * and the loser reads the winner's key.
 */
export function loadOrCreateSigningKey({ dataDir, privateKeyPath }: { dataDir: string; privateKeyPath?: string | undefined }): SigningKey {
  if (privateKeyPath) return signingKeyFromPem(readKeyFile(privateKeyPath));
  const paths = defaultSigningKeyPaths(dataDir);
  const existing = readIfPresent(paths.privateKeyPath);
  if (existing !== undefined) return signingKeyFromPem(existing);

  mkdirSync(dirname(paths.privateKeyPath), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let made: ReturnType<typeof createPrivateFileOnce>;
  try {
    made = createPrivateFileOnce(paths.privateKeyPath, pem);
  } catch (error) {
    throw keyError(paths.privateKeyPath, error);
  }
  if (!made.created) return signingKeyFromPem(made.content.toString('utf8'));
  const key = signingKeyFromPem(pem);
  writeFileSync(paths.publicKeyPath, key.publicKeyPem, { mode: 0o600 });
  return key;
}

/** A key read from PEM by `read`, refused unless it is Ed25519; `name` says which key in the error. */
function ed25519FromPem({ pem, read, name, unreadable }: { pem: string; read: (pem: string) => KeyObject; name: string; unreadable: string }): KeyObject {
  let key: KeyObject;
  try {
    key = read(pem);
  } catch (error) {
    throw new WaslError('evidence.key_invalid', unreadable, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new WaslError('evidence.key_invalid', `${name} must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export function signingKeyFromPem(privateKeyPem: string): SigningKey {
  const privateKey = ed25519FromPem({
    pem: privateKeyPem,
    read: createPrivateKey,
    name: 'the receipt signing key',
    unreadable: 'the receipt signing key is not a readable private key PEM',
  });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, ...describePublicKey(publicKey) };
}

/** A published public key (PEM), checked to be Ed25519. */
export function publicKeyFromPem(publicKeyPem: string): KeyObject {
  return ed25519FromPem({ pem: publicKeyPem, read: createPublicKey, name: 'the public key', unreadable: 'the public key is not a readable PEM' });
}

/** What `wasl key show` prints and what a verifier compares with a receipt's `keyId`. */
export function describePublicKey(publicKey: KeyObject): PublicKeyDescription {
  return {
    algorithm: 'Ed25519',
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * SHA-256 of the raw public key: the same value as
 * `openssl pkey -pubin -in key.pem -outform DER | tail -c 32 | sha256sum`.
 */
export function keyIdOf(publicKey: KeyObject): string {
  return sha256Hex(rawPublicKey(publicKey));
}

/** RFC 8410: an Ed25519 SubjectPublicKeyInfo ends with the 32 raw key bytes. */
function rawPublicKey(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyError(path, error);
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw keyError(path, error);
  }
}

function keyError(path: string, cause: unknown): WaslError {
  return new WaslError('evidence.key_unreadable', `the receipt signing key file ${path} cannot be read or written`, { cause, details: { path } });
}
