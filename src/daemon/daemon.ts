/**
 * The composition root of `aces run`: policy -> kernel probes -> tier plan -> load -> maps ->
 * attach -> ready line -> event pipeline, and the shutdown in reverse. Each stage lives in its
 * own module; this file only wires them.
 */
import { StartupError } from './startup-error.js';
import { InstanceLock, INSTANCE_LOCK_PATH } from './instance-lock.js';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { release } from 'node:os';
import { AcesObject, hostRootIdentity } from '../kernel/aces-object.js';
import { probeKernelFeatures, type KernelFeatures } from '../kernel/feature-probe.js';
import { planTiers, type TierPlan } from '../kernel/tier-plan.js';
import { NAMESPACED_SYSCTLS, namespacedSysctlsByBaseName } from '../kernel/namespaced-sysctls.js';
import { detectCgroupLayout, type CgroupLayout } from '../containers/cgroup-layout.js';
import { IdentityResolver, type ContainerIdentity } from '../containers/identity-resolver.js';
import { readPolicyFile } from '../policy/parse-policy.js';
import { DEFAULT_POLICY } from '../policy/default-policy.js';
import { compilePolicy, policyMapValues, type CompiledPolicy } from '../policy/compile-policy.js';
import { exemptRuleMask } from '../policy/exception-matcher.js';
import { RULES, ruleById } from '../policy/rules.js';
import type { Policy } from '../policy/policy-schema.js';
import { EventPipeline } from './event-pipeline.js';
import { Responder } from '../respond/responder.js';
import { eventToJson, EVENT_SCHEMA, type ContainerInfo, type EnrichedEvent, type RuleMeta } from '../output/event-json.js';
import { JsonLinesSink } from '../output/json-lines-sink.js';
import { formatConsoleLine } from '../output/console-view.js';
import { Metrics } from '../output/metrics.js';
import { splitKernelCounters } from '../output/kernel-counters.js';
import {
  KEY_CGROUP_V1, KEY_CGROUP_V2, LEVEL_ATTEMPT, LEVEL_BREACH, RUNTIME_BINARY, RUNTIME_SOCKET, TIER_CGROUP, TIER_LSM, TIER_SIGNAL,
} from '../wire/constants.js';
import { hostNamespaceInodes, runtimeBinaries, runtimeSockets } from '../kernel/host-objects.js';

export interface DaemonOptions {
  mode?: 'enforce' | 'monitor';
  policyPath?: string;
  eventsPath?: string;
  format?: 'json' | 'console';
  metrics?: string;
  /** Where start-up progress and problems go (stderr by default). */
  log?: (msg: string) => void;
}

export { StartupError };

const DRAIN_MS = 50;
/**
 * Alert-only events written per container and second; past that the kernel counts them and the
 * container's next event carries the count (`suppressed`). A flood of level-1 probes from one
 * container would otherwise fill the ring between two drains; decisions are never limited.
 */
export const ALERT_RATE_PER_CONTAINER = 1000;
const MAINTAIN_MS = 1000;
const RUNTIME_RESCAN_MS = 5000;

export class Daemon {
  private obj: AcesObject | undefined;
  private timers: NodeJS.Timeout[] = [];
  private sink: JsonLinesSink;
  private metricsServer: Server | undefined;
  private pipeline: EventPipeline | undefined;
  private stopped = false;
  readonly metrics = new Metrics();
  readonly startedAt = process.hrtime.bigint();

  private constructor(
    private readonly opts: DaemonOptions,
    readonly policy: Policy,
    readonly compiled: CompiledPolicy,
    readonly features: KernelFeatures,
    readonly plan: TierPlan,
    readonly layout: CgroupLayout,
    private readonly lock: InstanceLock,
  ) {
    try {
      this.sink = new JsonLinesSink(opts.eventsPath);
    } catch (err) {
      throw new StartupError('ACES_E_START_EVENTS', err instanceof Error ? err.message : String(err));
    }
  }

  private get log(): (msg: string) => void {
    return this.opts.log ?? ((m) => process.stderr.write(`aces: ${m}\n`));
  }

