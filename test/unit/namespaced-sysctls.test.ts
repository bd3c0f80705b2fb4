import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NAMESPACED_SYSCTLS, namespacedSysctlsByBaseName } from '../../src/kernel/namespaced-sysctls.js';

test('base-name list: the single entries plus what the host has under user/ and fs/mqueue/, not net/', () => {
  const root = mkdtempSync(join(tmpdir(), 'aces-procsys-'));
  try {
    for (const d of ['user', 'fs/mqueue', 'net/ipv4']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'user', 'max_user_namespaces'), '');
    writeFileSync(join(root, 'fs/mqueue', 'msg_max'), '');
    writeFileSync(join(root, 'net/ipv4', 'ip_forward'), '');
    const names = namespacedSysctlsByBaseName(root);
    for (const n of NAMESPACED_SYSCTLS) assert.ok(names.includes(n), n);
    assert.ok(names.includes('user/max_user_namespaces'));
    assert.ok(names.includes('fs/mqueue/msg_max'));
    assert.ok(!names.some((n) => n.startsWith('net/')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a kernel without a family (no POSIX mqueue) lists the rest', () => {
  const root = mkdtempSync(join(tmpdir(), 'aces-procsys-'));
  try {
    mkdirSync(join(root, 'user'));
    writeFileSync(join(root, 'user', 'max_pid_namespaces'), '');
    const names = namespacedSysctlsByBaseName(root);
    assert.deepEqual(names, [...NAMESPACED_SYSCTLS, 'user/max_pid_namespaces']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
