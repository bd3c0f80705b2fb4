/**
 * The `aces` command: run (the daemon), doctor, policy check. Bad arguments and start-up
 * failures print one message naming the problem and the fix, and exit non-zero.
 */
import { parseArgs } from 'node:util';
import { Daemon, StartupError } from '../daemon/daemon.js';
import { doctorReport, formatDoctor } from './doctor.js';
import { checkPolicyFile } from '../policy/parse-policy.js';
import { PolicyError } from '../policy/policy-schema.js';
import { KernelError } from '../kernel/kernel-error.js';
import { parseMetricsAddress } from '../output/metrics.js';

const USAGE = `usage:
  aces run [--mode enforce|monitor] [--policy FILE] [--events FILE] [--format json|console] [--metrics 127.0.0.1:PORT]
  aces doctor [--json]
  aces policy check FILE
`;

class UsageError extends Error {}

/** A bad --metrics address is a usage error, found before anything is loaded. */
function checkMetricsAddress(addr: string): void {
  try {
    parseMetricsAddress(addr);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function fail(msg: string, code = 2): never {
  process.stderr.write(`aces: ${msg}\n`);
  process.exit(code);
}

/** `aces <command> --help` (or -h) anywhere among its arguments: the usage, exit 0. */
function wantsHelp(argv: string[]): boolean {
  if (!argv.some((a) => a === '--help' || a === '-h')) return false;
  process.stdout.write(USAGE);
  return true;
}

async function cmdRun(argv: string[]): Promise<void> {
  if (wantsHelp(argv)) return;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      mode: { type: 'string' },
      policy: { type: 'string' },
      events: { type: 'string' },
      format: { type: 'string' },
      metrics: { type: 'string' },
    },
  });
  if (values.mode !== undefined && values.mode !== 'enforce' && values.mode !== 'monitor') {
    throw new UsageError(`expected enforce or monitor for --mode, got ${values.mode}`);
  }
  if (values.format !== undefined && values.format !== 'json' && values.format !== 'console') {
    throw new UsageError(`expected json or console for --format, got ${values.format}`);
  }
  if (values.format === 'console' && values.events !== undefined && values.events !== '-') {
    // Console lines are for a terminal; a file of events is JSON lines. Say so instead of leaving
    // an empty file behind.
    throw new UsageError('--events FILE writes JSON lines: use it with --format json (console lines go to stdout)');
  }
  if (values.metrics !== undefined) checkMetricsAddress(values.metrics);
  const daemon = await Daemon.start({
    mode: values.mode as 'enforce' | 'monitor' | undefined,
    policyPath: values.policy,
    eventsPath: values.events,
    format: values.format as 'json' | 'console' | undefined,
    metrics: values.metrics,
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    daemon.stop().then(() => process.exit(0), (err) => fail(`shutdown failed: ${String(err)}`, 1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function cmdDoctor(argv: string[]): void {
  if (wantsHelp(argv)) return;
  const { values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' } } });
  if (process.getuid && process.getuid() !== 0) {
    // Every probe loads a BPF program or reads root-only files: as another user each would fail
    // and the report would blame the kernel.
    fail('aces doctor needs root (it loads test BPF programs and reads tracefs): run it with sudo', 1);
  }
  const rep = doctorReport();
  if (values.json) {
    process.stdout.write(JSON.stringify(rep, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  } else {
    process.stdout.write(formatDoctor(rep));
  }
  process.exitCode = rep.plan.fatal.length ? 1 : 0;
}

function cmdPolicy(argv: string[]): void {
  if (wantsHelp(argv)) return;
  const [sub, ...rest] = argv;
  if (sub !== 'check') throw new UsageError(`expected "check" after "policy", got ${sub ?? 'nothing'}`);
  const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('expected exactly one FILE for "aces policy check"');
  const res = checkPolicyFile(positionals[0]!);
  if (res.ok) {
    process.stdout.write(res.summary.endsWith('\n') ? res.summary : res.summary + '\n');
    process.exitCode = 0;
  } else {
    process.stderr.write(res.message.endsWith('\n') ? res.message : res.message + '\n');
    process.exitCode = 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        await cmdRun(rest);
        return;
      case 'doctor':
        cmdDoctor(rest);
        return;
      case 'policy':
        cmdPolicy(rest);
        return;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      fail(`${err.message}\n${USAGE}`);
    }
    if (err instanceof PolicyError) fail(`policy rejected, nothing attached (${err.code}):\n${err.message}`);
    if (err instanceof StartupError) fail(`${err.message} (${err.code})`, 1);
    if (err instanceof KernelError) {
      const log = err.log ? `\nverifier/libbpf log (tail):\n${err.log.slice(-4000)}` : '';
      fail(`kernel refused ${err.call} (${err.code}, errno ${err.errno}): ${err.message}; nothing left attached${log}`, 1);
    }
    fail(err instanceof Error ? err.stack ?? err.message : String(err), 1);
  }
}
