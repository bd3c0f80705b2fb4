// The policy ACES runs with when none is given: enforce, every rule on at its catalogue defaults,
// no exceptions. The YAML form is generated from the catalogue so that it cannot drift from it,
// and doubles as a commented starting point for a site policy.
import { POLICY_API_VERSION, type Policy } from './policy-schema.js';
import { RULES } from './rules.js';

/** 10 minutes, DESIGN §2: long enough to catch a retry loop, short enough to forget a one-off. */
export const DEFAULT_OFFENDER_TTL_SECONDS = 600;

export const DEFAULT_POLICY: Policy = Object.freeze({
  apiVersion: POLICY_API_VERSION,
  mode: 'enforce',
  offenderTtlSeconds: DEFAULT_OFFENDER_TTL_SECONDS,
  levels: Object.freeze({}),
  rules: Object.freeze({}),
  exceptions: Object.freeze([]),
});

function defaultPolicyYaml(): string {
  const width = Math.max(...RULES.map((r) => r.name.length));
  const catalogue = [...RULES]
    .sort((a, b) => a.id - b.id)
    .map(
      (r) =>
        `#   ${r.name.padEnd(width)}  L${r.defaultLevel}  ${r.defaultAction.padEnd(10)}  ${r.title}`,
    );
  return [
    '# ACES built-in policy: what the daemon enforces when no policy file is given.',
    '# Copy it, edit it, and check it with `aces policy check FILE`. Format: docs/policy.md.',
    `apiVersion: ${POLICY_API_VERSION}`,
    '',
    '# enforce: apply each rule\'s action. monitor: only report what would have been done.',
    'mode: enforce',
    '',
    '# How long a process or container stays a recorded offender (escalated on its next event).',
    '# 90s, 10m, 2h, 1d ... or 0 for never.',
    'offenderTtl: 10m',
    '',
    '# Default action per level (1 probe, 2 attempt, 3 breach) for rules the policy does not',
    '# give an action. Unset here: every rule keeps its own default action, listed below.',
    'levels: {}',
    '',
    '# Per-rule overrides keyed by rule name: { enabled: false } or { level: N, action: A }.',
    '# Rules and their defaults:',
    ...catalogue,
    'rules: {}',
    '',
    '# Containers some rules do not apply to. Each entry needs name, image and/or labels',
    '# (globs with * and ?; all set selectors must match) and rules: [names] or ["*"].',
    '#   - image: "registry.local/ci/*"',
    '#     labels: { team: infra }',
    '#     rules: [blockdev-open, blockdev-mknod]',
    'exceptions: []',
    '',
  ].join('\n');
}

/** {@link DEFAULT_POLICY} as YAML text; it parses to an equal policy. */
export const DEFAULT_POLICY_YAML: string = defaultPolicyYaml();
