import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ACES_E_CGROUP_NO_KEY_HIERARCHY,
  ACES_E_CGROUP_NOT_MOUNTED,
  ACES_E_CGROUP_UNREADABLE,
  buildCgroupLayout,
  CgroupLayoutError,
  keyCgroupPath,
  parseCgroupMounts,
  parseProcCgroups,
  subsysIdsFromBtf,
} from '../../src/containers/cgroup-layout.js';
import { fixturePath } from './containers-fixtures.js';

const host = (name: string): string => readFileSync(fixturePath('host', name), 'utf8');
const DOCKER_ID = '3f4e1b2c9d8a7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';

// enum cgroup_subsys_id of this project's 6.18 kernel (bpftool btf dump file /sys/kernel/btf/vmlinux).
const SUBSYS_6_18 = ['cpuset', 'cpu', 'cpuacct', 'io', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids'];
const btfIds = (names: readonly string[]): Map<string, number> => new Map(names.map((n, i) => [n, i]));

/** A minimal little- or big-endian BTF blob: an INT, a STRUCT, a FUNC_PROTO, then the enum. */
function btfBlob(enumName: string, members: ReadonlyArray<[string, number]>, opts: { bigEndian?: boolean; enum64?: boolean } = {}): Uint8Array {
  const le = opts.bigEndian !== true;
  const strs: string[] = [''];
  const strOff = (s: string): number => {
    let off = 0;
    for (const x of strs) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    strs.push(s);
    return off;
  };
  const words: number[] = [];
  const type = (name: string, kind: number, vlen: number, sizeOrType: number): void => {
    words.push(strOff(name), ((kind & 0x1f) << 24) | vlen, sizeOrType);
  };
  type('int', 1, 0, 4); words.push(0x01000020);                       // INT: signed, 32 bits
  type('pair', 4, 2, 8); words.push(strOff('a'), 1, 0, strOff('b'), 1, 32); // STRUCT with 2 members
  type('', 13, 1, 1); words.push(0, 1);                               // FUNC_PROTO(int)
  const kind = opts.enum64 === true ? 19 : 6;
  type(enumName, kind, members.length, 4);
  for (const [n, v] of members) {
    if (kind === 6) words.push(strOff(n), v);
    else words.push(strOff(n), v, 0);
  }
  const strBuf = Buffer.from(strs.map((s) => s + '\0').join(''), 'utf8');
  const typeLen = words.length * 4;
  const buf = Buffer.alloc(24 + typeLen + strBuf.length);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint16(0, 0xeb9f, le);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, typeLen, le);
  dv.setUint32(16, typeLen, le);
  dv.setUint32(20, strBuf.length, le);
  words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, le));
  strBuf.copy(buf, 24 + typeLen);
  return buf;
}

