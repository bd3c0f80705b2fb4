// Benign workloads with real tools (Debian image: gdb, strace, util-linux, su, procps, dpkg, apt)
// under enforce. Each must finish normally, and no event of level 2 or more may name its
// container: a false kill here is a detection bug, not a test to loosen.
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot, skipUnless, skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { ensureDebianImage, DEBIAN_IMAGE } from '../../helpers/debian-image.js';
import { containerName, withAces } from '../../helpers/escape-suite.js';
import { toolsMount } from '../../helpers/escape-cases.js';
import { buildTool } from '../../helpers/tools.js';
import { basename, dirname } from 'node:path';

// What a sandboxing workload runs with (bubblewrap, a browser's sandbox, a build tool): user
// namespaces need the default seccomp profile relaxed; mount namespaces need SYS_ADMIN.
const USERNS_SANDBOX = ['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'];
const MOUNT_SANDBOX = ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'];

describe('benign Debian tools under enforce', { concurrency: false }, () => {
  const aces = withAces('enforce');
  const names: string[] = [];
  let imageError: string | undefined = 'not built';
  before(async () => {
    if (!isRoot()) return;
    try {
      await ensureDebianImage();
      imageError = undefined;
    } catch (e) {
      imageError = e instanceof Error ? e.message : String(e);
    }
  });
  // Root, and the Debian image (its first build needs the Debian mirror).
  const ready = (t: TestContext): boolean =>
    skipUnlessRoot(t) && skipUnless(t, imageError === undefined, `no ${DEBIAN_IMAGE}: ${imageError}`);
  const run = async (tag: string, args: string[], script: string) => {
    const name = containerName(tag);
    names.push(name);
    const r = await runContainer({ name, image: DEBIAN_IMAGE, args: [...toolsMount(), ...args], cmd: ['bash', '-c', script], timeoutMs: 120_000 });
    await new Promise((ok) => setTimeout(ok, 300)); // the daemon drains the ring buffer every 50 ms
    const bad = aces().events().filter((e) => e.level >= 2 && e.container?.name === name);
    assert.deepEqual(bad, [], `ACES stopped a benign ${tag}`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ok$/m, `${r.stdout}\n${r.stderr}`);
    return r;
  };

  test('strace -f of a child and its children', async (t) => {
    if (!ready(t)) return;
    const r = await run('strace', [],
      'strace -f -o /tmp/trace bash -c "ls / >/dev/null; (cat /proc/self/status >/dev/null &); wait" && ' +
        'grep -c execve /tmp/trace && grep -q "clone\\|fork" /tmp/trace && echo ok');
    assert.ok(Number(/^(\d+)$/m.exec(r.stdout)?.[1]) >= 2, 'strace saw the children exec');
  });

  test('gdb -batch: breakpoint, backtrace, continue to a normal exit', async (t) => {
    if (!ready(t)) return;
    const target = buildTool('gdb-target');
    const r = await run('gdb', ['-v', `${dirname(target)}:/g:ro`],
      `gdb -batch -ex 'break leaf' -ex run -ex bt -ex 'print x' -ex continue /g/${basename(target)} 2>&1 | tee /tmp/gdb.out; ` +
        'grep -q "exited normally" /tmp/gdb.out && echo ok');
    assert.match(r.stdout, /Breakpoint 1, leaf \(x=21\)/);
    assert.match(r.stdout, /#1 .*middle \(x=20\)/);
    assert.match(r.stdout, /#2 .*main \(\)/);
    assert.match(r.stdout, /result=43/);
  });

  // No --mount-proc: under Docker's masked /proc the kernel itself refuses a fresh procfs in a
  // user namespace (mount_too_revealing), with or without ACES.
  test('unshare -r (user namespace): root inside, its own pid namespace, tmpfs and bind mounts', async (t) => {
    if (!ready(t)) return;
    await run('unshare-user', USERNS_SANDBOX,
      "unshare -r -m -p -f bash -c 'id -u | grep -qx 0 && [ $$ -eq 1 ] && mount -t tmpfs t /mnt && mkdir /mnt/a /mnt/b && " +
        "touch /mnt/a/x && mount --bind /mnt/a /mnt/b && ls /mnt/b/x' && echo ok");
  });

  test('unshare -m (mount namespace) with SYS_ADMIN: tmpfs, bind, read-only remount', async (t) => {
    if (!ready(t)) return;
    await run('unshare-mount', MOUNT_SANDBOX,
      "unshare -m bash -c 'mount -t tmpfs t /mnt && echo data > /mnt/f && mount --bind /mnt /srv && " +
        "mount -o remount,bind,ro /srv && ! touch /srv/g 2>/dev/null && cat /srv/f' && ! [ -e /mnt/f ] && echo ok");
  });

  test('su and setpriv to an unprivileged user', async (t) => {
    if (!ready(t)) return;
    await run('su-setpriv', [],
      'su -s /bin/sh nobody -c "id -u" | grep -qx 65534 && ' +
        'setpriv --reuid=65534 --regid=65534 --clear-groups id -u | grep -qx 65534 && ' +
        'setpriv --no-new-privs --inh-caps=-all --bounding-set=-all bash -c "grep -q ^NoNewPrivs:.*1 /proc/self/status" && ' +
        'su -c "id -u" root | grep -qx 0 && echo ok');
  });

  test('dpkg installs and removes a .deb built in the container; apt installs a local .deb', async (t) => {
    if (!ready(t)) return;
    const deb = (pkg: string) =>
      `mkdir -p /tmp/${pkg}/DEBIAN /tmp/${pkg}/usr/share/${pkg} /tmp/${pkg}/usr/bin && ` +
      `for i in $(seq 1 150); do echo $i > /tmp/${pkg}/usr/share/${pkg}/f$i; done && ` +
      `printf '#!/bin/sh\\necho ${pkg}\\n' > /tmp/${pkg}/usr/bin/${pkg} && chmod 755 /tmp/${pkg}/usr/bin/${pkg} && ` +
      `printf 'Package: ${pkg}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: test\\n' > /tmp/${pkg}/DEBIAN/control && ` +
      `printf '#!/bin/sh\\nset -e\\nmkdir -p /var/lib/${pkg} && echo configured > /var/lib/${pkg}/state\\n' > /tmp/${pkg}/DEBIAN/postinst && ` +
      `chmod 755 /tmp/${pkg}/DEBIAN/postinst && dpkg-deb --build /tmp/${pkg} /tmp/${pkg}.deb >/dev/null`;
    await run('dpkg', [],
      `${deb('acestest')} && dpkg -i /tmp/acestest.deb >/dev/null && acestest | grep -qx acestest && ` +
        'grep -qx configured /var/lib/acestest/state && dpkg -L acestest | grep -q f150 && ' +
        // An upgrade (unpack over the old files, .dpkg-new renames) and a purge.
        `sed -i s/1.0/1.1/ /tmp/acestest/DEBIAN/control && dpkg-deb --build /tmp/acestest /tmp/acestest.deb >/dev/null && ` +
        'dpkg -i /tmp/acestest.deb >/dev/null && dpkg -s acestest | grep -q "Version: 1.1" && dpkg --purge acestest >/dev/null && ' +
        `! [ -e /usr/bin/acestest ] && ${deb('acesapt')} && apt-get install -qq -y /tmp/acesapt.deb >/dev/null 2>&1 && ` +
        'acesapt | grep -qx acesapt && apt-get remove -qq -y acesapt >/dev/null 2>&1 && echo ok');
  });

  test('/proc/self/* and ps aux', async (t) => {
    if (!ready(t)) return;
    await run('procps', ['--cap-add', 'SYS_PTRACE'],
      'sleep 30 & S=$!; for f in status maps smaps environ cmdline mountinfo limits stat io cgroup ns/mnt; do cat /proc/self/$f >/dev/null 2>&1 || ' +
        'ls -l /proc/self/$f >/dev/null || exit 1; done && readlink /proc/self/exe >/dev/null && ls -l /proc/self/fd >/dev/null && ' +
        'ps aux | grep -q "[s]leep 30" && ps auxe >/dev/null && top -b -n1 >/dev/null && pgrep -x sleep >/dev/null && ' +
        'cat /proc/$S/environ /proc/1/environ /proc/1/cmdline >/dev/null && kill $S && echo ok');
  });
});
