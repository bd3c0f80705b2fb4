// Policy -> the values the daemon writes into BPF maps and load-time config. Pure and
// deterministic: the same policy gives the same result whatever the key order in its file, and
// nothing here looks at the running kernel (which tier enforces what is decided at load time).
import { ACTION_IDS, MODE_ENFORCE, MODE_MONITOR } from '../wire/constants.js';
import { ExceptionMatcher } from './exception-matcher.js';
import {
  ACES_E_POLICY_INVALID,
  ACTIONS,
  LEVELS,
  PolicyError,
  type ActionName,
  type Level,
  type Policy,
  type PolicyIssue,
  type PolicyMode,
} from './policy-schema.js';
import { RULES, ruleByName, type Rule, type RuleTier } from './rules.js';

/**
 * Action for an event whose level was raised by escalation (aces_config.level_action), when the
 * policy's `levels` does not name one. L2 is kill rather than deny because an escalated event
 * may come from a rule no deny tier can enforce.
 */
export const DEFAULT_LEVEL_ACTIONS: Readonly<Record<Level, ActionName>> = Object.freeze({
  1: 'alert',
  2: 'kill',
  3: 'quarantine',
});

export interface CompiledRule {
  id: number;
  name: string;
  enabled: boolean;
  level: Level;
  action: ActionName;
}

export interface CompiledPolicy {
  mode: PolicyMode;
  /** 0n: offender records never expire. */
  offenderTtlNs: bigint;
  /** Action per level for escalated events: `levels` where set, else {@link DEFAULT_LEVEL_ACTIONS}. */
  levelActions: Readonly<Record<Level, ActionName>>;
  /** One entry per catalogue rule, ascending id. */
  rules: CompiledRule[];
  /** In policy file order. */
  exceptions: ExceptionMatcher[];
}

const NS_PER_SECOND = 1_000_000_000n;

/**
 * Resolves every rule's enabled flag, level and action (rule override, else `levels` for the
 * rule's level, else the rule's default action on the tier that enforces it, else its default
 * action) and compiles the exceptions. `ruleTiers` (rule name -> tier, from the kernel's tier
 * plan) is an input like the policy: without it every rule takes its tier-independent default.
 * Throws {@link PolicyError} (ACES_E_POLICY_INVALID) for a policy built in code that names an
 * unknown rule or holds a value the schema does not allow; a parsed policy never does.
 */
export function compilePolicy(p: Policy, ruleTiers: Readonly<Record<string, string>> = {}): CompiledPolicy {
  checkBuiltPolicy(p);
  const rules = [...RULES]
    .sort((a, b) => a.id - b.id)
    .map((rule): CompiledRule => {
      const o = p.rules[rule.name] ?? {};
      const level = o.level ?? rule.defaultLevel;
      return {
        id: rule.id,
        name: rule.name,
        enabled: o.enabled ?? true,
        level,
        action: o.action ?? p.levels[level] ?? tierDefault(rule, ruleTiers[rule.name]) ?? rule.defaultAction,
      };
    });
  const levelActions = Object.freeze({
    1: p.levels[1] ?? DEFAULT_LEVEL_ACTIONS[1],
    2: p.levels[2] ?? DEFAULT_LEVEL_ACTIONS[2],
    3: p.levels[3] ?? DEFAULT_LEVEL_ACTIONS[3],
  });
  const allIds = RULES.map((r) => r.id);
  const exceptions = p.exceptions.map((ex) => {
    const ids = ex.rules.includes('*') ? allIds : ex.rules.map((n) => (ruleByName(n) as { id: number }).id);
    return new ExceptionMatcher(ex, ids);
  });
  return {
    mode: p.mode,
    offenderTtlNs: BigInt(p.offenderTtlSeconds) * NS_PER_SECOND,
    levelActions,
    rules,
    exceptions,
  };
}

