// YAML policy text -> validated Policy. The parser walks the YAML syntax tree instead of the plain
// JavaScript value so that every problem can name its line, column and field; it collects every
// issue before throwing, so one run of `aces policy check` shows all of them.
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { compilePolicy, type CompiledPolicy } from './compile-policy.js';
import { DEFAULT_OFFENDER_TTL_SECONDS } from './default-policy.js';
import { globProblem } from './exception-matcher.js';
import {
  ACES_E_POLICY_INVALID,
  ACES_E_POLICY_READ,
  ACES_E_POLICY_SYNTAX,
  ACTIONS,
  LEVELS,
  MODES,
  POLICY_API_VERSION,
  PolicyError,
  formatIssue,
  type ActionName,
  type Level,
  type Policy,
  type PolicyException,
  type PolicyIssue,
  type RuleOverride,
} from './policy-schema.js';
import { RULES, ruleByName, type Rule, type RuleTier } from './rules.js';

/** Policies are a few hundred bytes; anything near this is not a policy. */
export const POLICY_MAX_BYTES = 1024 * 1024;

/** Longest offender TTL accepted (365 days); for longer, 0 (never expire) says what is meant. */
export const OFFENDER_TTL_MAX_SECONDS = 365 * 86_400;

/** At most this many issues are spelled out in an error message; `issues` always has them all. */
const MESSAGE_MAX_ISSUES = 50;

const TOP_FIELDS = ['apiVersion', 'mode', 'offenderTtl', 'levels', 'rules', 'exceptions'] as const;
const RULE_FIELDS = ['enabled', 'level', 'action'] as const;
const EXCEPTION_FIELDS = ['name', 'image', 'labels', 'rules'] as const;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION_RE = /^([0-9]{1,9})(s|m|h|d)$/;
const DURATION_EXPECTED = 'a duration such as 90s, 10m, 2h, 1d, or 0 (never expire)';

/**
 * Seconds in a policy duration (`90s`, `10m`, `2h`, `1d`; `0` or `"0"` for never), or a string
 * saying what was expected when `value` is not one.
 */
export function parseDuration(value: string | number): number | string {
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string') return DURATION_EXPECTED;
  const m = DURATION_RE.exec(value);
  if (m === null) return DURATION_EXPECTED;
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
  // "0s" is refused rather than read as "never": someone who writes it may well mean "at once".
  if (seconds === 0) return 'a duration longer than 0, or 0 alone for never expire';
  if (seconds > OFFENDER_TTL_MAX_SECONDS) return 'a duration of at most 365d, or 0 (never expire)';
  return seconds;
}

/** `seconds` in the largest unit that divides it exactly (600 -> "10m", 0 -> "0"). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

interface Pos {
  line: number;
  column: number;
}

/** A policy and the non-fatal remarks about it. */
export interface ParsedPolicy {
  policy: Policy;
  /** Settings that are valid but will not do what they say on this rule catalogue. */
  warnings: PolicyIssue[];
}

/** Parses and validates policy YAML. `source` names the text in messages (usually its path). */
export function parsePolicy(text: string, source: string): Policy {
  return parsePolicyWithWarnings(text, source).policy;
}

/** {@link parsePolicy}, also returning warnings for `aces policy check`. */
export function parsePolicyWithWarnings(text: string, source: string): ParsedPolicy {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({
      ...at(e.pos[0]), path: '',
      // The library's own text for this one tells a programmer which function to call.
      message: e.code === 'MULTIPLE_DOCS'
        ? 'YAML syntax: a policy is one YAML document, this "---" starts a second one'
        : `YAML syntax: ${e.message}`,
    }));
    throw policyError(ACES_E_POLICY_SYNTAX, source, issues);
  }
  const walker = new Walker(doc, text, at);
  const policy = walker.policy();
  if (walker.issues.length > 0) throw policyError(ACES_E_POLICY_INVALID, source, sortIssues(walker.issues));
  return { policy, warnings: sortIssues(walker.warnings(policy)) };
}

/** Reads and parses the policy file at `path`; unreadable files throw ACES_E_POLICY_READ. */
export function readPolicyFile(path: string): Policy {
  return parsePolicy(readPolicyText(path), path);
}

export type PolicyCheckResult =
  | { ok: true; summary: string }
  | { ok: false; code: PolicyError['code']; message: string };

/**
 * `aces policy check FILE`: validates and compiles the file. On success the summary shows what
 * the daemon would enforce (every rule with its resolved level and action, the exceptions, and
 * any warnings); on failure the message lists every issue as `FILE:LINE:COL: path: ...`.
 */
