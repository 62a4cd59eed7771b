import type { Db } from './db.ts';

/**
 * The ids that may have a row of some kind (a device's active alarm, its open chain test): all
 * that had one when the table was last read whole, and every id written with one since. A
 * superset of the truth: "no" is certain and costs no query (most heartbeats); "maybe" asks the
 * table. The table is read whole again only outside a transaction, where what it reads is
 * committed: inside one, a rollback could take back a change it saw.
 */
export class PossibleIds {
  private ids: Set<string>;

  constructor(private readonly db: Db, private readonly load: () => readonly string[]) {
    this.ids = new Set(load());
  }

  /** Called by every write that gives `id` such a row, before or in its transaction. */
  add(id: string | null): void {
    if (id !== null) this.ids.add(id);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Forgets the ids whose rows are gone. False (and nothing changed) inside a transaction. */
  refresh(): boolean {
    if (this.db.inTransaction) return false;
    this.ids = new Set(this.load());
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}
