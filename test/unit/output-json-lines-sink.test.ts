// JSON lines to a file: appended, flushed by close(), a bad path refused up front, and a write
// error counted as dropped lines instead of an unhandled 'error' event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { JsonLinesSink } from '../../src/output/json-lines-sink.js';

function tempFile(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aces-sink-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'events.jsonl');
}

test('each object is one line; bigint values become strings', async (t) => {
  const path = tempFile(t);
  const sink = new JsonLinesSink(path);
  sink.write({ kind: 'ready', n: 1 });
  sink.write({ kind: 'event', seq: 18446744073709551615n });
  await sink.close();
  assert.equal(sink.written, 2);
  assert.equal(sink.dropped, 0);
  assert.equal(readFileSync(path, 'utf8'), '{"kind":"ready","n":1}\n{"kind":"event","seq":"18446744073709551615"}\n');
});

test('an existing file is appended to, not truncated', async (t) => {
  const path = tempFile(t);
  writeFileSync(path, '{"kind":"stopped"}\n');
  const sink = new JsonLinesSink(path);
  sink.write({ kind: 'ready' });
  await sink.close();
  assert.equal(readFileSync(path, 'utf8'), '{"kind":"stopped"}\n{"kind":"ready"}\n');
});

test('close() resolves only once every buffered line is on disk, and again when called twice', async (t) => {
  const path = tempFile(t);
  const sink = new JsonLinesSink(path);
  const pad = 'x'.repeat(200);
  for (let i = 0; i < 20_000; i++) sink.write({ i, pad });
  await sink.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 20_000);
  assert.deepEqual(JSON.parse(lines[19_999]!), { i: 19_999, pad });
  await sink.close();
});

test('a path that cannot be opened fails in the constructor, naming the file', (t) => {
  // Regression: the stream used to open asynchronously, so `--events /missing/dir/x` crashed the
  // daemon with an unhandled 'error' event after its programs were attached.
  const path = join(tempFile(t), 'no-such-dir', 'events.jsonl');
  assert.throws(() => new JsonLinesSink(path), (err: Error) => {
    assert.match(err.message, /^cannot open events file .*no-such-dir\/events\.jsonl: ENOENT/);
    return true;
  });
  assert.ok(!existsSync(path));
});

test('a write error does not escape as an event; later lines are counted as dropped', async (t) => {
  if (!existsSync('/dev/full')) {
    t.skip('no /dev/full on this system');
    return;
  }
  const sink = new JsonLinesSink('/dev/full'); // every write fails with ENOSPC
  sink.write({ kind: 'event', n: 1 });
  for (let i = 0; i < 100 && sink.dropped === 0; i++) {
    await tick();
    sink.write({ kind: 'event', n: 2 });
  }
  assert.ok(sink.dropped >= 1, 'lines after the failure are dropped and counted');
  await sink.close();
});

test('stdout is the default and "-" means stdout; close() with nothing written resolves', async () => {
  await new JsonLinesSink().close();
  await new JsonLinesSink('-').close();
});

test('a file gets each loop turn\'s lines by the next turn, and a large batch at once (nothing piles up in memory)', async (t) => {
  const path = tempFile(t);
  const sink = new JsonLinesSink(path);
  sink.write({ n: 1 });
  sink.write({ n: 2 });
  assert.equal(readFileSync(path, 'utf8'), '', 'a small batch waits for the end of the turn');
  await tick();
  assert.equal(readFileSync(path, 'utf8'), '{"n":1}\n{"n":2}\n');
  const pad = 'y'.repeat(1000);
  for (let i = 0; i < 400; i++) sink.write({ i, pad });
  // 400 lines of ~1 KiB pass the 256 KiB batch bound: most are on disk before the turn ends.
  assert.ok(readFileSync(path, 'utf8').split('\n').length > 200);
  await sink.close();
  assert.equal(sink.written, 402);
  sink.write({ late: true });
  assert.equal(sink.dropped, 1, 'a line after close is counted, not lost silently');
});

test('lines keep their order and bytes across batch bounds: multi-byte text and a line larger than a batch', async (t) => {
  const path = tempFile(t);
  const sink = new JsonLinesSink(path);
  const wide = 'é€😀'.repeat(3000); // 2-, 3- and 4-byte UTF-8 characters: a line of ~27 KiB
  const huge = 'z'.repeat(300 * 1024); // over the 256 KiB batch: written on its own, after the lines before it
  const want: unknown[] = [];
  for (let i = 0; i < 30; i++) {
    const obj = i === 17 ? { i, huge } : { i, wide };
    want.push(obj);
    sink.write(obj);
  }
  await sink.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines.map((l) => JSON.parse(l)), want);
  assert.equal(sink.written, 30);
  assert.equal(sink.dropped, 0);
});