export function checkPolicyFile(path: string): PolicyCheckResult {
  let parsed: ParsedPolicy;
  try {
    parsed = parsePolicyWithWarnings(readPolicyText(path), path);
  } catch (err) {
    if (err instanceof PolicyError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
  return { ok: true, summary: summarizePolicy(path, parsed.policy, compilePolicy(parsed.policy), parsed.warnings) };
}

function summarizePolicy(path: string, p: Policy, c: CompiledPolicy, warnings: PolicyIssue[]): string {
  const enabled = c.rules.filter((r) => r.enabled).length;
  const ttl = p.offenderTtlSeconds === 0 ? '0 (never expire)' : formatDuration(p.offenderTtlSeconds);
  const lines = [
    `${path}: valid ${p.apiVersion} policy`,
    `mode: ${c.mode}${c.mode === 'monitor' ? ' (actions are reported, not applied)' : ''}`,
    `offender TTL: ${ttl}`,
    `escalated levels: L1 ${c.levelActions[1]}, L2 ${c.levelActions[2]}, L3 ${c.levelActions[3]}`,
    `rules: ${enabled} of ${c.rules.length} enabled`,
  ];
  const width = Math.max(...c.rules.map((r) => r.name.length));
  for (const r of c.rules) {
    const state = r.enabled ? `L${r.level}  ${r.action}` : 'disabled';
    lines.push(`  ${String(r.id).padStart(2)}  ${r.name.padEnd(width)}  ${state}`);
  }
  lines.push(`exceptions: ${c.exceptions.length}`);
  c.exceptions.forEach((ex, i) => {
    const sel: string[] = [];
    if (ex.name !== undefined) sel.push(`name=${ex.name}`);
    if (ex.image !== undefined) sel.push(`image=${ex.image}`);
    for (const [k, v] of Object.entries(ex.labels ?? {})) sel.push(`label ${k}=${v}`);
    const src = p.exceptions[i];
    const rules = src !== undefined && src.rules.includes('*') ? 'all rules' : ex.ruleIds.map((id) => c.rules.find((r) => r.id === id)?.name).join(', ');
    lines.push(`  [${i}] ${sel.join(' ')} -> ${rules}`);
  });
  if (warnings.length > 0) {
    lines.push(`warnings: ${warnings.length}`);
    for (const w of warnings) lines.push(`  ${formatIssue(path, w)}`);
  }
  return lines.join('\n');
}

function readPolicyText(path: string): string {
  const fail = (message: string, cause?: unknown): PolicyError =>
    new PolicyError(ACES_E_POLICY_READ, path, [{ line: 0, column: 0, path: '', message }], undefined, { cause });
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw fail(`cannot read policy file: expected a regular file, got a ${fileKind(st)}`);
    if (st.size > POLICY_MAX_BYTES) {
      throw fail(`cannot read policy file: expected at most ${POLICY_MAX_BYTES} bytes, got ${st.size}`);
    }
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw fail(`cannot read policy file: ${e.message}`, err);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw fail('cannot read policy file: expected UTF-8 text, got invalid byte sequences', err);
  }
}

function fileKind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

function policyError(code: PolicyError['code'], source: string, issues: PolicyIssue[]): PolicyError {
  const shown = issues.slice(0, MESSAGE_MAX_ISSUES).map((i) => formatIssue(source, i));
  if (issues.length > MESSAGE_MAX_ISSUES) shown.push(`... and ${issues.length - MESSAGE_MAX_ISSUES} more issues`);
  return new PolicyError(code, source, issues, shown.join('\n'));
}

function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

// A node of the syntax tree as the walker sees it: `node` is what the value resolves to (through
// an alias if need be), `pos` is where the user wrote it, `text` its source text.
interface Val {
  node: unknown;
  pos: Pos;
  text: string;
  path: string;
}

class Walker {
  readonly issues: PolicyIssue[] = [];
  // Where each action came from, for warnings: "rules.<name>.action" or "levels.<n>".
  private readonly actionPos = new Map<string, Pos>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly src: string,
    private readonly at: (offset: number) => Pos,
  ) {}

  policy(): Policy {
    const out: Policy = {
      apiVersion: POLICY_API_VERSION,
      mode: 'enforce',
      offenderTtlSeconds: DEFAULT_OFFENDER_TTL_SECONDS,
      levels: {},
      rules: {},
      exceptions: [],
    };
    const root = this.val(this.doc.contents, '', 0);
    if (root.node === null) {
      this.bad(root.pos, '', `expected a mapping with apiVersion: ${POLICY_API_VERSION}, got an empty document`);
      return out;
    }
    if (!isMap(root.node)) {
      this.expect(root, 'a mapping of policy fields');
      return out;
    }
    let sawApi = false;
    for (const [key, value] of this.fields(root, TOP_FIELDS)) {
      switch (key) {
        case 'apiVersion':
          sawApi = true;
          if (this.str(value) !== POLICY_API_VERSION) this.expect(value, POLICY_API_VERSION);
          break;
        case 'mode': {
          const m = this.oneOf(value, MODES);
          if (m !== undefined) out.mode = m;
          break;
        }
        case 'offenderTtl': {
          const raw = isScalar(value.node) ? value.node.value : undefined;
          const s = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : DURATION_EXPECTED;
          if (typeof s === 'number') out.offenderTtlSeconds = s;
          else this.expect(value, s);
          break;
        }
        case 'levels':
          out.levels = this.levels(value);
          break;
        case 'rules':
          out.rules = this.rules(value);
          break;
        case 'exceptions':
          out.exceptions = this.exceptions(value);
          break;
      }
    }
    if (!sawApi) this.bad(root.pos, 'apiVersion', `expected ${POLICY_API_VERSION}, got nothing (apiVersion is required)`);
    return out;
  }

  private levels(v: Val): Partial<Record<Level, ActionName>> {
    const out: Partial<Record<Level, ActionName>> = {};
    if (this.isEmpty(v) || !this.requireMap(v, 'a mapping of level (1, 2, 3) to action')) return out;
    for (const [k, value] of this.pairs(v)) {
      // `1:` is a number key, `"1":` a string one; both mean level 1.
      const raw = isScalar(k.node) ? k.node.value : undefined;
      const level = typeof raw === 'number' || (typeof raw === 'string' && /^[123]$/.test(raw)) ? Number(raw) : NaN;
      if (!LEVELS.includes(level as Level)) {
        this.expect({ ...k, path: `levels.${k.text}` }, 'a level 1, 2 or 3');
        continue;
      }
      const action = this.oneOf(value, ACTIONS);
      if (action !== undefined) {
        out[level as Level] = action;
        this.actionPos.set(`levels.${level}`, value.pos);
      }
    }
    return out;
  }

  private rules(v: Val): Record<string, RuleOverride> {
    const out: Record<string, RuleOverride> = {};
    if (this.isEmpty(v) || !this.requireMap(v, 'a mapping of rule name to override')) return out;
    for (const [k, value] of this.pairs(v)) {
      const name = this.str(k);
      const rule = name === undefined ? undefined : ruleByName(name);
      if (rule === undefined) {
        this.expect({ ...k, path: `rules.${k.text}` }, `a rule name (${RULES.map((r) => r.name).join(', ')})`, suggest(name, RULES.map((r) => r.name)));
        continue;
      }
      if (!this.requireMap(value, 'a mapping with enabled, level and/or action')) continue;
      const o: RuleOverride = {};
      for (const [field, fv] of this.fields(value, RULE_FIELDS)) {
        if (field === 'enabled') {
          if (isScalar(fv.node) && typeof fv.node.value === 'boolean') o.enabled = fv.node.value;
          else this.expect(fv, 'true or false');
        } else if (field === 'level') {
          const lv = isScalar(fv.node) ? fv.node.value : undefined;
          if (typeof lv === 'number' && LEVELS.includes(lv as Level)) o.level = lv as Level;
          else this.expect(fv, '1, 2 or 3');
        } else {
          const a = this.oneOf(fv, ACTIONS);
          if (a !== undefined) {
            o.action = a;
            this.actionPos.set(`rules.${rule.name}.action`, fv.pos);
          }
        }
      }
      out[rule.name] = o;
    }
    return out;
  }

  private exceptions(v: Val): PolicyException[] {
    const out: PolicyException[] = [];
    if (this.isEmpty(v)) return out;
    if (!isSeq(v.node)) {
      this.expect(v, 'a list of exceptions');
      return out;
    }
    v.node.items.forEach((item, i) => {
      const ev = this.val(item, `exceptions[${i}]`, this.offset(item) ?? 0);
      if (!this.requireMap(ev, 'a mapping with name, image, labels and rules')) return;
      const ex: { name?: string; image?: string; labels?: Record<string, string>; rules?: string[] } = {};
      let sawSelector = false;
      let sawRules = false;
      for (const [field, fv] of this.fields(ev, EXCEPTION_FIELDS)) {
        if (field === 'name' || field === 'image') {
          sawSelector = true;
          const g = this.glob(fv);
          if (g !== undefined) ex[field] = g;
        } else if (field === 'labels') {
          sawSelector = true;
          ex.labels = this.labels(fv);
        } else {
          sawRules = true;
          ex.rules = this.ruleList(fv);
        }
      }
      if (!sawSelector) this.bad(ev.pos, ev.path, 'expected at least one of name, image, labels, got none');
      if (!sawRules) {
        this.bad(ev.pos, `${ev.path}.rules`, 'expected a non-empty list of rule names or ["*"], got nothing');
      }
      out.push({ ...ex, rules: ex.rules ?? [] });
    });
    return out;
  }

  private labels(v: Val): Record<string, string> {
    const out: Record<string, string> = {};
    if (!this.requireMap(v, 'a mapping of label name to value glob')) return out;
    const pairs = this.pairs(v);
    if (pairs.length === 0) this.expect(v, 'at least one label');
    for (const [k, value] of pairs) {
      const key = this.str(k);
      if (key === undefined || key.length === 0) {
        this.expect({ ...k, path: `${v.path}.${k.text}` }, 'a label name');
        continue;
      }
      const g = this.glob({ ...value, path: `${v.path}.${key}` });
      if (g !== undefined) out[key] = g;
    }
    return out;
  }

  private ruleList(v: Val): string[] | undefined {
    const expected = 'a non-empty list of rule names or ["*"]';
    if (!isSeq(v.node) || v.node.items.length === 0) {
      this.expect(v, expected);
      return undefined;
    }
    const names = RULES.map((r) => r.name);
    const out: string[] = [];
    v.node.items.forEach((item, j) => {
      const iv = this.val(item, `${v.path}[${j}]`, this.offset(item) ?? 0);
      const n = this.str(iv);
      if (n !== undefined && (n === '*' || ruleByName(n) !== undefined)) out.push(n);
      else this.expect(iv, `a rule name (${names.join(', ')}) or "*"`, suggest(n, names));
    });
    return out;
  }

  private glob(v: Val): string | undefined {
    const s = this.str(v);
    if (s === undefined) {
      // An unquoted `3` or `true` is a number or boolean in YAML; labels and names are strings.
      const plain = isScalar(v.node) && v.node.value !== null && typeof v.node.value !== 'object';
      this.expect(v, 'a string glob (* and ?)', undefined, plain ? `quote it: "${v.text}"` : undefined);
      return undefined;
    }
    const problem = globProblem(s);
    if (problem !== undefined) {
      this.expect(v, problem);
      return undefined;
    }
    return s;
  }

  // Effective actions that no tier of the rule can carry out. Derived from the rule catalogue only,
  // so the same policy gets the same warnings on every host.
  warnings(p: Policy): PolicyIssue[] {
    const out: PolicyIssue[] = [];
    const fromLevels = new Map<Level, string[]>();
    for (const rule of RULES) {
      const o = p.rules[rule.name] ?? {};
      if (o.enabled === false) continue;
      const level = o.level ?? rule.defaultLevel;
      const viaRule = o.action !== undefined;
      const action = o.action ?? p.levels[level];
      if (action === undefined || enforceable(rule, action)) continue;
      if (viaRule) {
        const path = `rules.${rule.name}.action`;
        const pos = this.actionPos.get(path) ?? { line: 0, column: 0 };
        out.push({ ...pos, path, message: unenforceable(action, [rule]) });
      } else {
        fromLevels.set(level, [...(fromLevels.get(level) ?? []), rule.name]);
      }
    }
    for (const [level, names] of fromLevels) {
      const path = `levels.${level}`;
      const pos = this.actionPos.get(path) ?? { line: 0, column: 0 };
      const rules = names.map((n) => ruleByName(n) as Rule);
      out.push({ ...pos, path, message: unenforceable(p.levels[level] as ActionName, rules) });
    }
    return out;
  }

  // --- syntax-tree helpers ---

  private val(node: unknown, path: string, fallbackOffset: number): Val {
    let target: unknown = node;
    if (isAlias(node)) target = node.resolve(this.doc) ?? undefined;
    const off = this.offset(node);
    const range = (node as { range?: [number, number, number] | null } | null)?.range;
    const text = range ? this.src.slice(range[0], range[1]) : '';
    return {
      node: target === undefined && isAlias(node) ? node : (target ?? null),
      pos: this.at(off ?? fallbackOffset),
      text,
      path,
    };
  }

  private offset(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] | null } | null)?.range;
    return range ? range[0] : undefined;
  }

  /** Key/value pairs of a mapping; a value left empty is located at its key. */
  private pairs(v: Val): Array<[Val, Val]> {
    if (!isMap(v.node)) return [];
    return v.node.items.map((pair) => {
      const k = this.val(pair.key, v.path, 0);
      const keyText = this.str(k) ?? k.text;
      const childPath = v.path === '' ? keyText : `${v.path}.${keyText}`;
      const valueEmpty = pair.value === null || (isScalar(pair.value) && pair.value.range?.[0] === pair.value.range?.[1]);
      const value = this.val(pair.value, childPath, this.offset(pair.key) ?? 0);
      if (valueEmpty) value.pos = k.pos;
      return [k, value];
    });
  }

  /** Pairs whose key is one of `allowed`; any other key is reported as an unknown field. */
  private fields<F extends string>(v: Val, allowed: readonly F[]): Array<[F, Val]> {
    const out: Array<[F, Val]> = [];
    for (const [k, value] of this.pairs(v)) {
      const key = this.str(k);
      if (key !== undefined && (allowed as readonly string[]).includes(key)) {
        out.push([key as F, value]);
      } else {
        const where = v.path === '' ? k.text : `${v.path}.${k.text}`;
        this.expect({ ...k, path: where }, `one of ${allowed.join(', ')}`, suggest(key, allowed));
      }
    }
    return out;
  }

  private str(v: Val): string | undefined {
    return isScalar(v.node) && typeof v.node.value === 'string' ? v.node.value : undefined;
  }

  private oneOf<T extends string>(v: Val, allowed: readonly T[]): T | undefined {
    const s = this.str(v);
    if (s !== undefined && (allowed as readonly string[]).includes(s)) return s as T;
    this.expect(v, `one of ${allowed.join(', ')}`, suggest(s, allowed));
    return undefined;
  }

  // `rules:`, `levels:` and `exceptions:` left empty (every entry commented out) mean "none".
  private isEmpty(v: Val): boolean {
    return v.node === null || (isScalar(v.node) && v.node.value === null);
  }

  private requireMap(v: Val, expected: string): boolean {
    if (isMap(v.node)) return true;
    this.expect(v, expected);
    return false;
  }

  private expect(v: Val, expected: string, didYouMean?: string, advice?: string): void {
    const hint = didYouMean !== undefined ? ` (did you mean ${didYouMean}?)` : advice !== undefined ? ` (${advice})` : '';
    this.bad(v.pos, v.path, `expected ${expected}, got ${describe(v)}${hint}`);
  }

  private bad(pos: Pos, path: string, message: string): void {
    this.issues.push({ line: pos.line, column: pos.column, path, message });
  }
}

