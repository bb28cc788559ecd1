import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedSlots } from '../../src/sync/keyed-lock.js';

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('KeyedSlots: at most the limit per key, others wait in turn, another key never waits, freeing twice frees once', async () => {
  const slots = new KeyedSlots<string>(2);
  const first = await slots.take('a');
  const second = await slots.take('a');
  const order: string[] = [];
  const third = slots.take('a').then((free) => (order.push('third'), free));
  const fourth = slots.take('a').then((free) => (order.push('fourth'), free));
  const other = await slots.take('b');
  await settled();
  assert.deepEqual(order, [], 'a holds its two slots; b has its own');

  first();
  first();
  await settled();
  assert.deepEqual(order, ['third'], 'one freed slot, freed twice, lets one waiter in, the first');
  second();
  await settled();
  assert.deepEqual(order, ['third', 'fourth']);

  (await third)();
  (await fourth)();
  other();
  // Every slot is back: the limit applies afresh.
  const again = await Promise.all([slots.take('a'), slots.take('a')]);
  let waited = true;
  void slots.take('a').then(() => (waited = false));
  await settled();
  assert.ok(waited, 'a third waits again');
  again.forEach((free) => free());
  await settled();
  assert.ok(!waited);
});
