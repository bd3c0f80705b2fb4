/**
 * JSON lines to stdout or a file.
 *
 * A file gets the lines of one event-loop turn in one synchronous write: a regular file takes
 * them into the page cache in microseconds, and memory stays bounded by one turn's lines. (An
 * asynchronous stream fell behind under an event storm on a busy host and held up to its 64 MiB
 * cap of lines in memory, most of the daemon's storm RSS.) Each line is encoded at once into one
 * buffer that lives as long as the sink, so a line's string dies young: kept in an array until
 * the flush, the strings outlived two scavenges of V8's small young generation, were promoted,
 * and piled up in the old generation until its next full collection (~15 MiB of the daemon's RSS
 * under a storm). A failed write drops and counts the lines, never throws.
 *
 * stdout may be a pipe to a slow reader, so it stays an asynchronous stream; when the reader falls
 * too far behind the line is dropped and counted (never silently, never unbounded memory).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { toJsonLine } from './event-json.js';

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Lines are written at the end of the loop turn, or at once past this many bytes. */
const FILE_BATCH_BYTES = 256 * 1024;

export class JsonLinesSink {
  private readonly fd: number | undefined;
  /** Encoded lines waiting for the flush: `batch[0, batchBytes)`, `batchLines` of them. */
  private readonly batch = Buffer.allocUnsafe(FILE_BATCH_BYTES);
  private batchBytes = 0;
  private batchLines = 0;
  private flushScheduled = false;
  private failed = false;
  private closed = false;
  dropped = 0;
  written = 0;

  constructor(path?: string) {
    if (path && path !== '-') {
      // Opened here, synchronously: a bad path fails while the daemon is still being built,
      // before any program is attached.
      try {
        this.fd = openSync(path, 'a');
      } catch (err) {
        throw new Error(`cannot open events file ${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  write(obj: Record<string, unknown>): void {
    if (this.fd === undefined) {
      this.writeStdout(obj);
      return;
    }
    if (this.failed || this.closed) {
      this.dropped++;
      return;
    }
    const line = toJsonLine(obj);
    // A line never takes more than 3 bytes per UTF-16 unit: check with the cheap bound first.
    if (this.batchBytes + line.length * 3 > FILE_BATCH_BYTES) {
      const bytes = Buffer.byteLength(line);
      if (this.batchBytes + bytes > FILE_BATCH_BYTES) {
        this.flush();
        if (bytes > FILE_BATCH_BYTES) {
          this.writeAll(Buffer.from(line), 1);
          return;
        }
      }
    }
    this.batchBytes += this.batch.write(line, this.batchBytes);
    this.batchLines++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private writeStdout(obj: Record<string, unknown>): void {
    const out = process.stdout;
    if (out.destroyed || out.writableLength > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    out.write(toJsonLine(obj));
    this.written++;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.batchLines) return;
    const lines = this.batchLines;
    const bytes = this.batchBytes;
    this.batchLines = 0;
    this.batchBytes = 0;
    this.writeAll(this.batch.subarray(0, bytes), lines);
  }

  private writeAll(data: Buffer, lines: number): void {
    if (this.fd === undefined) return;
    if (this.failed) {
      this.dropped += lines;
      return;
    }
    try {
      // writeSync may write less than asked (a signal, a full disk on the last block).
      for (let off = 0; off < data.length;) off += writeSync(this.fd, data, off);
      this.written += lines;
    } catch {
      // A write error (disk full, EIO) must not take the daemon down: this batch and every
      // later line are dropped and counted.
      this.failed = true;
      this.dropped += lines;
    }
  }

  /** Resolves once everything written so far is flushed; the file is closed. */
  async close(): Promise<void> {
    if (this.fd === undefined) {
      const out = process.stdout;
      if (out.writableLength === 0) return;
      await new Promise<void>((resolve) => out.write('', () => resolve()));
      return;
    }
    this.flush();
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
  }
}
