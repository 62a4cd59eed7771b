/**
 * The municipality's certificate and key for MQTT over TLS and HTTPS, read from PEM files and
 * read again when they change (a renewed certificate is taken without a restart; open
 * connections keep the one they have).
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import type { TlsMaterial } from '../broker/broker.ts';
import type { Config } from './config.ts';

export function readTls(t: NonNullable<Config['tls']>): TlsMaterial {
  return { cert: readFileSync(t.certFile), key: readFileSync(t.keyFile), ...(t.clientCaFile ? { ca: readFileSync(t.clientCaFile) } : {}) };
}

/** Calls `apply` with the new material whenever a file changes; returns a function that stops watching. */
export function watchTls(t: NonNullable<Config['tls']>, log: Logger, apply: (m: TlsMaterial) => void, intervalMs = 1000): () => void {
  const files = [t.certFile, t.keyFile, ...(t.clientCaFile ? [t.clientCaFile] : [])];
  let pending: NodeJS.Timeout | null = null;
  const changed = () => {
    // Certificate and key are often written one after the other: read them once both settled.
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      try {
        apply(readTls(t));
        log.info({ cert: t.certFile }, 'tls: certificate reloaded');
      } catch (err) {
        log.error({ err, cert: t.certFile }, 'tls: could not reload the certificate; keeping the one in use');
      }
    }, 200);
  };
  for (const f of files) watchFile(f, { interval: intervalMs }, (cur, prev) => { if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) changed(); });
  return () => {
    if (pending) clearTimeout(pending);
    for (const f of files) unwatchFile(f);
  };
}
