/**
 * Prometheus metrics: counters kept by the daemon, served as text exposition on a loopback
 * address when `aces run --metrics HOST:PORT` asks for it.
 */
import { createServer, type Server } from 'node:http';

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${labels[k]!.replace(/["\\\n]/g, '_')}"`).join(',');
}

export class Metrics {
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  private gauges = new Map<string, { help: string; read: () => number | Record<string, number> }>();

  counter(name: string, help: string): void {
    if (!this.counters.has(name)) this.counters.set(name, { help, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const c = this.counters.get(name);
    if (!c) throw new Error(`metric ${name} not declared`);
    const k = labelKey(labels);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
  }

  /** A gauge read at scrape time; a record maps a label value (label "reason") to a number. */
  gauge(name: string, help: string, read: () => number | Record<string, number>): void {
    this.gauges.set(name, { help, read });
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      if (c.values.size === 0) lines.push(`${name} 0`);
      for (const [k, v] of c.values) lines.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    for (const [name, g] of this.gauges) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      const v = g.read();
      if (typeof v === 'number') lines.push(`${name} ${v}`);
      else for (const [label, n] of Object.entries(v)) lines.push(`${name}{reason="${label}"} ${n}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Serve /metrics on host:port. Only loopback addresses are accepted. */
  async serve(address: string): Promise<Server> {
    const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d+)$/.exec(address);
    if (!m) throw new Error(`expected a loopback HOST:PORT for --metrics, got ${address}`);
    const host = m[1] === '[::1]' ? '::1' : m[1]!;
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(m[2]), host, resolve);
    });
    return server;
  }
}
