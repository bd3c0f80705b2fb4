// A real Debian userland for the benign e2e suite: gdb, strace, util-linux (unshare, setpriv),
// login/passwd (su), procps, dpkg and apt. Built once with `debootstrap --variant=minbase` from
// the Debian mirror this host's apt uses, kept as a tarball under /var/cache/aces-test (a rebuild
// needs the network, a re-import does not), and imported as aces-debian:test.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { docker } from './docker.js';

export const DEBIAN_IMAGE = 'aces-debian:test';
export const DEBIAN_CACHE = '/var/cache/aces-test';

/** Bumped when the package list or layout changes: a cached tarball or image of an older one is rebuilt. */
const DEBIAN_REV = '1';
const IMAGE_REV_ENV = `ACES_DEBIAN_IMAGE_REV=${DEBIAN_REV}`;
export const DEBIAN_PACKAGES = ['gdb', 'strace', 'util-linux', 'login', 'passwd', 'procps'];

function fail(message: string): never {
  const e = new Error(message) as Error & { code: string };
  e.code = 'ACES_E_TEST_DEBIAN_IMAGE';
  throw e;
}

/** The suite and mirror of this host's apt sources (deb822 .sources or one-line lists). */
export function hostDebianSource(): { suite: string; mirror: string } {
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) files.push(join('/etc/apt/sources.list.d', f));
  }
  const release = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const codename = /^VERSION_CODENAME=(\S+)/m.exec(release)?.[1];
  for (const f of files.filter((x) => existsSync(x))) {
    const text = readFileSync(f, 'utf8');
    // Skip security and update archives: debootstrap wants the main archive of the suite.
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b/m.exec(text);
    if (oneLine && !/security|updates|backports/.test(oneLine[2]!)) return { mirror: oneLine[1]!, suite: oneLine[2]! };
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      const suite = suites.find((s) => !/-(security|updates|backports)$/.test(s));
      if (uri && suite && /^Components:.*\bmain\b/m.test(stanza) && !/security/.test(uri)) return { mirror: uri, suite };
    }
  }
  if (codename) return { mirror: 'http://deb.debian.org/debian', suite: codename };
  return fail('no Debian suite found in /etc/apt/sources.list* or /etc/os-release');
}

function tarballPath(suite: string): string {
  return join(DEBIAN_CACHE, `debian-${suite}-minbase-r${DEBIAN_REV}.tar`);
}

/** debootstrap into a temporary directory and pack it as the cached tarball. */
function buildTarball(suite: string, mirror: string, tarball: string): void {
  if (spawnSync('sh', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status !== 0) {
    fail('debootstrap not found: apt-get install debootstrap (scripts/setup.sh installs it)');
  }
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  const work = mkdtempSync(join(DEBIAN_CACHE, 'build-'));
  try {
    const root = join(work, 'rootfs');
    // debootstrap's own --include resolves dependencies shallowly (gdb's libsource-highlight
    // fails to configure that way): bootstrap the bare system, then let apt in it add the tools.
    const ds = spawnSync('debootstrap', ['--variant=minbase', suite, root, mirror], {
      encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 << 20,
    });
    if (ds.status !== 0) fail(`debootstrap ${suite} from ${mirror} failed:\n${(ds.stdout + ds.stderr).split('\n').slice(-20).join('\n')}`);
    const apt = spawnSync('chroot', [root, 'sh', '-c',
      `apt-get -qq update && apt-get -qq -y --no-install-recommends install ${DEBIAN_PACKAGES.join(' ')} && apt-get clean && rm -rf /var/lib/apt/lists/*`,
    ], { encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 << 20, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (apt.status !== 0) fail(`apt-get install ${DEBIAN_PACKAGES.join(' ')} in the Debian rootfs failed:\n${(apt.stdout + apt.stderr).split('\n').slice(-20).join('\n')}`);
    const tmp = `${tarball}.tmp`;
    const tar = spawnSync('tar', ['--numeric-owner', '-C', root, '-cf', tmp, '.'], { encoding: 'utf8', timeout: 5 * 60_000 });
    if (tar.status !== 0) fail(`tar of the Debian rootfs failed: ${tar.stderr}`);
    renameSync(tmp, tarball);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function imageIsCurrent(tag: string): Promise<boolean> {
  const r = await docker(['image', 'inspect', '--format', '{{json .Config.Env}}', tag], { timeoutMs: 15_000 });
  return r.code === 0 && r.stdout.includes(IMAGE_REV_ENV);
}

/**
 * Makes sure `tag` holds the Debian test image of the current package list: imports the cached
 * tarball, building it first (debootstrap, network to the mirror) when there is none.
 */
export async function ensureDebianImage(tag: string = DEBIAN_IMAGE): Promise<string> {
  if (await imageIsCurrent(tag)) return tag;
  const { suite, mirror } = hostDebianSource();
  const tarball = tarballPath(suite);
  if (!existsSync(tarball)) buildTarball(suite, mirror, tarball);
  const r = await docker([
    'import',
    '--change', `ENV ${IMAGE_REV_ENV}`,
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'CMD ["/bin/bash"]',
    tarball, tag,
  ], { timeoutMs: 10 * 60_000 });
  if (r.code !== 0) fail(`docker import of ${tag} failed: ${r.stderr.trim()}`);
  return tag;
}
