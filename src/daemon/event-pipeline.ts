/**
 * Ring-buffer batches -> decoded records -> container identity -> response -> outputs.
 * Kill events wait (briefly) for the killed task's exit record so the line carries the exit
 * time; nothing here throws across stages: bad records and failed lookups are counted.
 */
import { decodeRecord, type KernelCgroup, type KernelContainer, type KernelEvent } from '../wire/decode-record.js';
import type { ContainerInfo, EnrichedEvent, RuleMeta } from '../output/event-json.js';

const EXIT_WAIT_MS = 250;

export interface PipelineStages {
  mode: 'enforce' | 'monitor';
  ruleMeta(id: number): RuleMeta;
  identify(key: bigint, hintPid: number): ContainerInfo | null;
  onContainer(rec: KernelContainer, identity: ContainerInfo | null): void;
  /** A cgroup was created: a container may be starting. */
  onCgroup(rec: KernelCgroup): void;
  respond(ev: KernelEvent): string[];
  output(e: EnrichedEvent): void;
  count(metric: 'records' | 'invalid' | 'events' | 'exits_unmatched' | 'stage_errors', labels?: Record<string, string>): void;
}

interface Pending {
  enriched: EnrichedEvent;
  timer: NodeJS.Timeout;
}

export class EventPipeline {
  private pending = new Map<string, Pending>();

  constructor(private readonly s: PipelineStages) {}

  onBatch(records: Buffer[]): void {
    for (const buf of records) {
      this.s.count('records');
      const rec = decodeRecord(buf);
      switch (rec.type) {
        case 'invalid':
          this.s.count('invalid', { reason: rec.reason });
          break;
        case 'container':
          // onContainer writes kernel maps (exemption mask, host-pid registration): a failed map
          // update must not lose the rest of the batch or unwind into the ring-buffer poll.
          try {
            this.s.onContainer(rec, this.safeIdentify(rec.containerKey, rec.tgid));
          } catch {
            this.s.count('stage_errors', { stage: 'container' });
          }
          break;
        case 'cgroup':
          try {
            this.s.onCgroup(rec);
          } catch {
            this.s.count('stage_errors', { stage: 'cgroup' });
          }
          break;
        case 'exit': {
          const key = `${rec.seq}:${rec.pid}`;
          const p = this.pending.get(key);
          if (!p) {
            this.s.count('exits_unmatched');
            break;
          }
          clearTimeout(p.timer);
          this.pending.delete(key);
          this.emit({ ...p.enriched, tsExit: rec.tsExit });
          break;
        }
        case 'event':
          this.onEvent(rec);
          break;
      }
    }
  }

  private safeIdentify(key: bigint, pid: number): ContainerInfo | null {
    if (key === 0n) return null;
    try {
      return this.s.identify(key, pid);
    } catch {
      return { key, runtime: 'unknown' };
    }
  }

  private onEvent(ev: KernelEvent): void {
    this.s.count('events', { rule: String(ev.rule), action: ev.action });
    let response: string[] = [];
    try {
      response = this.s.respond(ev);
    } catch (err) {
      response = [`response failed: ${err instanceof Error ? err.message : String(err)}`];
    }
    const enriched: EnrichedEvent = {
      event: ev,
      rule: this.s.ruleMeta(ev.rule),
      container: this.safeIdentify(ev.containerKey, ev.tgid),
      mode: this.s.mode,
      receivedAt: new Date(),
      response,
    };
    // Signal-tier and LSM hooks send the SIGKILL themselves (cgroup hooks cannot: user space kills).
    const killedInKernel = !ev.monitor && (ev.action === 'kill' || ev.action === 'quarantine') &&
      (ev.tier === 'signal' || ev.tier === 'lsm');
    if (!killedInKernel) {
      this.emit(enriched);
      return;
    }
    const key = `${ev.seq}:${ev.pid}`;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.emit(enriched);
    }, EXIT_WAIT_MS);
    this.pending.set(key, { enriched, timer });
  }

  /** Write every event still waiting for its exit record. */
  flush(): void {
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(key);
      this.emit(p.enriched);
    }
  }

  // Output also runs from a timer, where a throw would be an uncaught exception.
  private emit(e: EnrichedEvent): void {
    try {
      this.s.output(e);
    } catch {
      this.s.count('stage_errors', { stage: 'output' });
    }
  }
}