describe('buildCgroupLayout', () => {
  test('this VM: v1 hybrid, key from pids, id confirmed by BTF', () => {
    const layout = buildCgroupLayout({
      mountinfo: host('hybrid-6.18.mountinfo'),
      procCgroups: host('hybrid-6.18.cgroups'),
      btfSubsysIds: btfIds(SUBSYS_6_18),
    });
    assert.equal(layout.mode, 'v1-hybrid');
    assert.equal(layout.keySource, 'cgroup-v1');
    assert.equal(layout.keyController, 'pids');
    assert.equal(layout.keyDir, '/sys/fs/cgroup/pids');
    assert.equal(layout.keyHierarchyId, 8);
    assert.equal(layout.keySubsysId, 11);
    assert.equal(layout.subsysIdCheck, 'confirmed');
    assert.equal(layout.v2Dir, '/sys/fs/cgroup/unified');
    assert.equal(layout.freezerDir, '/sys/fs/cgroup/freezer');
    const named = layout.v1Hierarchies.find((h) => h.name === 'systemd');
    assert.deepEqual(named?.controllers, []);
    assert.equal(layout.v1Hierarchies.length, 9);
  });

  test('without BTF the /proc/cgroups row is used and marked unverified', () => {
    const layout = buildCgroupLayout({ mountinfo: host('hybrid-6.18.mountinfo'), procCgroups: host('hybrid-6.18.cgroups') });
    assert.equal(layout.keySubsysId, 11);
    assert.equal(layout.subsysIdCheck, 'unverified');
  });

  test('a /proc/cgroups that leaves a subsystem out is corrected by BTF (6.12+, no CONFIG_MEMCG_V1)', () => {
    // Row index of pids is 10 here because "memory" is not listed; the kernel's id is still 11.
    const rows = parseProcCgroups(host('hybrid-nomemcgv1.cgroups'));
    assert.equal(rows.find((r) => r.name === 'pids')?.rowIndex, 10);
    const layout = buildCgroupLayout({
      mountinfo: host('hybrid-6.18.mountinfo'),
      procCgroups: host('hybrid-nomemcgv1.cgroups'),
      btfSubsysIds: btfIds(SUBSYS_6_18),
    });
    assert.equal(layout.keyController, 'pids');
    assert.equal(layout.keySubsysId, 11);
    assert.equal(layout.subsysIdCheck, 'corrected');
  });

  test('blkio is looked up in BTF under its C name io', () => {
    const mountinfo = '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n';
    const layout = buildCgroupLayout({ mountinfo, procCgroups: host('hybrid-6.18.cgroups'), btfSubsysIds: btfIds(SUBSYS_6_18) });
    assert.equal(layout.keyController, 'blkio');
    assert.equal(layout.keySubsysId, 3);
    assert.equal(layout.subsysIdCheck, 'confirmed');
    assert.equal(layout.mode, 'v1-legacy');
  });

  test('cgroup-v2 host', () => {
    const layout = buildCgroupLayout({ mountinfo: host('unified-ubuntu22.mountinfo'), procCgroups: host('unified-6.12.cgroups') });
    assert.equal(layout.mode, 'v2');
    assert.equal(layout.keySource, 'cgroup-v2');
    assert.equal(layout.keyDir, '/sys/fs/cgroup');
    assert.equal(layout.keyHierarchyId, 0);
    assert.equal(layout.keySubsysId, undefined);
    assert.equal(layout.freezerDir, undefined);
    assert.equal(layout.v2Dir, '/sys/fs/cgroup');
  });

  test('v1 only, pids disabled: falls back to memory; co-mounted hierarchies keep their id', () => {
    const layout = buildCgroupLayout({
      mountinfo: host('legacy-centos7.mountinfo'),
      procCgroups: host('legacy-centos7.cgroups'),
    });
    assert.equal(layout.mode, 'v1-legacy');
    assert.equal(layout.keyController, 'memory');
    assert.equal(layout.keyDir, '/sys/fs/cgroup/memory');
    assert.equal(layout.keyHierarchyId, 5);
    assert.equal(layout.keySubsysId, 3);
    assert.equal(layout.v2Dir, undefined);
    const cpu = layout.v1Hierarchies.find((h) => h.mountDir === '/sys/fs/cgroup/cpu,cpuacct');
    assert.deepEqual(cpu, { hierarchyId: 3, controllers: ['cpu', 'cpuacct'], mountDir: '/sys/fs/cgroup/cpu,cpuacct' });
  });

  test('named hierarchy ids come from /proc/self/cgroup', () => {
    const layout = buildCgroupLayout({
      mountinfo: host('hybrid-6.18.mountinfo'),
      procCgroups: host('hybrid-6.18.cgroups'),
      selfCgroup: host('hybrid-6.18.docker-task.cgroup'),
    });
    assert.equal(layout.v1Hierarchies.find((h) => h.name === 'systemd')?.hierarchyId, 9);
  });

  test('only a named v1 hierarchy: no key hierarchy', () => {
    const mountinfo = '40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n';
    assert.throws(() => buildCgroupLayout({ mountinfo, procCgroups: host('hybrid-6.18.cgroups') }),
      (e: unknown) => e instanceof CgroupLayoutError && e.code === ACES_E_CGROUP_NO_KEY_HIERARCHY && /name=|named/.test(e.message));
  });

  test('a v1 controller bind-mounted from a sub-cgroup is not used as key', () => {
    const mountinfo = '39 31 0:36 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n' +
      '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n';
    const layout = buildCgroupLayout({ mountinfo, procCgroups: host('hybrid-6.18.cgroups') });
    assert.equal(layout.keyController, 'memory');
  });

  test('no cgroup mounted at all', () => {
    assert.throws(() => buildCgroupLayout({ mountinfo: '27 1 254:0 / / rw - ext4 /dev/vda rw\n', procCgroups: host('hybrid-6.18.cgroups') }),
      (e: unknown) => e instanceof CgroupLayoutError && e.code === ACES_E_CGROUP_NOT_MOUNTED);
  });

  test('an unknown /proc/cgroups format is refused with the text it got', () => {
    assert.throws(() => parseProcCgroups('subsys hierarchy\n'),
      (e: unknown) => e instanceof CgroupLayoutError && e.code === ACES_E_CGROUP_UNREADABLE && e.message.includes('subsys hierarchy'));
  });
});

