/** A certificate authority of the test's own, and certificates it signs, made with the openssl command. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export type Ca = { dir: string; key: string; cert: string };

export function makeCa(dir: string, name = 'ca'): Ca {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=Test CA ${name}`]);
  return { dir, key, cert };
}

/** A certificate for `cn` signed by the CA; a server one carries localhost and 127.0.0.1. */
export function makeCert(ca: Ca, name: string, cn: string, opts: { server?: boolean; serial?: number } = {}): { key: string; cert: string } {
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const cert = join(ca.dir, `${name}.pem`);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(ext, opts.server ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(opts.serial ?? Date.now()), '-out', cert, '-days', '2', '-extfile', ext]);
  return { key, cert };
}

export const pem = (file: string) => readFileSync(file);
