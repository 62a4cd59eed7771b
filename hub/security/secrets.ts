/**
 * Passwords and tokens.
 *
 * People choose weak passwords, so theirs are stretched with scrypt. A device's password is 24
 * random bytes issued by the hub: guessing it is hopeless, so a salted SHA-256 suffices and keeps
 * a reconnect storm of thousands of devices (after a network outage) cheap for the broker.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

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

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltB64, hashB64] = stored.split('$');
  if (scheme !== 'scrypt' || !saltB64 || !hashB64) return false;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = await scryptAsync(password, Buffer.from(saltB64, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
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
