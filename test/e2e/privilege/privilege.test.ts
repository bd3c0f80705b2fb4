// Privilege escalation: credentials that rise with no legitimate transition (a kernel exploit's
// commit_creds), a container task holding the host's root, overlayfs inside a user namespace.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { skipUnlessRoot } from '../../helpers/root.js';
import { containerPid, docker, runContainer } from '../../helpers/docker.js';
import { buildTool } from '../../helpers/tools.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';
import { defineEscapeCases, type EscapeCase } from '../../helpers/escape-cases.js';

const TOKEN = randomBytes(6).toString('hex');
const TOKEN_FILE = `/var/tmp/aces-e2e-priv-${process.pid}`;

/** The id of the running daemon's cred_bases map. */
function credBasesMapId(): number {
  const r = spawnSync('bpftool', ['-j', 'map', 'show', 'name', 'cred_bases'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const maps = JSON.parse(r.stdout) as { id: number }[] | { id: number };
  const list = Array.isArray(maps) ? maps : [maps];
  assert.equal(list.length, 1, 'exactly one ACES daemon runs');
  return list[0]!.id;
}

// A kernel exploit raises a task's credentials in the middle of a system call. No exploit runs
// here: the test rewrites ACES's record of what the container's shell held at its last legitimate
// transition (uid 1000, no capabilities), so its real root credentials are a rise that no exec
// explains. Everything after that is the kernel side under test.
for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`credentials that rose with no legitimate transition (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    test('a shell whose credentials rose runs its next program', async (t) => {
      if (!skipUnlessRoot(t)) return;
      const name = containerName('cred-rise');
      const id = await runContainer({ name, detach: true, args: [], cmd: ['sh', '-c', 'sleep 2; cat /etc/hostname >/dev/null; echo done'] });
      try {
        await new Promise((r) => setTimeout(r, 700));
        const pid = await containerPid(id);
        const lower = spawnSync(buildTool('credbase'), ['lower', String(credBasesMapId()), String(pid)], { encoding: 'utf8' });
        assert.equal(lower.status, 0, lower.stderr);
        const code = Number((await docker(['wait', id], { timeoutMs: 30_000 })).stdout.trim());
        const logs = (await docker(['logs', id])).stdout;
        const ev = await aces().waitForEvent((e) => e.rule === 'cred-rise' && e.container?.name === name);
        assert.equal(ev.level, 3);
        if (mode === 'monitor') {
          assert.equal(ev.action, 'alert');
          assert.match(logs, /done/);
          assert.equal(code, 0);
        } else {
          assert.equal(ev.action, 'quarantine');
          assert.doesNotMatch(logs, /done/, 'the escalated shell went on');
          assert.equal(code, 137);
        }
      } finally {
        await docker(['rm', '-f', id]);
      }
    });
  });
}

const cases: EscapeCase[] = [
  {
    tag: 'host-root-held',
    rule: 'host-ns-held',
    level: 3,
    action: 'quarantine',
    args: () => ['-v', '/:/host'],
    setup: () => {
      writeFileSync(TOKEN_FILE, TOKEN);
      return {};
    },
    script: () => `chroot /host /bin/sh -c 'cat ${TOKEN_FILE}'; s=$?; echo; echo status=$s`,
    escaped: (r) => assert.match(r.stdout, new RegExp(TOKEN)),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, new RegExp(TOKEN), 'a host program ran with the host root');
      // The chroot'ed program dies at exec; the quarantine may take the container's shell too.
      assert.ok(/status=137/.test(r.stdout) || r.code === 137, `exit ${r.code}: ${r.stdout}`);
    },
    cleanup: () => rmSync(TOKEN_FILE, { force: true }),
  },
  {
    tag: 'userns-overlay',
    rule: 'userns-mount',
    args: () => ['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'],
    script: () => "mkdir -p /x && unshare -U -r -m sh -c 'mount -t tmpfs t /x && mkdir -p /x/l /x/u /x/w /x/m && " +
      "mount -t overlay o -o lowerdir=/x/l,upperdir=/x/u,workdir=/x/w /x/m && echo mounted'",
    escaped: (r) => assert.match(r.stdout, /mounted/, r.stderr),
    contained: (r, _c, ev) => {
      assert.doesNotMatch(r.stdout, /mounted/);
      assert.equal(ev.object.name, 'overlay');
    },
  },
];

// The chroot itself (host-root-chroot) is switched off here, so what is tested is the second
// line: the integrity check at the next exec.
defineEscapeCases('privilege escalation', cases, () => 0, 'apiVersion: aces/v1\nrules:\n  host-root-chroot: { enabled: false }\n');
