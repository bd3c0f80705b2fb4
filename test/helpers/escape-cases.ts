// Table-driven escape cases for the e2e tier: each case is the public proof-of-concept shape of
// one technique, run in a real container once with ACES in monitor mode (the escape works and is
// reported, then it is cleaned up) and once in enforce mode (the host is untouched, the attacker
// is dead or denied, the event says what was done).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { skipUnlessRoot } from './root.js';
import { runContainer, type ContainerResult } from './docker.js';
import { buildTool } from './tools.js';
import { containerName, withAces, type Mode } from './escape-suite.js';
import type { EventLine } from './aces-daemon.js';

export interface CaseContext {
  /** Host pid of a process the test started (for --pid host cases). */
  hostPid: number;
  /** Anything the case's setup returned. */
  data: Record<string, string>;
}

export interface EscapeCase {
  tag: string;
  rule: string;
  /** docker run flags (the tools are mounted at /t). */
  args: (c: CaseContext) => string[];
  script: (c: CaseContext) => string;
  /** Host-side preparation; returns data for the script and the checks. */
  setup?: () => Record<string, string> | Promise<Record<string, string>>;
  /** The escape worked (monitor mode). */
  escaped: (r: ContainerResult, c: CaseContext) => void | Promise<void>;
  /** The host is untouched (enforce mode). */
  contained: (r: ContainerResult, c: CaseContext, ev: EventLine) => void | Promise<void>;
  /** Undo what a successful escape did and what setup made. */
  cleanup?: (c: CaseContext) => void | Promise<void>;
  /** Action expected in enforce mode (default kill). */
  action?: string;
  level?: number;
}

export const TOOLS = [
  'keyring', 'ptrace-poke', 'shocker', 'unix-get', 'bpf-load', 'perf-open', 'uring-write', 'fd-pass', 'newmount', 'process-vm', 'exe-reopen',
] as const;

export function toolsMount(): string[] {
  let dir = '';
  for (const t of TOOLS) dir = dirname(buildTool(t));
  return ['-v', `${dir}:/t:ro`];
}

export function defineEscapeCases(family: string, cases: EscapeCase[], hostPid: () => number, policyYaml?: string): void {
  for (const mode of ['monitor', 'enforce'] as Mode[]) {
    describe(`${family} (${mode})`, { concurrency: false }, () => {
      const aces = withAces(mode, policyYaml);
      for (const c of cases) {
        test(c.tag, async (t) => {
          if (!skipUnlessRoot(t)) return;
          const ctx: CaseContext = { hostPid: hostPid(), data: {} };
          try {
            ctx.data = (await c.setup?.()) ?? {};
            const name = containerName(c.tag);
            const r = await runContainer({ name, args: [...toolsMount(), ...c.args(ctx)], cmd: ['sh', '-c', c.script(ctx)] });
            const ev = await aces().waitForEvent((e) => e.rule === c.rule && e.container?.name === name);
            assert.equal(ev.level, c.level ?? 2, 'level');
            assert.equal(ev.container?.image, 'aces-busybox:test');
            if (mode === 'monitor') {
              assert.equal(ev.action, 'alert');
              assert.equal(ev.monitor, true);
              await c.escaped(r, ctx);
            } else {
              assert.equal(ev.action, c.action ?? 'kill', `action (${JSON.stringify(ev)})`);
              await c.contained(r, ctx, ev);
            }
          } finally {
            await c.cleanup?.(ctx);
          }
        });
      }
    });
  }
}
