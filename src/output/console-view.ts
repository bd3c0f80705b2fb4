/** A readable one-line-per-event view for a terminal (aces run --format console). */
import type { EnrichedEvent } from './event-json.js';

const LEVEL_TAGS = ['', 'L1 probe  ', 'L2 attempt', 'L3 BREACH '];

export function formatConsoleLine(e: EnrichedEvent): string {
  const ev = e.event;
  const c = e.container;
  const who = c ? `${c.name ?? c.id?.slice(0, 12) ?? 'key ' + c.key}${c.image ? ` (${c.image})` : ''}` : 'host';
  const act = ev.monitor ? `would ${ev.policyAction}` : ev.action;
  const lat = `${(Number(ev.tsDecision - ev.tsEntry) / 1000).toFixed(1)}µs`;
  const exit = e.tsExit !== undefined ? `, dead after ${(Number(e.tsExit - ev.tsDecision) / 1000).toFixed(1)}µs` : '';
  return `${e.receivedAt.toISOString()} ${LEVEL_TAGS[ev.level] ?? 'L' + ev.level} ${act.toUpperCase().padEnd(10)} ` +
    `${e.rule.name} ${ev.comm}[${ev.tgid}] in ${who}${ev.name ? ` obj=${ev.name}` : ''} ` +
    `tier=${ev.tier}${ev.fastPath ? ' fast-path' : ''}${ev.escalated ? ' escalated' : ''} decided in ${lat}${exit}\n`;
}
