import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../src/cli/commands.js';
import { readmeCommandLine } from '../src/cli/help.js';
import { configTable } from '../src/config-table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

test('the README configuration table is the one the schema generates', () => {
  const readme = read('README.md');
  const section = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
  assert.equal(section, configTable(), 'regenerate it with: node -e "import(\'./dist/src/config-table.js\').then(m=>console.log(m.configTable()))"');
});

test('the README command line reference is the one the command table generates', () => {
  const section = /<!-- cli:start -->\n([\s\S]*?)\n<!-- cli:end -->/.exec(read('README.md'))?.[1];
  assert.equal(section, readmeCommandLine(COMMANDS), 'regenerate it from readmeCommandLine(COMMANDS) in dist/src/cli/help.js');
});

test('the README gives the two commands a newcomer needs, and they exist', () => {
  const readme = read('README.md');
  const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
  assert.match(readme, /npm ci && npm start -- --generate-token/);
  assert.match(readme, /npm ci && npm test/);
  assert.ok(scripts['start'] && scripts['test']);
  assert.match(read('.ci/run'), /^npm ci$/m);
  assert.match(read('.ci/run'), /^npm test$/m);
});

test('CI runs the suite on every supported Node, and the image installs only what the lock file says', () => {
  const ci = read('.ci/run');
  for (const major of [22, 24]) assert.match(ci, new RegExp(`^bash scripts/test-on-node\\.sh ${major}$`, 'm'));
  assert.match(read('scripts/test-on-node.sh'), /^npm ci$/m);
  const dockerfile = read('Dockerfile');
  assert.match(dockerfile, /^RUN npm ci$/m);
  assert.doesNotMatch(dockerfile, /npm (install|i|add)\b/);
});

test('the Dockerfile only runs npm scripts and files that exist', () => {
  const dockerfile = read('Dockerfile');
  const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
  const used = [...dockerfile.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
  assert.ok(used.length > 0);
  for (const name of used) assert.ok(scripts[name], `package.json has the script "${name}"`);
  // Files copied from the build context (not from the build stage) must exist in the repo.
  for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const file of sources!.split(' ')) assert.ok(existsSync(path.join(root, file)), `${file} exists`);
  }
  // The entry the image runs is the one the build produces.
  const entry = /CMD \["node", "([^"]+)", "serve"\]/.exec(dockerfile)?.[1];
  assert.equal(entry, 'dist/src/cli/main.js');
  const tsconfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
  assert.deepEqual(tsconfig.include, ['src']);
  assert.ok(COMMANDS['healthcheck'], 'the image checks its health with the healthcheck command');
  assert.match(read('docker-compose.yml'), /"8080:8080"/);
});

test('the repository stands alone: no file refers to one outside it', () => {
  const outside = /\.\.\/shared\b|\/work\/(shared|main|wt)\b/;
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'data', '.git'].includes(entry.name)) walk(file);
      } else if (/\.(ts|js|md|json|yml|sh)$|^(Dockerfile|run)$/.test(entry.name) && outside.test(read(file))) {
        offenders.push(file);
      }
    }
  };
  walk('.');
  assert.deepEqual(offenders, []);
  assert.match(read('README.md'), /\(docs\/sync-protocol\.md\)/, 'the README links the protocol page');
  assert.ok(existsSync(path.join(root, 'docs/sync-protocol.md')));
});
