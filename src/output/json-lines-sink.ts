/**
 * JSON lines to stdout or a file. Writes are buffered by the stream; when the consumer falls
 * too far behind the line is dropped and counted (never silently, never unbounded memory).
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { toJsonLine } from './event-json.js';

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export class JsonLinesSink {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  dropped = 0;
  written = 0;

  constructor(path?: string) {
    if (path && path !== '-') {
      // Opened here, synchronously: a bad path fails while the daemon is still being built,
      // before any program is attached, instead of as an unhandled 'error' event later.
      let fd: number;
      try {
        fd = openSync(path, 'a');
      } catch (err) {
        throw new Error(`cannot open events file ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.out = createWriteStream(path, { fd });
      // A later write error (disk full, EIO) must not take the daemon down: lines are dropped
      // and counted from then on.
      this.out.on('error', () => undefined);
      this.ownsStream = true;
    } else {
      this.out = process.stdout;
      this.ownsStream = false;
    }
  }

  write(obj: Record<string, unknown>): void {
    if (this.out.destroyed || this.out.writableLength > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    this.out.write(toJsonLine(obj));
    this.written++;
  }

  /** Resolves once everything written so far is flushed. */
  async close(): Promise<void> {
    if (this.ownsStream) {
      await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
      return;
    }
    if (this.out.writableLength === 0) return;
    await new Promise<void>((resolve) => this.out.write('', () => resolve()));
  }
}
