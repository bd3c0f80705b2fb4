// Locates test/fixtures/containers from a test compiled to dist/test/unit/ or run from source.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const candidates = [
  join(here, '..', '..', '..', 'test', 'fixtures', 'containers'), // dist/test/unit -> repo root
  join(here, '..', 'fixtures', 'containers'),                     // test/unit, run from source
];
const root = candidates.find((c) => existsSync(join(c, 'README.md')));
if (root === undefined) throw new Error(`expected test/fixtures/containers near ${here}, got none of ${candidates.join(', ')}`);

/** Absolute path of a file or directory under test/fixtures/containers. */
export function fixturePath(...parts: string[]): string {
  return join(root!, ...parts);
}
