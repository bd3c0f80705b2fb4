// Kernel interfaces from a container: bpf() program loads, tracefs/debugfs/securityfs/binfmt_misc/
// bpffs mounts, the host kernel log, moving into a root cgroup, system-wide perf events, and
// io_uring used to reach release_agent or a root cgroup (io_uring operations never pass the
// open/write system call tracepoints).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { defineEscapeCases, type EscapeCase } from '../../helpers/escape-cases.js';

const ADMIN = ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined', '--security-opt', 'seccomp=unconfined'];

function mountCase(fstype: string): EscapeCase {
  return {
    tag: `mount-${fstype}`,
    rule: 'kernel-fs-mount',
    args: () => ADMIN,
    script: () => `mkdir -p /mnt/k && mount -t ${fstype} none /mnt/k && ls /mnt/k > /dev/null && echo mounted`,
    escaped: (r) => assert.match(r.stdout, /mounted/, r.stderr),
    contained: (r, _c, ev) => {
      assert.doesNotMatch(r.stdout, /mounted/);
      assert.equal(ev.object.name, fstype);
    },
  };
}

const RA = '/sys/fs/cgroup/memory/release_agent';

const cases: EscapeCase[] = [
  {
    tag: 'bpf-prog-load',
    rule: 'bpf-load',
    args: () => ADMIN,
    script: () => '/t/bpf-load; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /loaded \d+/, r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, /loaded/);
      assert.match(r.stdout, /status=137/);
    },
  },
  mountCase('debugfs'),
  mountCase('tracefs'),
  mountCase('securityfs'),
  // binfmt_misc instances are per user namespace (6.7+): from the initial one, this is the
  // host's, where a registered interpreter runs for every host exec. bpffs: pinned programs and
  // maps of the host.
  mountCase('binfmt_misc'),
  mountCase('bpf'),
  {
    tag: 'dmesg',
    rule: 'syslog-read',
    args: () => ['--cap-add', 'SYSLOG', '--security-opt', 'seccomp=unconfined'],
    script: () => 'dmesg | head -3 | wc -l; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /^[1-9]/, r.stderr),
    contained: (r) => assert.match(r.stdout, /^0\n/, 'no kernel log line reached the container'),
  },
  {
    tag: 'root-cgroup',
    rule: 'cgroup-root-move',
    args: () => ['-v', '/sys/fs/cgroup/pids:/hostcg'],
    script: () => 'echo $$ > /hostcg/cgroup.procs && echo moved; cat /proc/self/cgroup | grep pids',
    escaped: (r) => assert.match(r.stdout, /moved\n.*pids:\/\n/, r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, /moved/);
      assert.equal(r.code, 137);
    },
  },
  {
    tag: 'io-uring-root-cgroup',
    rule: 'cgroup-root-move',
    // The shell's pid written to the host hierarchy root's cgroup.procs by io_uring only.
    args: () => ['-v', '/sys/fs/cgroup/pids:/hostcg', ...ADMIN],
    script: () => '/t/uring-write /hostcg/cgroup.procs $$; echo status=$?; cat /proc/self/cgroup | grep pids',
    escaped: (r) => assert.match(r.stdout, /status=0\n.*pids:\/\n/, r.stderr),
    contained: (r, _c, ev) => {
      assert.match(r.stdout, /status=137\n.*pids:\/docker\//, 'the shell left its container cgroup');
      assert.equal(ev.via, 'io_uring');
    },
  },
  {
    tag: 'io-uring-release-agent-read',
    rule: 'release-agent-read',
    level: 1,
    action: 'alert',
    args: () => ['-v', '/sys/fs/cgroup/memory:/hostcg:ro', ...ADMIN],
    script: () => '/t/uring-write -r /hostcg/release_agent; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /read: .*\nstatus=0/s, r.stderr),
    contained: (r, _c, ev) => {
      assert.equal(ev.via, 'io_uring');
      assert.match(r.stdout, /status=0/, 'a level-1 probe is reported, not stopped');
    },
  },
  {
    tag: 'perf-system-wide',
    rule: 'perf-system-wide',
    args: () => ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'],
    script: () => '/t/perf-open; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /opened \d+/, r.stderr),
    contained: (r) => assert.match(r.stdout, /status=137/),
  },
  {
    tag: 'io-uring-release-agent',
    rule: 'release-agent-write',
    // The host's memory cgroupfs bind-mounted; release_agent opened and written by io_uring only.
    args: () => ['-v', '/sys/fs/cgroup/memory:/hostcg', ...ADMIN],
    setup: () => ({ before: readFileSync(RA, 'utf8') }),
    script: () => '/t/uring-write /hostcg/release_agent /aces-e2e-uring-agent; echo status=$?',
    escaped: () => assert.match(readFileSync(RA, 'utf8'), /aces-e2e-uring-agent/),
    contained: (r, c, ev) => {
      assert.equal(readFileSync(RA, 'utf8'), c.data.before, 'release_agent was written through io_uring');
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
    },
    cleanup: (c) => { if (c.data.before !== undefined) writeFileSync(RA, c.data.before || '\n'); },
  },
];

defineEscapeCases('kernel interfaces', cases, () => 0);
