/**
 * Prometheus metrics: counters kept by the daemon, served as text exposition on a loopback
 * address when `aces run --metrics HOST:PORT` asks for it.
 */
import { createServer, type Server } from 'node:http';

type Labels = Record<string, string>;

// Text exposition 0.0.4 escapes rather than replaces: two label values that differ only in a
// quote or backslash must stay two series.
/** A loopback HOST:PORT for --metrics; throws "expected ..., got ..." otherwise. */
export function parseMetricsAddress(address: string): { host: string; port: number } {
  const m = /^(127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})|localhost|\[::1\]):(\d{1,5})$/.exec(address);
  // An out-of-range octet would not parse as an address and go to DNS as a host name; an
  // out-of-range port would fail inside listen() with a message that does not name the flag.
  if (!m || [m[2], m[3], m[4]].some((o) => o !== undefined && Number(o) > 255) || Number(m[5]) > 65535) {
    throw new Error(`expected a loopback HOST:PORT for --metrics, got ${address}`);
  }
  return { host: m[1] === '[::1]' ? '::1' : m[1]!, port: Number(m[5]) };
}

function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(h: string): string {
  return h.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',');
}

export class Metrics {
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  /** Values read at each scrape: gauges, and counters kept elsewhere. */
  private observed = new Map<string, { help: string; label: string; type: 'gauge' | 'counter'; read: () => number | Record<string, number> }>();

  counter(name: string, help: string): void {
    if (!this.counters.has(name)) this.counters.set(name, { help, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const c = this.counters.get(name);
    if (!c) throw new Error(`metric ${name} not declared`);
    const k = labelKey(labels);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
  }

  /** A gauge read at each scrape; a record gives one series per key, under label `label`. */
  gauge(name: string, help: string, read: () => number | Record<string, number>, label = 'reason'): void {
    this.observed.set(name, { help, label, type: 'gauge', read });
  }

  /**
   * A counter kept elsewhere (kernel maps, the output sink) and read at each scrape: exposed with
   * TYPE counter, so rate() and increase() apply; `read` must only ever grow.
   */
  counterFrom(name: string, help: string, read: () => number | Record<string, number>, label = 'reason'): void {
    this.observed.set(name, { help, label, type: 'counter', read });
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${escapeHelp(c.help)}`, `# TYPE ${name} counter`);
      if (c.values.size === 0) lines.push(`${name} 0`);
      for (const [k, v] of c.values) lines.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    for (const [name, g] of this.observed) {
      lines.push(`# HELP ${name} ${escapeHelp(g.help)}`, `# TYPE ${name} ${g.type}`);
      const v = g.read();
      if (typeof v === 'number') lines.push(`${name} ${v}`);
      else for (const [k, n] of Object.entries(v)) lines.push(`${name}{${labelKey({ [g.label]: k })}} ${n}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Serve /metrics on host:port. Only loopback addresses are accepted. */
  async serve(address: string): Promise<Server> {
    const { host, port } = parseMetricsAddress(address);
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return server;
  }
}
