/** The operational store's group commit, on a real SQLite file. */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../hub/store/db.ts';
import { GroupCommitWriter } from '../../hub/store/writer.ts';
import { tempDir } from '../helpers/hub.ts';

const dir = tempDir('store-');
const db = openDatabase(dir);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('commits a burst in one transaction; a failing write fails alone and leaves nothing behind', async () => {
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const writer = new GroupCommitWriter(db);
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const results = await Promise.allSettled([
      writer.run(() => insert.run('a').changes),
      writer.run(() => { insert.run('b'); throw new Error('boom'); }),
      writer.run(() => insert.run('a').changes), // primary key taken
      writer.run(() => insert.run('c').changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('boom');
    expect((db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k)).toEqual(['a', 'c']);
  });

  it('resolves only after the commit, and gathers writes for its window', async () => {
    db.exec('CREATE TABLE w (k INTEGER)');
    const writer = new GroupCommitWriter(db, 100);
    const start = Date.now();
    const seen: number[] = [];
    const done = Promise.all([1, 2, 3].map((k) => writer.run(() => db.prepare('INSERT INTO w (k) VALUES (?)').run(k)).then(() => {
      seen.push((db.prepare('SELECT count(*) AS n FROM w').get() as { n: number }).n);
    })));
    expect((db.prepare('SELECT count(*) AS n FROM w').get() as { n: number }).n).toBe(0);
    await done;
    expect(Date.now() - start).toBeGreaterThanOrEqual(90);
    expect(seen).toEqual([3, 3, 3]);
  });

  it('syncs a batch to disk unless every write in it may wait; the connection is back to FULL after', async () => {
    db.exec('CREATE TABLE s (k INTEGER)');
    const writer = new GroupCommitWriter(db);
    const mode = () => db.pragma('synchronous', { simple: true }) as number; // 1 NORMAL, 2 FULL
    const during: number[] = [];
    const seenBy = (k: number, durable: boolean) => writer.run(() => { db.prepare('INSERT INTO s (k) VALUES (?)').run(k); during.push(mode()); }, { durable });
    await Promise.all([seenBy(1, false), seenBy(2, false)]);
    await Promise.all([seenBy(3, false), seenBy(4, true)]);
    await seenBy(5, true);
    expect(during).toEqual([1, 1, 2, 2, 2]);
    expect(mode()).toBe(2);
    expect((db.prepare('SELECT count(*) AS n FROM s').get() as { n: number }).n).toBe(5);
  });
});
