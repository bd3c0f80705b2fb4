// The repeat-offender fast path and the per-container rate limit of alert-only events, on this
// kernel with the real daemon and "containers" made by unshare (a shell in its own pid namespace,
// in its own cgroup).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isRoot, patience, skipUnlessRoot } from '../helpers/root.js';
import { startAces, type AcesRun, type EventLine, type StartAcesOptions } from '../helpers/aces-daemon.js';
import { makeTestCgroup, runInPidns, type TestCgroup } from '../helpers/fake-container.js';
import { buildTool } from '../helpers/tools.js';
import { detectCgroupLayout } from '../../src/containers/cgroup-layout.js';
import { ALERT_RATE_PER_CONTAINER } from '../../src/daemon/daemon.js';
import { cgroupKey, freePort } from '../../bench/bench-env.js';

const layout = isRoot() ? detectCgroupLayout() : undefined;
const PIDS_RA = layout ? join(layout.keyDir, 'release_agent') : '';

function eventsOf(aces: AcesRun, c: TestCgroup, rule: string): EventLine[] {
  const key = cgroupKey(c);
  return aces.events().filter((e) => e.rule === rule && e.container?.key === key);
}

async function until<T>(what: string, f: () => T | undefined, ms = patience(10_000)): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One daemon for a describe block (root only), its test cgroups removed after it. */
function daemonForSuite(opts: () => Promise<StartAcesOptions>): { aces: () => AcesRun; cg: () => TestCgroup } {
  let aces: AcesRun | undefined;
  const cgroups: TestCgroup[] = [];
  before(async () => {
    if (isRoot()) aces = await startAces(await opts());
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0);
    cgroups.forEach((c) => c.cleanup());
  });
  return {
    aces: () => aces!,
    cg: () => {
      const c = makeTestCgroup();
      cgroups.push(c);
      return c;
    },
  };
}

describe('repeat-offender fast path', { concurrency: false }, () => {
  // Every level only alerts: the offender lives on and offends again.
  const d = daemonForSuite(async () => ({
    policyYaml: 'apiVersion: aces/v1\nmode: enforce\noffenderTtl: 10m\nlevels: { 1: alert, 2: alert, 3: alert }\n' +
      'rules:\n  release-agent-write: { action: alert }\n',
  }));
  const cg = d.cg;

  test('the same object again is decided from the offender record, escalated like a full check', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`for i in 1 2 3; do exec 3>>${PIDS_RA}; exec 3>&-; done; echo done`, { cgroup: c });
    assert.match(r.stdout, /done/);
    const evs = await until('three release_agent write events', () => {
      const e = eventsOf(d.aces(), c, 'release-agent-write');
      return e.length >= 3 ? e : undefined;
    });
    assert.equal(evs.length, 3);
    assert.equal(evs[0]!.decided_by, 'full_check');
    assert.equal(evs[0]!.offender, false);
    for (const e of evs.slice(1)) {
      assert.equal(e.decided_by, 'fast_path');
      assert.equal(e.offender, true);
      assert.equal(e.escalated, true);
      assert.equal(e.level, 3);
      assert.equal(e.process.pid, evs[0]!.process.pid);
    }
  });

  test('another object, or another process of the offending container, takes the full check', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    // The shell offends by write, then reads the same file: another open mode, so not the
    // recorded object, and the full check runs (escalated through the process record).
    const r = runInPidns(`exec 3>>${PIDS_RA}; exec 3>&-; : < ${PIDS_RA}; echo done`, { cgroup: c });
    assert.match(r.stdout, /done/);
    const read = await until('the read event', () => eventsOf(d.aces(), c, 'release-agent-read')[0]);
    assert.equal(read.decided_by, 'full_check');
    assert.equal(read.offender, true, 'still a recorded offender: escalated by the full check');
    assert.equal(read.escalated, true);
    // A second process of the same container, never an offender itself: full check, escalated
    // through the container record.
    const r2 = runInPidns(`exec 3>>${PIDS_RA}; exec 3>&-; echo done`, { cgroup: c });
    assert.match(r2.stdout, /done/);
    const writes = await until('the second process\'s write', () => {
      const e = eventsOf(d.aces(), c, 'release-agent-write');
      return e.length >= 2 ? e : undefined;
    });
    const second = writes.find((e) => e.process.pid !== writes[0]!.process.pid)!;
    assert.ok(second, 'an event of the second process');
    assert.equal(second.decided_by, 'full_check');
    assert.equal(second.offender, true);
  });
});

