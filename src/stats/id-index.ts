/**
 * Strings given small numbers, each string kept once: the ids that items refer to
 * by (a session's gym, an attempt's problem) are held once however many refer.
 */
export class Interner {
  private readonly numbers = new Map<string, number>();
  private readonly strings: string[] = [];

  number(s: string): number {
    let n = this.numbers.get(s);
    if (n === undefined) {
      n = this.strings.length;
      this.strings.push(s);
      this.numbers.set(s, n);
    }
    return n;
  }

  /** The number of a string already seen, without adding it. */
  find(s: string): number | undefined {
    return this.numbers.get(s);
  }

  string(n: number): string {
    return this.strings[n]!;
  }

  /** The string as kept, so that equal ids share one copy. */
  shared(s: string): string {
    return this.strings[this.number(s)]!;
  }

  get size(): number {
    return this.strings.length;
  }
}

const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPPER_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const EMPTY = 0;
const REMOVED = -1;

/**
 * Row numbers by id for a table of a quarter of a million rows. The apps make
 * UUIDs; one kept as a string in a Map costs about 90 bytes, as its 16 bytes in a
 * typed array with an open-addressing slot about 24. Ids of any other form (and
 * UUIDs in mixed case, whose case must survive) go to an ordinary Map.
 */
export class RowIndex {
  /** Per row: the UUID's four words, and its form (0 other, 1 lower case, 2 upper case). */
  private words = new Uint32Array(0);
  private forms = new Uint8Array(0);
  /** Open addressing, linear probing: row + 1, EMPTY, or REMOVED. */
  private slots = new Int32Array(16);
  private usedSlots = 0;
  private readonly others = new Map<string, number>();
  private readonly key = new Uint32Array(4);
  /** The id whose words `key` holds: a lookup and then an add read the same id. */
  private keyOf: string | undefined;
  private keyForm = 0;

  /** Makes room for rows below `rows`. */
  reserve(rows: number): void {
    if (rows <= this.forms.length) return;
    const words = new Uint32Array(rows * 4);
    words.set(this.words);
    const forms = new Uint8Array(rows);
    forms.set(this.forms);
    this.words = words;
    this.forms = forms;
    if (this.slots.length < rows * 2) this.rehash(rows);
  }

  get(id: string): number {
    const form = this.read(id);
    if (form === 0) return this.others.get(id) ?? -1;
    const slot = this.slotOf(form);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  /** Records a new id at `row` (below the reserved size). */
  add(id: string, row: number): void {
    const form = this.read(id);
    if (form === 0) {
      this.forms[row] = 0;
      this.others.set(id, row);
      return;
    }
    this.forms[row] = 0; // kept out of a rehash until placed below
    if ((this.usedSlots + 1) * 2 > this.slots.length) this.rehash(this.usedSlots + 1);
    this.words.set(this.key, row * 4);
    this.forms[row] = form;
    this.place(row);
  }

  delete(id: string): void {
    const form = this.read(id);
    if (form === 0) this.others.delete(id);
    else {
      const slot = this.slotOf(form);
      if (slot < 0) return;
      this.forms[this.slots[slot]! - 1] = 0;
      this.slots[slot] = REMOVED;
    }
  }

  /** Moves every kept row to `moved[row]` (-1: gone), as the table compacts. */
  renumber(moved: Int32Array, rows: number): void {
    const words = new Uint32Array(Math.max(rows, 1) * 4);
    const forms = new Uint8Array(Math.max(rows, 1));
    for (let old = 0; old < moved.length; old++) {
      const row = moved[old]!;
      if (row < 0) continue;
      words.set(this.words.subarray(old * 4, old * 4 + 4), row * 4);
      forms[row] = this.forms[old]!;
    }
    for (const [id, old] of this.others) this.others.set(id, moved[old]!);
    this.words = words;
    this.forms = forms;
    this.rehash(rows);
  }

  private rehash(entries: number): void {
    let size = 16;
    while (size < entries * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.usedSlots = 0;
    for (let row = 0; row < this.forms.length; row++) {
      if (this.forms[row] !== 0) this.place(row);
    }
  }

  private place(row: number): void {
    const mask = this.slots.length - 1;
    let slot = hash(this.words, row * 4, this.forms[row]!) & mask;
    while (this.slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.slots[slot] = row + 1;
    this.usedSlots++;
  }

  /** The slot holding the id in `key` of this form, or -1. */
  private slotOf(form: number): number {
    const mask = this.slots.length - 1;
    const k = this.key;
    for (let slot = hash(k, 0, form) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === EMPTY) return -1;
      if (entry === REMOVED) continue;
      const at = (entry - 1) * 4;
      const w = this.words;
      if (this.forms[entry - 1] === form && w[at] === k[0] && w[at + 1] === k[1] && w[at + 2] === k[2] && w[at + 3] === k[3]) return slot;
    }
  }

  /** Puts a UUID's words in `key` and answers its form; 0 for any other id. */
  private read(id: string): number {
    if (id === this.keyOf) return this.keyForm;
    const form = LOWER_UUID.test(id) ? 1 : UPPER_UUID.test(id) ? 2 : 0;
    if (form !== 0) {
      this.key[0] = parseInt(id.slice(0, 8), 16);
      this.key[1] = parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
      this.key[2] = parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
      this.key[3] = parseInt(id.slice(28, 36), 16);
    }
    this.keyOf = id;
    this.keyForm = form;
    return form;
  }
}

function hash(w: Uint32Array, at: number, form: number): number {
  let h = Math.imul(w[at]! ^ Math.imul(w[at + 1]!, 0x9e3779b1) ^ Math.imul(w[at + 2]! ^ form, 0x85ebca6b) ^ Math.imul(w[at + 3]!, 0xc2b2ae35), 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> 0;
}
