// docs/errors.md and the code keep the same list of error codes (the fastify practice): a code
// thrown somewhere and missing from the docs, or documented and thrown nowhere, fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/aces-daemon.js';

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|c|h)$/.test(name)) out.push(p);
  }
  return out;
}

test('docs/errors.md lists exactly the error codes the source uses', () => {
  const used = new Set<string>();
  for (const f of [...walk(join(REPO_ROOT, 'src')), ...walk(join(REPO_ROOT, 'native'))]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/ACES_E_[A-Z0-9]+_[A-Z0-9_]*[A-Z0-9]/g)) used.add(m[0]);
  }
  const documented = new Set([...readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/`(ACES_E_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
  assert.deepEqual([...used].filter((c) => !documented.has(c)).sort(), [], 'used but not documented');
  assert.deepEqual([...documented].filter((c) => !used.has(c)).sort(), [], 'documented but not used');
});
