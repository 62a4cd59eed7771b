/**
 * What a person's password must be: long enough, not among the passwords people use most (the
 * list of the zxcvbn-ts project, some 49,000 of them, kept up to date there), not the user name.
 */
import { dictionary } from '@zxcvbn-ts/language-common';

const COMMON = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
/** Norwegian words people make passwords of, which an English list does not know. */
const NORWEGIAN = ['passord', 'hemmelig', 'sommer', 'vinter', 'fotball', 'kjæreste', 'velkommen', 'norge', 'oslo', 'bergen'];

export function passwordProblem(password: string, username: string, minLength: number): string | null {
  if (password.length < minLength) return `the password must have at least ${minLength} characters`;
  const plain = password.toLowerCase();
  const bare = plain.replace(/[\d\W_]+$/u, '').replace(/^[\d\W_]+/u, '');
  if (COMMON.has(plain) || COMMON.has(bare) || (NORWEGIAN.includes(bare) && bare.length >= plain.length - 4)) return 'the password is among the most common ones; choose another';
  if (plain.includes(username.toLowerCase())) return 'the password must not contain the user name';
  return null;
}
