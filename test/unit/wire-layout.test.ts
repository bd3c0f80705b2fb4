// The TypeScript descriptions of the wire structs (src/wire/records.ts) must match the C
// structs of bpf/api/aces.h byte for byte: read the BTF of the compiled layout object back and
// compare every member's name, offset and size, and each struct's size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WIRE_STRUCTS } from '../../src/wire/records.js';
import { REPO_ROOT } from '../helpers/aces-daemon.js';

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
}

function loadBtf(): Map<number, BtfType> {
  const obj = join(REPO_ROOT, 'bpf', 'build', 'layout.bpf.o');
  assert.ok(existsSync(obj), `${obj} missing: run npm run build`);
  const r = spawnSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const types = (JSON.parse(r.stdout) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

function sizeOf(btf: Map<number, BtfType>, id: number): number {
  const t = btf.get(id);
  assert.ok(t, `BTF type ${id} missing`);
  switch (t.kind) {
    case 'TYPEDEF':
    case 'CONST':
    case 'VOLATILE':
      return sizeOf(btf, t.type_id!);
    case 'ARRAY':
      return t.nr_elems! * sizeOf(btf, t.type_id!);
    default:
      return t.size!;
  }
}

test('every wire struct matches its BTF layout', () => {
  const btf = loadBtf();
  const structs = [...btf.values()].filter((t) => t.kind === 'STRUCT');
  assert.equal(WIRE_STRUCTS.length, structs.length, 'layout.bpf.c and records.ts list different structs');
  for (const codec of WIRE_STRUCTS) {
    const s = structs.find((x) => x.name === codec.name);
    assert.ok(s, `struct ${codec.name} not in layout.bpf.o`);
    assert.equal(codec.size, s.size, `${codec.name}: size`);
    assert.deepEqual(
      codec.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size })),
      s.members!.map((m) => ({ name: m.name, offset: m.bits_offset / 8, size: sizeOf(btf, m.type_id) })),
      `${codec.name}: members`,
    );
  }
});