  /** Everything that can fail before the kernel is touched, then load and attach. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    if (process.getuid && process.getuid() !== 0) {
      throw new StartupError('ACES_E_START_NOT_ROOT', 'aces run needs root (CAP_BPF, CAP_SYS_ADMIN): run it with sudo');
    }
    const policy = opts.policyPath ? readPolicyFile(opts.policyPath) : DEFAULT_POLICY;
    const effective: Policy = opts.mode ? { ...policy, mode: opts.mode } : policy;
    // Checked before the kernel is probed: a broken policy fails fast and names its line.
    compilePolicy(effective);
    // Before the kernel is probed: a second daemon is refused at once.
    const lock = InstanceLock.acquire(INSTANCE_LOCK_PATH);
    let d: Daemon | undefined;
    try {
      const layout = detectCgroupLayout();
      const features = probeKernelFeatures();
      const plan = planTiers(RULES.map((r) => ({ name: r.name, tiers: r.tiers })), features);
      if (plan.fatal.length) {
        throw new StartupError('ACES_E_START_KERNEL', `this kernel cannot run ACES:\n  - ${plan.fatal.join('\n  - ')}\n` +
          'run `aces doctor` for the full report');
      }
      // Default actions depend on the tier a rule got (a deny where LSM can refuse the operation).
      const compiled = compilePolicy(effective, Object.fromEntries(plan.rules.map((r) => [r.rule, r.tier])));
      d = new Daemon(opts, effective, compiled, features, plan, layout, lock);
      await d.boot();
      return d;
    } catch (err) {
      // What start-up opened before it failed (boot closes its own BPF object).
      await d?.closeMetrics();
      await d?.sink.close();
      lock.release();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const m = this.metrics;
    m.counter('aces_ringbuf_records_total', 'Ring-buffer records received');
    m.counter('aces_events_total', 'Escape events by rule, level and applied action');
    m.counter('aces_invalid_records_total', 'Ring-buffer records that could not be decoded');
    m.counter('aces_unmatched_exits_total', 'Exit records with no waiting kill event');
    m.counter('aces_containers_seen_total', 'Containers announced by the kernel');
    m.counter('aces_pipeline_stage_errors_total', 'Records a pipeline stage failed on (counted, never thrown)');

    const resolver = new IdentityResolver({ layout: this.layout });
    const hostPidKeys = new Set<bigint>();

    // The metrics address first: a port already taken fails start-up before anything is loaded.
    if (this.opts.metrics) {
      try {
        this.metricsServer = await m.serve(this.opts.metrics);
      } catch (err) {
        throw new StartupError('ACES_E_START_METRICS',
          `cannot serve metrics on ${this.opts.metrics}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }

    const obj = AcesObject.load(this.plan.programs);
    this.obj = obj;
    try {
      const root = hostRootIdentity();
      const hostNs = hostNamespaceInodes();
      const values = policyMapValues(this.compiled);
      obj.writeConfig({
        mode: values.mode,
        key_source: this.layout.keySource === 'cgroup-v1' ? KEY_CGROUP_V1 : KEY_CGROUP_V2,
        key_subsys_id: this.layout.keySubsysId ?? 0,
        wakeup_level: LEVEL_ATTEMPT,
        offender_ttl_ns: values.offenderTtlNs,
        quarantine_on: 0,
        level_action: values.levelAction,
        host_ctrs: 0,
        host_root_dev: root.dev,
        host_root_ino: root.ino,
        host_mntns: hostNs.mnt ?? 0,
        alert_rate: ALERT_RATE_PER_CONTAINER,
      });
      obj.writeHostNamespaces(Object.values(hostNs));
      this.refreshRuntimeObjects(obj);
      // A rule whose tier is missing here is switched off in the kernel, and says so in the ready line.
      obj.writeRules(values.ruleCfg.map((r) => ({
        id: r.id,
        enabled: r.value.enabled === 1 && this.ruleEnforceable(ruleById(r.id)?.name ?? ''),
        level: r.value.level,
        action: r.value.action,
        tier: this.ruleTierId(ruleById(r.id)?.name ?? ''),
      })));
      obj.writeNamespacedSysctls(NAMESPACED_SYSCTLS, namespacedSysctlsByBaseName());

      const ruleMeta = (id: number): RuleMeta => {
        const r = ruleById(id);
        return r ? { id, name: r.name, title: r.title, attack: r.attack } : { id, name: `rule-${id}`, title: 'unknown rule', attack: '' };
      };
      const applyIdentity = (ident: ContainerIdentity): void => {
        const mask = exemptRuleMask(this.compiled, ident);
        obj.setExemptMask(ident.key, mask);
        if (ident.hostPid && !hostPidKeys.has(ident.key)) {
          hostPidKeys.add(ident.key);
          obj.registerHostPidContainer(ident.key);
          obj.updateConfig({ host_ctrs: hostPidKeys.size });
        }
      };
      const responder = new Responder({
        attachLazy: (n) => obj.attachLazy(n),
        detach: (n) => obj.detach(n),
        isAttached: (n) => obj.isAttached(n),
        quarantinedContainers: () => obj.quarantinedContainers(),
        liftQuarantine: (k) => obj.liftQuarantine(k),
        // updateConfig never leaves the gate shut on a container the kernel quarantined meanwhile.
        setQuarantineFlag: (on) => obj.updateConfig({ quarantine_on: on ? 1 : 0 }),
      }, {
        cgroupDirOf: (key) => {
          const ident = resolver.resolve(key);
          return ident.cgroupPath !== undefined ? join(this.layout.keyDir, ident.cgroupPath) : undefined;
        },
        isHostPidContainer: (key) => hostPidKeys.has(key),
        log: (msg) => this.log(msg),
      });

      this.pipeline = new EventPipeline({
        mode: this.compiled.mode,
        ruleMeta,
        identify: (key, pid) => toContainerInfo(resolver.resolve(key, pid)),
        onContainer: (rec) => {
          m.inc('aces_containers_seen_total');
          applyIdentity(resolver.resolve(rec.containerKey, rec.tgid));
        },
        onCgroup: (rec) => {
          // Only cgroups of the key hierarchy are container keys. A new container's runtime
          // files exist before its cgroups: its identity (and host-pid mode) is known now.
          if (rec.hierarchyId !== this.layout.keyHierarchyId) return;
          const ident = resolver.learn(rec.cgroupId, rec.path);
          if (ident.runtime !== 'unknown') applyIdentity(ident);
        },
        respond: (ev) => responder.onEvent(ev),
        output: (e) => this.output(e),
        count: (metric, labels) => {
          if (metric === 'records') m.inc('aces_ringbuf_records_total');
          else if (metric === 'invalid') m.inc('aces_invalid_records_total', labels);
          else if (metric === 'exits_unmatched') m.inc('aces_unmatched_exits_total');
          else if (metric === 'stage_errors') m.inc('aces_pipeline_stage_errors_total', labels);
        },
      });
      m.counterFrom('aces_kernel_drops_total', 'Kernel-side drops by reason (never silent)', () =>
        splitKernelCounters(obj.drops()).drops);
      m.counterFrom('aces_events_suppressed_total', 'Alert-only events the kernel rate limiter summarised into a later event', () =>
        splitKernelCounters(obj.drops()).suppressed);
      m.counterFrom('aces_output_dropped_total', 'Event lines dropped because the output fell behind', () => this.sink.dropped);
      m.gauge('aces_process_resident_bytes', 'Daemon resident set size', () => process.memoryUsage().rss);
      // Where the RSS goes: V8 heap (young and old generations), and memory outside it (Buffers).
      m.gauge('aces_process_memory_bytes', 'Daemon memory by kind (process.memoryUsage)', () => {
        const u = process.memoryUsage();
        return { heap_total: u.heapTotal, heap_used: u.heapUsed, external: u.external, array_buffers: u.arrayBuffers };
      }, 'kind');
      m.gauge('aces_map_memory_bytes', 'Upper bound of kernel map memory', () => obj.mapMemoryBytes());

      // Register what is already running before attaching, so exceptions hold from the start.
      for (const ident of resolver.listContainers()) applyIdentity(ident);
      obj.openEvents((records) => this.pipeline?.onBatch(records));
      obj.attachAll(this.features.cgroupV2.path);
      obj.seedRunningContainers();
      obj.drainEvents();

      this.timers.push(setInterval(() => obj.drainEvents(), DRAIN_MS));
      this.timers.push(setInterval(() => {
        responder.maintain();
        this.expireOffenders(obj);
      }, MAINTAIN_MS));
      // Runtime sockets are recreated (new inodes) when a runtime restarts.
      this.timers.push(setInterval(() => this.refreshRuntimeObjects(obj), RUNTIME_RESCAN_MS));
    } catch (err) {
      this.obj = undefined;
      obj.close();
      throw err;
    }
    this.writeReady();
  }

  private async closeMetrics(): Promise<void> {
    const server = this.metricsServer;
    this.metricsServer = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private refreshRuntimeObjects(obj: AcesObject): void {
    obj.setRuntimeObjects([
      ...runtimeBinaries().map((f) => ({ kind: RUNTIME_BINARY, dev: f.dev, ino: f.ino })),
      ...runtimeSockets().map((f) => ({ kind: RUNTIME_SOCKET, dev: f.dev, ino: f.ino })),
    ]);
  }

  private ruleEnforceable(name: string): boolean {
    const t = this.plan.rules.find((r) => r.rule === name);
    return t !== undefined && t.tier !== 'unavailable';
  }

  /** TIER_* of the rule's planned tier, for rule_cfg: only that tier's hooks judge it (0: any). */
  private ruleTierId(name: string): number {
    const t = this.plan.rules.find((r) => r.rule === name)?.tier;
    return t === 'lsm' ? TIER_LSM : t === 'cgroup' ? TIER_CGROUP : t === 'signal' ? TIER_SIGNAL : 0;
  }