function tierDefault(rule: Rule, tier: string | undefined): ActionName | undefined {
  if (tier === undefined || rule.tierDefaultActions === undefined) return undefined;
  return rule.tierDefaultActions[tier as RuleTier];
}

/** struct aces_rule_cfg, field for field. */
export interface RuleCfgValue {
  enabled: number;
  level: number;
  action: number;
}

/** The map- and config-level numbers of a compiled policy, in the C spelling of bpf/api/aces.h. */
export interface PolicyMapValues {
  /** aces_config.mode: MODE_ENFORCE or MODE_MONITOR. */
  mode: number;
  /** aces_config.offender_ttl_ns. */
  offenderTtlNs: bigint;
  /** aces_config.level_action, indexed by level (index 0 unused, 0). */
  levelAction: [number, number, number, number];
  /** rule_cfg entries keyed by rule id, ascending. */
  ruleCfg: Array<{ id: number; value: RuleCfgValue }>;
}

/** Converts a compiled policy into the numbers written to the `config` and `rule_cfg` maps. */
export function policyMapValues(c: CompiledPolicy): PolicyMapValues {
  return {
    mode: c.mode === 'monitor' ? MODE_MONITOR : MODE_ENFORCE,
    offenderTtlNs: c.offenderTtlNs,
    levelAction: [0, ACTION_IDS[c.levelActions[1]], ACTION_IDS[c.levelActions[2]], ACTION_IDS[c.levelActions[3]]],
    ruleCfg: c.rules.map((r) => ({
      id: r.id,
      value: { enabled: r.enabled ? 1 : 0, level: r.level, action: ACTION_IDS[r.action] },
    })),
  };
}

// A Policy typed in code skips the parser; check what compilation relies on so that garbage
// never reaches a map. Positions are 0: there is no file to point into.
function checkBuiltPolicy(p: Policy): void {
  const issues: PolicyIssue[] = [];
  const bad = (path: string, message: string): void => {
    issues.push({ line: 0, column: 0, path, message });
  };
  if (p.mode !== 'enforce' && p.mode !== 'monitor') bad('mode', `expected enforce or monitor, got ${String(p.mode)}`);
  if (!Number.isSafeInteger(p.offenderTtlSeconds) || p.offenderTtlSeconds < 0) {
    bad('offenderTtl', `expected a whole number of seconds >= 0, got ${String(p.offenderTtlSeconds)}`);
  }
  for (const [k, a] of Object.entries(p.levels)) {
    if (!LEVELS.includes(Number(k) as Level)) bad(`levels.${k}`, 'expected a level 1, 2 or 3');
    if (!ACTIONS.includes(a)) bad(`levels.${k}`, `expected one of ${ACTIONS.join(', ')}, got ${String(a)}`);
  }
  for (const [name, o] of Object.entries(p.rules)) {
    if (ruleByName(name) === undefined) bad(`rules.${name}`, `expected a rule name, got ${name}`);
    if (o.level !== undefined && !LEVELS.includes(o.level)) {
      bad(`rules.${name}.level`, `expected 1, 2 or 3, got ${String(o.level)}`);
    }
    if (o.action !== undefined && !ACTIONS.includes(o.action)) {
      bad(`rules.${name}.action`, `expected one of ${ACTIONS.join(', ')}, got ${String(o.action)}`);
    }
  }
  p.exceptions.forEach((ex, i) => {
    if (ex.rules.length === 0) bad(`exceptions[${i}].rules`, 'expected a non-empty list of rule names or ["*"], got []');
    ex.rules.forEach((n, j) => {
      if (n !== '*' && ruleByName(n) === undefined) bad(`exceptions[${i}].rules[${j}]`, `expected a rule name, got ${n}`);
    });
    if (ex.name === undefined && ex.image === undefined && ex.labels === undefined) {
      bad(`exceptions[${i}]`, 'expected at least one of name, image, labels, got none');
    }
  });
  if (issues.length > 0) throw new PolicyError(ACES_E_POLICY_INVALID, '<policy object>', issues);
}
