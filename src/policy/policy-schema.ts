// Types of the policy layer, the error it throws, and the vocabulary (levels, actions, modes) that
// the parser checks against. Kept free of parsing and of the catalogue so that every other policy
// module, and the daemon, can import it without pulling in YAML.
import { ACTION_IDS, type ActionName } from '../wire/constants.js';

export type { ActionName } from '../wire/constants.js';

/** The only policy format version this build reads. */
export const POLICY_API_VERSION = 'aces/v1';

/** DESIGN §2: 1 probe, 2 attempt, 3 breach. */
export type Level = 1 | 2 | 3;
export const LEVELS: readonly Level[] = [1, 2, 3];

/** Actions ordered from weakest to strongest (the order of the ACT_* ids). */
export const ACTIONS: readonly ActionName[] = (Object.keys(ACTION_IDS) as ActionName[]).sort(
  (a, b) => ACTION_IDS[a] - ACTION_IDS[b],
);

export type PolicyMode = 'enforce' | 'monitor';
export const MODES: readonly PolicyMode[] = ['enforce', 'monitor'];

/** Per-rule override as written under `rules:`; an unset field keeps the rule's default. */
export interface RuleOverride {
  enabled?: boolean;
  level?: Level;
  action?: ActionName;
}

/**
 * One entry of `exceptions:`. Every selector that is set must match (name and image are globs
 * with `*` and `?`; every label must be present with a value matching its glob). `rules` holds
 * rule names or the single wildcard `"*"` (every rule).
 */
export interface PolicyException {
  name?: string;
  image?: string;
  labels?: Readonly<Record<string, string>>;
  rules: readonly string[];
}

/**
 * A validated policy with its top-level defaults filled in. `levels` and `rules` hold only what
 * the file set: the inheritance (rule override, then `levels`, then the rule's default) is
 * resolved by `compilePolicy`, so that a policy printed back shows what its author wrote.
 */
export interface Policy {
  apiVersion: typeof POLICY_API_VERSION;
  mode: PolicyMode;
  /** Offender-record lifetime in seconds; 0 means records never expire. */
  offenderTtlSeconds: number;
  levels: Partial<Record<Level, ActionName>>;
  rules: Readonly<Record<string, RuleOverride>>;
  exceptions: readonly PolicyException[];
}

/**
 * One problem found in a policy. `line` and `column` are 1-based positions in the file (0 when
 * the policy did not come from text); `path` names the field, e.g. `rules.blockdev-open.action`
 * or `exceptions[0].labels.team` ("" for the document itself).
 */
export interface PolicyIssue {
  line: number;
  column: number;
  path: string;
  message: string;
}

export const ACES_E_POLICY_INVALID = 'ACES_E_POLICY_INVALID';
export const ACES_E_POLICY_SYNTAX = 'ACES_E_POLICY_SYNTAX';
export const ACES_E_POLICY_READ = 'ACES_E_POLICY_READ';
export type PolicyErrorCode =
  | typeof ACES_E_POLICY_INVALID
  | typeof ACES_E_POLICY_SYNTAX
  | typeof ACES_E_POLICY_READ;

/** Formats one issue the way every policy message shows it: `FILE:LINE:COL: path: message`. */
export function formatIssue(source: string, issue: PolicyIssue): string {
  const where = issue.line > 0 ? `${source}:${issue.line}:${issue.column}` : source;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/**
 * Thrown for a policy that cannot be used. `code` says why (unreadable file, YAML syntax, schema
 * violation); `issues` lists every problem found, and the message has one line per issue.
 */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  readonly source: string;
  readonly issues: readonly PolicyIssue[];

  constructor(
    code: PolicyErrorCode,
    source: string,
    issues: readonly PolicyIssue[],
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? issues.map((i) => formatIssue(source, i)).join('\n'), options);
    this.name = 'PolicyError';
    this.code = code;
    this.source = source;
    this.issues = issues;
  }
}
