// Normal workloads must run undisturbed while ACES enforces: nothing of theirs is killed or
// denied, and no level-2+ event names their containers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot } from '../../helpers/root.js';
import { docker, execInContainer, removeContainer, runContainer } from '../../helpers/docker.js';
import { buildTool } from '../../helpers/tools.js';
import { containerName, withAces } from '../../helpers/escape-suite.js';
import { dirname, basename } from 'node:path';

describe('benign workloads under enforce', { concurrency: false }, () => {
  const aces = withAces('enforce');
  const names: string[] = [];
  const run = async (tag: string, args: string[], script: string) => {
    const name = containerName(tag);
    names.push(name);
    return { name, ...(await runContainer({ name, args, cmd: ['sh', '-c', script] })) };
  };

  test('tmpfs mount with SYS_ADMIN', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('tmpfs', ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'],
      'mkdir -p /mnt/t && mount -t tmpfs tmpfs /mnt/t && echo x > /mnt/t/f && cat /mnt/t/f && umount /mnt/t && echo ok');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok/);
  });

  test('reading /proc/sys and own cgroup files', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('procsys', [], 'cat /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/overcommit_memory >/dev/null && ' +
      'find /proc/sys/kernel -maxdepth 1 -type f 2>/dev/null | head -50 | while read f; do cat "$f" >/dev/null 2>&1; done; cat /proc/self/cgroup >/dev/null; echo ok');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok/);
  });

  test('/tmp churn', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('churn', [], 'i=0; while [ $i -lt 400 ]; do echo $i > /tmp/f$i; mv /tmp/f$i /tmp/g$i; rm /tmp/g$i; i=$((i+1)); done; ' +
      'mkdir -p /tmp/d/a/b && touch /tmp/d/a/b/c && tar -cf /tmp/d.tar -C /tmp d && rm -r /tmp/d && tar -xf /tmp/d.tar -C /tmp && ls /tmp/d/a/b/c && echo ok');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok/);
  });

  test('setuid binary run by an unprivileged user', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const probe = buildTool('suid-probe');
    const r = await run('setuid', ['-v', `${dirname(probe)}:/tools:ro`],
      `cp /tools/${basename(probe)} /bin/suid-probe && chmod 4755 /bin/suid-probe && su -s /bin/sh nobody -c /bin/suid-probe; echo status=$?`);
    assert.match(r.stdout, /uid=65534 euid=0/, r.stdout + r.stderr);
    assert.match(r.stdout, /status=0/);
  });

  test('a crashing application dumps core the normal way', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('crash', [], "sh -c 'kill -SEGV $$'; echo status=$?");
    assert.match(r.stdout, /status=139/, 'SIGSEGV, not SIGKILL');
  });

  test('namespaced --sysctl settings and in-container namespaced writes', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('sysctl', ['--sysctl', 'net.ipv4.ip_unprivileged_port_start=0', '--sysctl', 'kernel.shmmax=68719476736',
      '--sysctl', 'kernel.msgmax=65536', '--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'],
      'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax && mount -o remount,rw /proc/sys && ' +
      'echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start && echo 100 > /proc/sys/kernel/msgmni && echo ok');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0\n68719476736\n/);
    assert.match(r.stdout, /ok/);
  });

  test('docker exec into a running container', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const name = containerName('exec');
    names.push(name);
    await runContainer({ name, detach: true, args: [], cmd: ['sleep', '60'] });
    try {
      const r = await execInContainer(name, ['sh', '-c', 'ls /proc/self/fd >/dev/null && id && echo ok']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /ok/);
      const st = await docker(['inspect', '-f', '{{.State.Running}}', name]);
      assert.match(st.stdout, /true/);
    } finally {
      await removeContainer(name);
    }
  });

  test('no attempt or breach event names a benign container', (t) => {
    if (!skipUnlessRoot(t)) return;
    const bad = aces().events().filter((e) => e.level >= 2 && names.includes(e.container?.name ?? ''));
    assert.deepEqual(bad, []);
  });
});
