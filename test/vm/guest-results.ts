// Reading a guest's results back on the host: summary.json and the TAP files of its test runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestSummary } from './guest-run.js';

export interface TapTest {
  /** Suite names and the test's own, joined with " > ". */
  readonly name: string;
  readonly ok: boolean;
  readonly skip?: string;
  /** The YAML diagnostic block under a failed test (error, expected, actual ...). */
  readonly detail: string;
}

interface Entry {
  depth: number;
  name: string;
  ok: boolean;
  skip?: string;
  detail: string;
  parent?: number;
}

/**
 * Leaf tests of a node:test TAP stream (suites are only name prefixes). node:test prints a
 * suite's subtests, indented four spaces deeper, before the suite's own result line.
 */
export function parseTap(text: string): TapTest[] {
  const entries: Entry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^((?: {4})*)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/.exec(lines[i]!);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    let detail = '';
    if (m[2] === 'not ok') {
      const block: string[] = [];
      for (let j = i + 1; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]!); j++) block.push(lines[j]!.slice(m[1]!.length));
      detail = block.join('\n');
    }
    const e: Entry = { depth, name: m[3]!, ok: m[2] === 'ok', detail, ...(m[4] === 'SKIP' ? { skip: m[5] ?? '' } : {}) };
    const idx = entries.length;
    for (let j = idx - 1; j >= 0 && entries[j]!.depth > depth; j--) {
      if (entries[j]!.depth === depth + 1 && entries[j]!.parent === undefined) entries[j]!.parent = idx;
    }
    entries.push(e);
  }
  const isParent = new Set(entries.map((e) => e.parent).filter((p): p is number => p !== undefined));
  const childFailed = new Set(entries.filter((e) => !e.ok && e.parent !== undefined).map((e) => e.parent!));
  const fullName = (i: number): string => {
    const e = entries[i]!;
    return e.parent === undefined ? e.name : `${fullName(e.parent)} > ${e.name}`;
  };
  const out: TapTest[] = [];
  entries.forEach((e, i) => {
    // A suite that failed in a hook (before/after) reports itself: keep it as a test then.
    if (isParent.has(i) && (e.ok || childFailed.has(i))) return;
    out.push({ name: fullName(i), ok: e.ok, detail: e.detail, ...(e.skip !== undefined ? { skip: e.skip } : {}) });
  });
  return out;
}

export function readSummary(resultsDir: string): GuestSummary | undefined {
  const p = join(resultsDir, 'summary.json');
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as GuestSummary;
}

export function readTap(resultsDir: string, tap: string): TapTest[] {
  const p = join(resultsDir, tap);
  return existsSync(p) ? parseTap(readFileSync(p, 'utf8')) : [];
}
