/**
 * Passwords and tokens.
 *
 * People choose weak passwords, so theirs are stretched with scrypt. A device's password is 24
 * random bytes issued by the hub: guessing it is hopeless, so a salted SHA-256 suffices and keeps
 * a reconnect storm of thousands of devices (after a network outage) cheap for the broker.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number, opts?: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/**
 * scrypt's cost: N = 2^logN, block size r, parallelism p. The default follows current advice
 * (N = 2^17, r = 8, p = 1: 128 MiB and about a third of a second here per hash). A stored hash
 * with other parameters is replaced at the next sign-in.
 */
export type ScryptParams = { logN: number; r: number; p: number };
export const DEFAULT_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 };
/** Hashes made before the parameters were stored with them used Node's defaults. */
const LEGACY_SCRYPT: ScryptParams = { logN: 14, r: 8, p: 1 };
const maxmem = (c: ScryptParams) => 256 * 2 ** c.logN * c.r + 1024 * 1024;

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Short, readable id: a prefix and 10 characters from an alphabet without look-alikes. */
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
export function shortId(prefix: string): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}-${s}`;
}

export async function hashPassword(password: string, c: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, { N: 2 ** c.logN, r: c.r, p: c.p, maxmem: maxmem(c) });
  return `scrypt$${c.logN}$${c.r}$${c.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The parameters and parts of a stored hash: `scrypt$logN$r$p$salt$hash`, or the older `scrypt$salt$hash`. */
function parse(stored: string): { c: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const parts = stored.split('$');
  if (parts[0] !== 'scrypt') return null;
  if (parts.length === 3) return { c: LEGACY_SCRYPT, salt: Buffer.from(parts[1] as string, 'base64'), hash: Buffer.from(parts[2] as string, 'base64') };
  if (parts.length !== 6) return null;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((x) => Number.isInteger(x) && x > 0) || logN > 22) return null;
  return { c: { logN, r, p }, salt: Buffer.from(parts[4] as string, 'base64'), hash: Buffer.from(parts[5] as string, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h || h.hash.length === 0) return false;
  const actual = await scryptAsync(password, h.salt, h.hash.length, { N: 2 ** h.c.logN, r: h.c.r, p: h.c.p, maxmem: maxmem(h.c) });
  return timingSafeEqual(actual, h.hash);
}

/** Whether a stored hash was made with other parameters than `c` (then it is replaced at sign-in). */
export function needsRehash(stored: string, c: ScryptParams): boolean {
  const h = parse(stored);
  return !h || h.c.logN !== c.logN || h.c.r !== c.r || h.c.p !== c.p;
}

export function hashDeviceSecret(secret: string, salt: string): string {
  return createHash('sha256').update(salt).update('\0').update(secret).digest('base64');
}

export function verifyDeviceSecret(secret: string, salt: string, stored: string): boolean {
  const a = Buffer.from(hashDeviceSecret(secret, salt), 'base64');
  const b = Buffer.from(stored, 'base64');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SHA-256 of a text, base64url. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Session tokens are kept only as their SHA-256, so a copy of the database opens no session. */
export const tokenHash = sha256;

/** Identifies an event's content, so a true retry can be told from a reused id. */
export const contentHash = sha256;