function describe(v: Val): string {
  const n = v.node;
  if (isAlias(n)) return `an alias to an undefined anchor (${truncate(v.text)})`;
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return n.items.length === 0 ? '[]' : 'a list';
  if (n === null || (isScalar(n) && v.text.trim() === '')) return 'nothing';
  if (isScalar(n)) {
    if (typeof n.value === 'string') return JSON.stringify(truncate(n.value));
    const kind = n.value === null ? 'null' : typeof n.value;
    return kind === 'null' ? truncate(v.text) : `${kind} ${truncate(v.text)}`;
  }
  return 'an unsupported YAML node';
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function enforceable(rule: Rule, action: ActionName): boolean {
  const tiers: readonly RuleTier[] = rule.tiers;
  if (action === 'alert') return true;
  if (action === 'deny') return tiers.includes('lsm') || tiers.includes('cgroup');
  return tiers.some((t) => t !== 'detect');
}

function unenforceable(action: ActionName, rules: Rule[]): string {
  const names = rules.map((r) => `${r.name} (${r.tiers.join(', ')})`).join(', ');
  if (action === 'deny') {
    return `deny needs an lsm or cgroup tier, and ${names} ${rules.length === 1 ? 'has' : 'have'} none: ` +
      'deny is carried out as kill there, which stops the task but not the operation it started';
  }
  return `${action} needs an enforcing tier, and ${names} can only be detected: only an alert is possible`;
}

/** The closest of `options` to `got` when it is a likely typo (edit distance at most 2). */
function suggest(got: string | undefined, options: readonly string[]): string | undefined {
  if (got === undefined || got.length === 0) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(got.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  return bestD > 0 && bestD <= Math.min(2, Math.floor(got.length / 3)) ? best : bestD === 0 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