  private expireOffenders(obj: AcesObject): void {
    const ttl = this.compiled.offenderTtlNs;
    if (ttl === 0n) return;
    const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns()
    for (const o of obj.offenders()) if (now - o.lastNs > ttl) obj.deleteOffender(o.kind, o.id);
  }

  private output(e: EnrichedEvent): void {
    this.metrics.inc('aces_events_total', { rule: e.rule.name, level: String(e.event.level), action: e.event.action });
    if (this.opts.format === 'console') process.stdout.write(formatConsoleLine(e));
    else this.sink.write(eventToJson(e));
    if (e.event.level >= LEVEL_BREACH) this.obj?.drainEvents();
  }

  private writeReady(): void {
    const ms = Number(process.hrtime.bigint() - this.startedAt) / 1e6;
    const line = {
      schema: EVENT_SCHEMA,
      kind: 'ready',
      time: new Date().toISOString(),
      mode: this.compiled.mode,
      kernel: release(),
      startup_ms: Math.round(ms),
      cgroup: { mode: this.layout.mode, key_source: this.layout.keySource, key_controller: this.layout.keyController },
      programs: this.obj?.attachedPrograms() ?? [],
      rules: this.compiled.rules.map((r) => {
        const t = this.plan.rules.find((x) => x.rule === r.name);
        return {
          rule: r.name, id: r.id, enabled: r.enabled, level: r.level, action: r.action,
          tier: t?.tier ?? 'unavailable', note: t?.note,
        };
      }),
    };
    if (this.opts.format === 'console') {
      process.stdout.write(`aces: protection live in ${line.mode} mode (${line.rules.length} rules, ${Math.round(ms)} ms)\n`);
      for (const r of line.rules) process.stdout.write(`  ${r.rule.padEnd(22)} L${r.level} ${r.action.padEnd(10)} tier=${r.tier}${r.enabled ? '' : ' (disabled)'}\n`);
    } else {
      this.sink.write(line);
    }
  }

  /** Detach links, close the ring buffer, flush outputs, close the object. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.obj?.detachAll();
    this.obj?.drainEvents();
    this.pipeline?.flush();
    this.obj?.close();
    this.obj = undefined;
    await this.closeMetrics();
    if (this.opts.format !== 'console') this.sink.write({ schema: EVENT_SCHEMA, kind: 'stopped', time: new Date().toISOString() });
    await this.sink.close();
    this.lock.release();
  }
}

function toContainerInfo(i: ContainerIdentity): ContainerInfo {
  return {
    key: i.key, runtime: i.runtime, id: i.id, name: i.name, image: i.image,
    labels: i.labels ? { ...i.labels } : undefined, podUid: i.podUid, podName: i.podName,
    namespace: i.namespace, cgroupPath: i.cgroupPath,
  };
}
