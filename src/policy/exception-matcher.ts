// Policy exceptions: which containers a rule does not apply to. User space matches a container's
// identity once, when the container is first seen, and hands the kernel a per-container bit mask
// of exempt rule ids, so BPF never sees a glob or a label.
import type { PolicyException } from './policy-schema.js';

/** Longest glob accepted; names, images and label values are far shorter. */
export const GLOB_MAX_LEN = 256;

// Reserved so that character classes, braces or escapes can be added later without changing
// what an existing pattern means.
const GLOB_RESERVED = /[[\]{}\\]/;
const CONTROL_CHARS = /\p{Cc}/u;

/**
 * Why `pattern` is not a valid glob, as the "expected ..." half of a message, or undefined when it
 * is valid. A glob is literal text with `*` (any run of characters, `/` and `:` included) and
 * `?` (any one character).
 */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'a non-empty glob';
  if (pattern.length > GLOB_MAX_LEN) return `a glob of at most ${GLOB_MAX_LEN} characters`;
  if (GLOB_RESERVED.test(pattern)) return 'a glob of literal characters, * and ? ([ ] { } \\ are reserved)';
  if (CONTROL_CHARS.test(pattern)) return 'a glob without control characters';
  return undefined;
}

/**
 * True when the whole of `text` matches `pattern` (`*` any run, `?` one character, the rest
 * literal and case-sensitive). Linear backtracking on the last `*`, so no pattern can make it
 * take more than |pattern| × |text| steps.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = Array.from(pattern);
  const t = Array.from(text);
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi++;
      starT = ti;
    } else if (starP >= 0) {
      pi = starP + 1;
      ti = ++starT;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** What is known about a container when exceptions are matched against it. */
export interface ContainerIdentity {
  name?: string;
  image?: string;
  labels?: Readonly<Record<string, string>>;
}

/**
 * One compiled exception. `matches` is true when every selector the exception sets matches
 * `identity`; a selector the identity cannot answer (no name, no image, a missing label) does not
 * match, so an unidentified container is never exempted by accident.
 */
export class ExceptionMatcher {
  readonly name: string | undefined;
  readonly image: string | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** RULE_* ids this exception exempts, ascending. */
  readonly ruleIds: number[];

  constructor(exception: Omit<PolicyException, 'rules'>, ruleIds: readonly number[]) {
    this.name = exception.name;
    this.image = exception.image;
    this.labels = exception.labels === undefined ? undefined : Object.freeze({ ...exception.labels });
    this.ruleIds = [...new Set(ruleIds)].sort((a, b) => a - b);
  }

  matches(identity: ContainerIdentity): boolean {
    if (this.name !== undefined && (identity.name === undefined || !globMatch(this.name, identity.name))) {
      return false;
    }
    if (this.image !== undefined && (identity.image === undefined || !globMatch(this.image, identity.image))) {
      return false;
    }
    if (this.labels !== undefined) {
      const have = identity.labels ?? {};
      for (const [key, want] of Object.entries(this.labels)) {
        if (!Object.hasOwn(have, key)) return false;
        const value = have[key];
        if (value === undefined || !globMatch(want, value)) return false;
      }
    }
    return true;
  }

  /** The bits of {@link ruleIds}: bit N set means rule id N is exempt. */
  ruleMask(): bigint {
    let mask = 0n;
    for (const id of this.ruleIds) mask |= 1n << BigInt(id);
    return mask;
  }
}

/**
 * The exemption mask of a container: the OR of `1n << BigInt(ruleId)` over the rules of every
 * exception that matches `identity` (0n when none does).
 */
export function exemptRuleMask(
  compiled: { readonly exceptions: readonly ExceptionMatcher[] },
  identity: ContainerIdentity,
): bigint {
  let mask = 0n;
  for (const ex of compiled.exceptions) if (ex.matches(identity)) mask |= ex.ruleMask();
  return mask;
}
