// Decoded kernel events and enriched events for unit tests of the stages after decoding. The
// default is the release_agent escape of the docs/events.md example (enforce, quarantine).
import type { KernelEvent } from '../../src/wire/decode-record.js';
import type { EnrichedEvent } from '../../src/output/event-json.js';

export function sampleEvent(over: Partial<KernelEvent> = {}): KernelEvent {
  return {
    type: 'event',
    seq: 2n,
    rule: 2,
    level: 3,
    baseLevel: 2,
    action: 'quarantine',
    policyAction: 'quarantine',
    tier: 'signal',
    monitor: false,
    fastPath: false,
    suppressed: 0,
    offender: true,
    escalated: true,
    recorded: true,
    hostTask: false,
    ioUring: false,
    tsEntry: 1250952346053n,
    tsDecision: 1250952361066n,
    containerKey: 188n,
    pid: 14447,
    tgid: 14447,
    ppid: 14427,
    uid: 0,
    euid: 0,
    pidns: 4026532177,
    mntns: 4026532174,
    comm: 'sh',
    objDev: { major: 0, minor: 32 },
    objIno: 2910n,
    objMagic: 0x27e0eb,
    objFlags: 67993630,
    syscallRet: 3,
    name: 'notify_on_release',
    ...over,
  };
}

export function sampleEnriched(over: Partial<EnrichedEvent> = {}, event: Partial<KernelEvent> = {}): EnrichedEvent {
  return {
    event: sampleEvent(event),
    rule: { id: 2, name: 'release-agent-write', title: 'release_agent or notify_on_release opened for write', attack: 'T1611' },
    container: {
      key: 188n,
      runtime: 'docker',
      id: '08f4d071e758aaaabbbbccccdddd',
      name: 'gracious_buck',
      image: 'aces-busybox:test',
      cgroupPath: '/docker/08f4d071e758aaaabbbbccccdddd',
    },
    mode: 'enforce',
    tsExit: 1250952478840n,
    receivedAt: new Date('2026-12-03T13:44:49.665Z'),
    response: ['quarantine hook attached', 'swept 1 process'],
    ...over,
  };
}