async function suppressedMetric(addr: string): Promise<number> {
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  // Every reason (rate limit, ring headroom): both are carried by the container's next event.
  let n = 0;
  for (const m of text.matchAll(/^aces_events_suppressed_total\{reason="[a-z_]+"\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe('rate limit of alert-only events', { concurrency: false }, () => {
  let addr = '';
  // The write kills; escalated levels only alert, so the container's later probes (raised to
  // level 2 by the container's offender record) are still alert-only and the shell lives on.
  const d = daemonForSuite(async () => {
    addr = `127.0.0.1:${await freePort()}`;
    return {
      policyYaml: 'apiVersion: aces/v1\nmode: enforce\nlevels: { 2: alert, 3: alert }\n' +
        'rules:\n  release-agent-write: { action: kill }\n',
      extraArgs: ['--metrics', addr],
    };
  });

  test('a flood is limited per container and counted; the count rides in later events; a kill still lands', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = d.cg();
    const n = 3 * ALERT_RATE_PER_CONTAINER;
    const before = await suppressedMetric(addr);
    // n level-1 probes in a tight C loop (a shell's redirections are too slow on an emulated
    // CPU: the flood would spread over several windows and the last one would not fill), a
    // level-2 write in a child (killed) in the same window, then, in a new window, one more probe.
    const loop = buildTool('open-loop');
    const r = runInPidns(
      `${loop} ${PIDS_RA} ${n}; ` +
      `sh -c 'exec 3>>${PIDS_RA}'; echo kill-status=$?; sleep 1.2; : < ${PIDS_RA}; echo done`,
      { cgroup: c, timeoutMs: 60_000 },
    );
    assert.match(r.stdout, new RegExp(`opened=${n}\\n`), r.stdout + r.stderr);
    assert.match(r.stdout, /kill-status=137/, 'the write was killed during the flood');
    assert.match(r.stdout, /done/);
    const kill = await until('the kill event', () => eventsOf(d.aces(), c, 'release-agent-write')[0]);
    assert.equal(kill.action, 'kill');
    assert.ok((kill.suppressed ?? 0) > 0, 'the kill, the container\'s next event after the flood, carries the count');
    // Written probes plus the counts carried by the container's events add up to all probes
    // (the daemon drains every 50 ms: wait until the last probe is in).
    const carriedBy = (evs: EventLine[]): number => evs.reduce((a, e) => a + (e.suppressed ?? 0), 0);
    let reads: EventLine[] = [];
    let carried = 0;
    try {
      await until('every probe accounted for', () => {
        reads = eventsOf(d.aces(), c, 'release-agent-read');
        carried = carriedBy([...reads, kill]);
        return reads.length + carried >= n + 1 ? true : undefined;
      });
    } catch { /* the equality below reports the figures */ }
    assert.equal(reads.length + carried, n + 1, `${reads.length} written + ${carried} carried`);
    assert.ok(reads.length <= 2 * ALERT_RATE_PER_CONTAINER + 1, `${reads.length} probes written`);
    assert.ok(carried >= n - 2 * ALERT_RATE_PER_CONTAINER, `${carried} carried`);
    assert.equal(await suppressedMetric(addr) - before, carried, 'the metric counts the same');
  });

  test('with the ring filling up (daemon stopped), alerts are summarised and a kill\'s event is still written', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const containers = 24;
    const perContainer = ALERT_RATE_PER_CONTAINER + 100;
    const daemonPid = d.aces().child.pid!;
    const before = await suppressedMetric(addr);
    // Stopped, the daemon drains nothing: 24 containers x 1000 admitted alerts (~190 B each)
    // pass the 3 MiB at which alerts leave the ring's last quarter to decisions.
    process.kill(daemonPid, 'SIGSTOP');
    let killOut = '';
    const cs: TestCgroup[] = [];
    try {
      for (let i = 0; i < containers; i++) {
        const c = d.cg();
        cs.push(c);
        runInPidns(`i=0; while [ $i -lt ${perContainer} ]; do : < ${PIDS_RA}; i=$((i+1)); done`, { cgroup: c, timeoutMs: 60_000 });
      }
      const victim = d.cg();
      cs.push(victim);
      killOut = runInPidns(`sh -c 'exec 3>>${PIDS_RA}'; echo kill-status=$?`, { cgroup: victim }).stdout;
    } finally {
      process.kill(daemonPid, 'SIGCONT');
    }
    assert.match(killOut, /kill-status=137/);
    const kill = await until('the kill event', () => eventsOf(d.aces(), cs[cs.length - 1]!, 'release-agent-write')[0]);
    assert.equal(kill.action, 'kill');
    const text = await (await fetch(`http://${addr}/metrics`)).text();
    const headroom = /^aces_events_suppressed_total\{reason="ring_headroom"\} (\d+)$/m.exec(text);
    assert.ok(headroom && Number(headroom[1]) > 0, 'alerts were held back for the decisions\' headroom');
    const lost = /^aces_kernel_drops_total\{reason="ringbuf"\} (\d+)$/m.exec(text);
    assert.equal(Number(lost?.[1] ?? 0), 0, 'no record lost to a full ring');
    assert.ok(await suppressedMetric(addr) - before >= containers * (perContainer - ALERT_RATE_PER_CONTAINER));
  });
});
