// Benign workloads of the kind issue 3's rules must never touch, under enforce: ptrace of one's
// own child, unshare for sandboxing, su, /proc/self and ps, cgroup self-inspection, package
// manager style churn, and a container that a policy exception names using the docker socket.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { containerName, withAces } from '../../helpers/escape-suite.js';
import { toolsMount } from '../../helpers/escape-cases.js';

const CI_AGENT = containerName('ci-agent');
const POLICY = `apiVersion: aces/v1
exceptions:
  - name: "${CI_AGENT}"
    rules: [runtime-socket]
`;

describe('benign tools under enforce (issue 3 rules)', { concurrency: false }, () => {
  const aces = withAces('enforce', POLICY);
  const names: string[] = [];
  const run = async (tag: string, args: string[], script: string, name = containerName(tag)) => {
    names.push(name);
    return runContainer({ name, args: [...toolsMount(), ...args], cmd: ['sh', '-c', script] });
  };
  const ok = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /ok$/m);
  };

  test('ptrace of its own child (a debugger, strace)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('ptrace-child', ['--cap-add', 'SYS_PTRACE'], 'sleep 30 & /t/ptrace-poke $! && kill $! && echo ok'));
  });

  test('unshare for sandboxing: user, mount and pid namespaces with tmpfs and bind mounts', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('sandbox', ['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'],
      "unshare -U -r -m -p -f sh -c 'mount -t tmpfs t /tmp && mkdir /tmp/a /tmp/b && touch /tmp/a/x && mount --bind /tmp/a /tmp/b && ls /tmp/b/x && id -u | grep -q ^0' && echo ok"));
  });

  test('su to an unprivileged user and back to root through exec', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('su', [], 'su -s /bin/sh nobody -c "id -u" | grep -q 65534 && echo ok'));
  });

  test('/proc/self, ps and its own processes', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('procself', [], 'cat /proc/self/status /proc/self/maps /proc/self/environ /proc/self/cmdline >/dev/null && ' +
      'sleep 5 & cat /proc/$!/environ /proc/$!/cmdline >/dev/null && ps >/dev/null && ls -l /proc/self/fd /proc/self/cwd >/dev/null && cat /dev/stdin </dev/null && echo ok'));
  });

  test('cgroup self-inspection', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('cgroup-self', [], 'cat /proc/self/cgroup >/dev/null && ls /sys/fs/cgroup/ >/dev/null && ' +
      'cat /sys/fs/cgroup/pids/pids.current /sys/fs/cgroup/memory/memory.usage_in_bytes >/dev/null && echo ok'));
  });

  test('package-manager style churn', async (t) => {
    if (!skipUnlessRoot(t)) return;
    ok(await run('pkg-churn', [], 'mkdir -p /opt/pkg && i=0; while [ $i -lt 200 ]; do mkdir -p /opt/pkg/d$i && echo $i > /opt/pkg/d$i/f && ' +
      'ln -sf f /opt/pkg/d$i/l && chmod 755 /opt/pkg/d$i/f && mv /opt/pkg/d$i/f /opt/pkg/d$i/g; i=$((i+1)); done; ' +
      'tar -cf /tmp/p.tar -C /opt pkg && rm -rf /opt/pkg && tar -xf /tmp/p.tar -C /opt && [ -f /opt/pkg/d199/g ] && echo ok'));
  });

  test('a container named by a policy exception uses the docker socket', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const r = await run('ci-agent', ['-v', '/var/run/docker.sock:/var/run/docker.sock'],
      'sleep 1; /t/unix-get /var/run/docker.sock /containers/json | grep -q "HTTP/1.[01] 200" && echo ok', CI_AGENT);
    ok(r);
  });

  test('no attempt or breach event names a benign container', (t) => {
    if (!skipUnlessRoot(t)) return;
    const bad = aces().events().filter((e) => e.level >= 2 && names.includes(e.container?.name ?? ''));
    assert.deepEqual(bad, []);
  });
});
