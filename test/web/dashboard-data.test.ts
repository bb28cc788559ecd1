import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../bench/generate-dataset.js';
import { attemptsCsv, sessionsCsv } from '../../src/web/csv.js';
import { DashboardData, attemptIndex, type DatasetView } from '../../src/web/dashboard-data.js';
import { gymPage, gymsPage } from '../../src/web/pages/gyms.js';
import { overviewPage, summaryOf } from '../../src/web/pages/overview.js';
import { problemPage, problemsPage } from '../../src/web/pages/problems.js';
import { progressPage } from '../../src/web/pages/progress.js';
import { projectsPage } from '../../src/web/pages/projects.js';
import { sessionPage, sessionsPage } from '../../src/web/pages/sessions.js';
import { progress } from '../../src/stats/progress.js';
import { postJson, startTestServer } from '../helpers/server.js';

type Item = Record<string, unknown> & { id: string };
type Collection = 'gyms' | 'problems' | 'sessions' | 'attempts';
const COLLECTIONS: Collection[] = ['gyms', 'problems', 'sessions', 'attempts'];
const TYPE: Record<Collection, string> = { gyms: 'gym', problems: 'problem', sessions: 'session', attempts: 'attempt' };
const NOW = Date.parse('2026-11-01T12:00:00.000Z');

/** Everything the dashboard shows of a view: the summary, the progress figures, every page and both CSV files. */
function everything(view: DatasetView): string[] {
  const ctx = { csrf: 'x' };
  const ds = view.ds;
  const out = [JSON.stringify(summaryOf(view, 'default', NOW)), JSON.stringify(progress(ds))];
  const render = (html: { toString(): string }) => out.push(String(html));
  render(overviewPage(ctx, view, 'default', NOW));
  render(progressPage(ctx, view));
  for (const page of ['1', '2', '3']) {
    render(sessionsPage(ctx, view, { page }));
    render(problemsPage(ctx, view, { page }));
    render(projectsPage(ctx, view, { page }));
  }
  render(problemsPage(ctx, view, { type: 'BOULDER', active: 'yes' }));
  render(gymsPage(ctx, view));
  for (const id of [...ds.sessions.keys()].sort()) render(sessionPage(ctx, view, id));
  for (const id of [...ds.problems.keys()].sort()) render(problemPage(ctx, view, id));
  for (const id of [...ds.gyms.keys()].sort()) render(gymPage(ctx, view, id, {}));
  out.push([...sessionsCsv(ds, attemptIndex(view))].join(''), [...attemptsCsv(ds)].join(''));
  return out;
}

/** Random changes to a small dataset: ids of both UUID cases and plain ones, orphans, odd timestamps and ties. */
class Changes {
  readonly live: Record<Collection, Map<string, Item>> = { gyms: new Map(), problems: new Map(), sessions: new Map(), attempts: new Map() };
  private clock = Date.parse('2026-10-01T00:00:00.000Z');
  private next = 0;

  constructor(private readonly r: Random) {}

  private id(): string {
    const n = ++this.next;
    const x = this.r.next();
    return x < 0.4 ? this.r.uuid() : x < 0.6 ? this.r.uuid().toUpperCase() : `id-${n}`;
  }

  private ref(collection: Collection): string {
    const ids = [...this.live[collection].keys()];
    return ids.length === 0 || this.r.chance(0.1) ? `missing-${this.r.int(1, 3)}` : this.r.pick(ids);
  }

