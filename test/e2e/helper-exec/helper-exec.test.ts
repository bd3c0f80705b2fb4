// The last line: even when the first-line rules are switched off by policy (so the writes to
// release_agent and core_pattern go through), the host helper that the kernel starts to run the
// container's file never runs it: a script (release_agent, the public PoC) and an ELF binary
// (core_pattern pipe), both addressed through the container's upper layer on the host.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { buildTool } from '../../helpers/tools.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';

const FIRST_LINE_OFF = `apiVersion: aces/v1
rules:
  cgroup-v1-mount: { enabled: false }
  release-agent-write: { enabled: false }
  release-agent-read: { enabled: false }
  sysctl-host-write: { enabled: false }
`;
const RA_MARKER = `/tmp/aces-e2e-umh-ra-${process.pid}`;
const CORE_MARKER = '/tmp/aces-e2e-umh-core-marker';

const RELEASE_AGENT = `
mkdir /tmp/cgrp && mount -t cgroup -o memory cgroup /tmp/cgrp && mkdir -p /tmp/cgrp/x
echo 1 > /tmp/cgrp/x/notify_on_release
host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
echo "$host_path/cmd" > /tmp/cgrp/release_agent && echo agent-set
printf '#!/bin/sh\\nid > ${RA_MARKER}\\n' > /cmd
chmod a+x /cmd
sh -c "echo \\$\\$ > /tmp/cgrp/x/cgroup.procs"
sleep 2
echo done
`;

function corePattern(): string {
  const tool = basename(buildTool('host-marker', { MARKER_PATH: CORE_MARKER }));
  return `
cp /tools/${tool} /cmd && chmod 755 /cmd
host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
echo "|$host_path/cmd" > /host/proc/sys/kernel/core_pattern && echo pattern-set
sh -c 'kill -SEGV $$'
sleep 2
echo done
`;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return cond();
}

for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`host helper running a container file (${mode}, first-line rules off)`, { concurrency: false }, () => {
    // The policy lets the writes through on purpose: the host knobs change and are restored after.
    const aces = withAces(mode, FIRST_LINE_OFF, { hostMayChange: true });

    test('release_agent script in the upper layer', async (t) => {
      if (!skipUnlessRoot(t)) return;
      rmSync(RA_MARKER, { force: true });
      const name = containerName('umh-ra');
      try {
        const r = await runContainer({ name, args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'], cmd: ['sh', '-c', RELEASE_AGENT] });
        assert.match(r.stdout, /agent-set/, 'the policy lets the write through');
        const ev = await aces().waitForEvent((e) => e.rule === 'umh-container-exec' && e.container?.name === name);
        assert.equal(ev.process.host_task, true);
        assert.equal(ev.level, 3);
        if (mode === 'monitor') {
          assert.equal(await waitFor(() => existsSync(RA_MARKER), 3000), true);
          assert.equal(ev.action, 'alert');
        } else {
          assert.equal(await waitFor(() => existsSync(RA_MARKER), 2000), false, 'the helper ran the script as host root');
          assert.equal(ev.action, 'quarantine');
          assert.ok(ev.kernel_ns.exit, 'the helper was killed');
          assert.doesNotMatch(r.stdout, /done/, 'the container was quarantined');
        }
      } finally {
        rmSync(RA_MARKER, { force: true });
      }
    });

    test('core_pattern pipe to an ELF in the upper layer', async (t) => {
      if (!skipUnlessRoot(t)) return;
      const original = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
      rmSync(CORE_MARKER, { force: true });
      const name = containerName('umh-core');
      try {
        const tool = buildTool('host-marker', { MARKER_PATH: CORE_MARKER });
        const r = await runContainer({ name, args: ['-v', '/proc:/host/proc', '-v', `${dirname(tool)}:/tools:ro`], cmd: ['sh', '-c', corePattern()] });
        assert.match(r.stdout, /pattern-set/);
        const ev = await aces().waitForEvent((e) => e.rule === 'umh-container-exec' && e.container?.name === name);
        assert.equal(ev.process.host_task, true);
        if (mode === 'monitor') {
          assert.equal(await waitFor(() => existsSync(CORE_MARKER), 3000), true);
        } else {
          assert.equal(await waitFor(() => existsSync(CORE_MARKER), 2000), false, 'the core pipe ran as host root');
          assert.equal(ev.action, 'quarantine');
        }
      } finally {
        writeFileSync('/proc/sys/kernel/core_pattern', original);
        rmSync(CORE_MARKER, { force: true });
      }
    });
  });
}