describe('parseCgroupMounts', () => {
  test('octal escapes in mount points are decoded', () => {
    const [m] = parseCgroupMounts('50 31 0:40 / /mnt/cg\\040v1 rw - cgroup cgroup rw,pids\n');
    assert.equal(m?.mountDir, '/mnt/cg v1');
  });
  test('optional fields before the separator are skipped', () => {
    const [m] = parseCgroupMounts('30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate\n');
    assert.deepEqual(m, { fsType: 'cgroup2', root: '/', mountDir: '/sys/fs/cgroup', superOptions: ['rw', 'nsdelegate'] });
  });
});

describe('subsysIdsFromBtf', () => {
  const members: Array<[string, number]> = [['cpuset_cgrp_id', 0], ['cpu_cgrp_id', 1], ['pids_cgrp_id', 11], ['CGROUP_SUBSYS_COUNT', 12]];
  test('finds the enum after other kinds, little endian', () => {
    assert.deepEqual(subsysIdsFromBtf(btfBlob('cgroup_subsys_id', members)), new Map([['cpuset', 0], ['cpu', 1], ['pids', 11]]));
  });
  test('big endian', () => {
    assert.deepEqual(subsysIdsFromBtf(btfBlob('cgroup_subsys_id', members, { bigEndian: true }))?.get('pids'), 11);
  });
  test('ENUM64 encoding', () => {
    assert.equal(subsysIdsFromBtf(btfBlob('cgroup_subsys_id', members, { enum64: true }))?.get('pids'), 11);
  });
  test('another enum of the same members is not taken', () => {
    assert.equal(subsysIdsFromBtf(btfBlob('cgroup_subsys_idx', members)), undefined);
  });
  test('not BTF', () => {
    assert.equal(subsysIdsFromBtf(Buffer.from('\x7fELF not btf at all, padding padding')), undefined);
    assert.equal(subsysIdsFromBtf(new Uint8Array(4)), undefined);
  });
  test('truncated type section', () => {
    const blob = btfBlob('cgroup_subsys_id', members);
    assert.equal(subsysIdsFromBtf(blob.subarray(0, 40)), undefined);
  });
});

describe('keyCgroupPath', () => {
  const v1 = buildCgroupLayout({ mountinfo: host('hybrid-6.18.mountinfo'), procCgroups: host('hybrid-6.18.cgroups') });
  const v2 = buildCgroupLayout({ mountinfo: host('unified-ubuntu22.mountinfo'), procCgroups: host('unified-6.12.cgroups') });
  test('v1: the line of the key hierarchy', () => {
    assert.equal(keyCgroupPath(host('hybrid-6.18.docker-task.cgroup'), v1), `/docker/${DOCKER_ID}`);
    assert.equal(keyCgroupPath('8:pids:/a\n4:memory:/b\n', v1), '/a');
    assert.equal(keyCgroupPath('4:memory:/b\n0::/c\n', v1), undefined);
  });
  test('v1: a hierarchy id naming another controller is not taken', () => {
    assert.equal(keyCgroupPath('8:memory:/wrong\n', v1), undefined);
  });
  test('v2: the 0:: line', () => {
    assert.equal(keyCgroupPath(host('unified-k8s-task.cgroup'), v2)?.endsWith('.scope'), true);
    assert.equal(keyCgroupPath('8:pids:/a\n', v2), undefined);
  });
});
