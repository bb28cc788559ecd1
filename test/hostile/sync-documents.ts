import fc from 'fast-check';
import { anyJsonText, keyText, objectText, timeText, wildJsonText } from './json-text.js';

export const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts'] as const;
export type Collection = (typeof COLLECTIONS)[number];

/** A small pool of ids, so that generated requests collide with stored items and each other. */
const POOL_IDS = ['g1', 'g2', 'p1', 'p2', 's1', 'a1', '__proto__', 'constructor', '\u0000', 'x'.repeat(300)];

const itemId = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...POOL_IDS).map((id) => JSON.stringify(id)) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map((id) => JSON.stringify(id)) },
  // Wrong types and empty: each must be refused whole.
  { weight: 1, arbitrary: wildJsonText },
);

const statusText = (values: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.oneof(fc.constantFrom('"ACTIVE"', '"active"', '" Active "', '"COMPLETED"', '"PAUSED"'), values);
const status = statusText(anyJsonText);

function optional(key: string, value: fc.Arbitrary<string>, weight = 3): fc.Arbitrary<(readonly [string, string])[]> {
  return fc.oneof({ weight: 1, arbitrary: fc.constant<(readonly [string, string])[]>([]) }, { weight, arbitrary: value.map((v) => [[key, v] as const]) });
}

/** An item: usually shaped like one, with wrong types and hostile extra fields mixed in. */
function itemText(collection: Collection): fc.Arbitrary<string> {
  const shaped = fc
    .tuple(
      optional('id', itemId, 20),
      optional('updatedAt', fc.oneof({ weight: 4, arbitrary: timeText }, { weight: 1, arbitrary: wildJsonText })),
      optional('createdAt', timeText, 1),
      collection === 'sessions' ? optional('status', status) : fc.constant<(readonly [string, string])[]>([]),
      fc.array(fc.tuple(keyText, wildJsonText), { maxLength: 3 }),
    )
    .map(([id, updatedAt, createdAt, st, extra]) => objectText([...extra, ...updatedAt, ...createdAt, ...st, ...id]));
  return fc.oneof({ weight: 12, arbitrary: shaped }, { weight: 1, arbitrary: wildJsonText });
}

const tombstoneText = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        optional('id', itemId, 20),
        optional('type', fc.oneof(fc.constantFrom('"gym"', '"Problems"', '"SESSION"', '"attempt"', '"widget"', '""', '" "'), anyJsonText), 20),
        optional('deletedAt', timeText),
        fc.array(fc.tuple(keyText, anyJsonText), { maxLength: 2 }),
      )
      .map(([id, type, deletedAt, extra]) => objectText([...extra, ...id, ...type, ...deletedAt])),
  },
  { weight: 1, arbitrary: wildJsonText },
);

function collectionText(element: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(element, { maxLength: 5 }).map((xs) => `[${xs.join(',')}]`) },
    { weight: 1, arbitrary: fc.constant('null') },
    { weight: 1, arbitrary: wildJsonText },
  );
}

/** A sync document (full upload or delta) with anything in any position. */
export const syncDocumentText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 15,
    arbitrary: fc
      .tuple(
        ...COLLECTIONS.map((c) => optional(c, collectionText(itemText(c)))),
        optional('deletedItems', collectionText(tombstoneText)),
        optional('lastSyncTime', fc.oneof(timeText, fc.constant('null'), anyJsonText)),
        fc.array(fc.tuple(keyText, wildJsonText), { maxLength: 3 }),
      )
      .map((parts) => objectText(parts.flat())),
  },
  { weight: 1, arbitrary: wildJsonText },
);

/** Whether the item text (valid JSON) is a session the server must not store. */
export function isActiveSession(collection: Collection, item: Record<string, unknown>): boolean {
  return collection === 'sessions' && typeof item['status'] === 'string' && item['status'].trim().toLowerCase() === 'active';
}

/** Fresh, unique ids: what a round-trip check needs so that no merge rule applies. */
let fresh = 0;
export function freshId(prefix: string): string {
  fresh += 1;
  return `${prefix}-${process.pid}-${fresh}`;
}

export type Entries = (readonly [string, string])[];

/**
 * The fields of an item but its id, arbitrary and hostile in every one; the test
 * adds a fresh `id` last, so that no generated duplicate `id` key wins.
 */
export function itemFieldsText(collection: Collection, values: fc.Arbitrary<string> = anyJsonText): fc.Arbitrary<Entries> {
  return fc
    .tuple(
      fc.array(fc.tuple(keyText.filter((k) => k !== 'id'), values), { maxLength: 6 }),
      optional('updatedAt', fc.oneof(timeText, values)),
      collection === 'sessions' ? optional('status', statusText(values)) : fc.constant<(readonly [string, string])[]>([]),
    )
    .map(([extra, updatedAt, st]) => [...extra, ...updatedAt, ...st]);
}