  private item(collection: Collection, id: string): Item {
    const r = this.r;
    const updatedAt = new Date((this.clock += 1000)).toISOString();
    const day = `2026-${r.pick(['09', '10'])}-${String(r.int(1, 28)).padStart(2, '0')}`;
    if (collection === 'gyms') return { id, name: `Gym ${r.int(1, 9)}`, customDifficultyGrades: ['blue', 'red', 'black'], updatedAt };
    if (collection === 'problems') {
      const custom = r.chance(0.2);
      const grade = custom ? r.pick(['blue', 'red', 'black', 'pink']) : `V${r.int(0, 9)}`;
      const difficulty = { system: custom ? 'CUSTOM' : r.pick(['V_SCALE', 'v_scale']), grade, ...(r.chance(0.3) ? { numericValue: r.int(0, 9) } : {}) };
      return { id, gymId: this.ref('gyms'), name: `P ${r.int(1, 99)}`, climbType: r.pick(['BOULDER', 'boulder', 'ROPE']), difficulty, tags: [r.pick(['crimpy', 'roof'])], isActive: r.chance(0.7), updatedAt };
    }
    if (collection === 'sessions') return { id, gymId: this.ref('gyms'), date: r.chance(0.9) ? day : 'someday', status: 'COMPLETED', duration: r.int(30, 120), updatedAt };
    const timestamp = r.chance(0.8) ? `${day}T1${r.int(0, 2)}:00:00.000Z` : r.pick([`${day}T10:00:00+05:00`, 'not a time', `${day}T10:00:00Z`]);
    const result = r.pick(['FALL', 'success', 'FLASH', 'flash', 'NO_PROGRESS', 'sent it']);
    return { id, sessionId: this.ref('sessions'), problemId: this.ref('problems'), result, timestamp, highestHold: r.pick(['', '3', '12', 'crux']), updatedAt };
  }

  /** A delta that adds, changes and deletes items of every type. */
  delta(): Record<string, unknown> {
    const body: Record<string, unknown[]> = { gyms: [], problems: [], sessions: [], attempts: [], deletedItems: [] };
    for (const c of COLLECTIONS) {
      const count = c === 'attempts' ? 6 : c === 'gyms' ? 1 : 2;
      for (let i = 0; i < count; i++) {
        const added = this.item(c, this.id());
        this.live[c].set(added.id, added);
        body[c]!.push(added);
      }
      const ids = [...this.live[c].keys()];
      if (ids.length > 2) {
        const changed = this.item(c, this.r.pick(ids));
        this.live[c].set(changed.id, changed);
        body[c]!.push(changed);
        const gone = this.r.pick([...this.live[c].keys()]);
        this.live[c].delete(gone);
        body['deletedItems']!.push({ id: gone, type: TYPE[c], deletedAt: new Date(this.clock).toISOString() });
      }
    }
    return { lastSyncTime: null, ...body };
  }

  /** The whole dataset, less a few items left out (a full upload removes them without a tombstone). */
  document(): Record<string, unknown> {
    const doc: Record<string, unknown> = { exportedAt: new Date(this.clock).toISOString(), version: '2.0', formatVersion: '2.0', deletedItems: [] };
    for (const c of COLLECTIONS) {
      for (const id of [...this.live[c].keys()]) if (this.r.chance(0.1)) this.live[c].delete(id);
      doc[c] = [...this.live[c].values()];
    }
    return doc;
  }
}

test('a view patched by random deltas and full uploads shows what a fresh parse shows, on every page', async (t) => {
  const server = await startTestServer(t);
  const datasetId = await server.store.datasetId('default');
  const data = new DashboardData(server.store);
  const r = new Random(20261101);
  const changes = new Changes(r);
  let patches = 0;
  let previous: DatasetView | undefined;
  for (let step = 0; step < 16; step++) {
    const fullUpload = step % 5 === 4;
    const answer = fullUpload ? await postJson(server, '/sync', changes.document()) : await postJson(server, '/sync/delta', changes.delta());
    assert.equal(answer.status, 200);
    const view = await data.view(datasetId);
    const fresh = await new DashboardData(server.store).view(datasetId);
    assert.equal(view.stamp, fresh.stamp, `step ${step}`);
    assert.deepEqual(everything(view), everything(fresh), `step ${step}`);
    for (const c of COLLECTIONS) assert.equal(c === 'attempts' ? view.ds.attempts.size : view.ds[c].size, changes.live[c].size, `${c} at step ${step}`);
    // The same dataset object, patched: not parsed again.
    if (!fullUpload && previous?.ds === view.ds) patches++;
    previous = view;
  }
  assert.ok(patches >= 10, `only ${patches} deltas were patched in`);
});
