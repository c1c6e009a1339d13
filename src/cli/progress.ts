/**
 * A progress meter in the format of OpenSSH's progressmeter.c (used by sftp and scp):
 *
 *     name                                    42%   43MB  21.5MB/s   00:03 ETA
 *
 * the name padded to the terminal's width less 36 columns, the percentage, the bytes so far, the
 * rate (an average aged by 0.9 each second), and the time left (or the time taken once done, or
 * `- stalled -` after 5 s without progress). Redrawn once a second with a leading `\r`; `done()`
 * draws the final state and ends the line. Callers decide whether to show one at all: OpenSSH's
 * tools show it only when stdout is a terminal (see {@link ProgressMeter.wanted}).
 */
import type { Writable } from 'node:stream';

const UNITS = ' KMGT';
const UPDATE_MS = 1000;
const STALL_SECONDS = 5;
const DEFAULT_COLUMNS = 80;
const MAX_COLUMNS = 512;

/** `format_size`: four digits and a unit, e.g. `  43MB`, ` 999 `. */
export function formatSize(bytes: number): string {
  let b = Math.max(0, Math.floor(bytes));
  let i = 0;
  while (b >= 10000 && UNITS[i] !== 'T') {
    b = Math.floor((b + 512) / 1024);
    i++;
  }
  return `${String(b).padStart(4)}${UNITS[i]}${i ? 'B' : ' '}`;
}

/** `format_rate`: one decimal and a unit, e.g. ` 21.5MB`, `  0.0KB`. */
export function formatRate(bytesPerSecond: number): string {
  let b = Math.max(0, Math.floor(bytesPerSecond)) * 100;
  let i = 0;
  while (b >= 100 * 1000 && UNITS[i] !== 'T') {
    b = Math.floor((b + 512) / 1024);
    i++;
  }
  if (i === 0) {
    i++;
    b = Math.floor((b + 512) / 1024);
  }
  const whole = Math.floor((b + 5) / 100);
  const tenth = Math.floor((b + 5) / 10) % 10;
  return `${String(whole).padStart(3)}.${tenth}${UNITS[i]}${i ? 'B' : ' '}`;
}

function clock(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h !== 0 ? `${h}:${two(m)}:${two(s)}` : `  ${two(m)}:${two(s)}`;
}

/**
 * One file's progress meter. `update(transferred)` takes the running total of bytes done (as a
 * transfer's onProgress reports it); `add(n)` adds `n` bytes to it. `done()` stops the timer and
 * prints the final line and a newline; it is safe to call more than once.
 */
export class ProgressMeter {
  /** Whether a meter belongs on `stream`: OpenSSH shows one only when it is a terminal. */
  static wanted(stream: Writable): boolean {
    return (stream as { isTTY?: boolean }).isTTY === true;
  }

  private readonly start = performance.now();
  private lastUpdate = this.start;
  private lastPos = 0;
  private pos = 0;
  private bytesPerSecond = 0;
  private stalled = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private finished = false;

  /**
   * Starts a meter for `name` (shown as given: pass the base name, as OpenSSH does) of `total`
   * bytes, drawing on `stream` at once and then every second.
   */
  constructor(
    private readonly name: string,
    private readonly total: number,
    private readonly stream: Writable,
    private readonly startPos = 0,
  ) {
    this.pos = startPos;
    this.lastPos = startPos;
    this.draw();
    this.timer = setInterval(() => this.draw(), UPDATE_MS);
    this.timer.unref?.();
  }

  /** Sets the bytes done so far (a running total). */
  update(transferred: number): void {
    this.pos = transferred;
  }

  /** Adds `n` bytes to the bytes done. */
  add(n: number): void {
    this.pos += n;
  }

  /** Stops the meter: draws the final state and ends the line. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.stream.write('\n');
  }

  private columns(): number {
    const c = (this.stream as { columns?: number }).columns;
    // setscreensize counts the terminating NUL in: the line is one column wider than its arithmetic.
    return (typeof c === 'number' && c > 0 ? Math.min(c, MAX_COLUMNS) : DEFAULT_COLUMNS) + 1;
  }

  /** refresh_progress_meter: one line, redrawn over the last with `\r`. */
  private draw(): void {
    const now = performance.now();
    let transferred = this.pos - this.lastPos;
    this.lastPos = this.pos;
    const left = this.total - this.pos;
    let elapsed: number;
    if (left > 0) {
      elapsed = (now - this.lastUpdate) / 1000;
    } else {
      elapsed = (now - this.start) / 1000;
      transferred = this.pos - this.startPos;
      this.bytesPerSecond = 0;
    }
    const speed = elapsed > 0 ? transferred / elapsed : transferred;
    this.bytesPerSecond = this.bytesPerSecond !== 0 ? this.bytesPerSecond * 0.9 + speed * 0.1 : speed;
    this.lastUpdate = now;

    const width = this.columns();
    if (width < 4) return;
    let line = '';
    const nameWidth = width - 36;
    if (nameWidth > 0) line = [...this.name].slice(0, nameWidth).join('').padEnd(nameWidth);
    const percent = this.total <= 0 || this.pos >= this.total ? 100 : Math.floor((this.pos / this.total) * 100);
    line += ` ${String(percent).padStart(3)}% ${formatSize(this.pos)} ${formatRate(this.bytesPerSecond)}/s `;
    if (transferred === 0) this.stalled += elapsed;
    else this.stalled = 0;
    if (this.stalled >= STALL_SECONDS) line += '- stalled -';
    else if (this.bytesPerSecond === 0 && left > 0) line += '  --:-- ETA';
    else {
      const secs = left > 0 ? left / this.bytesPerSecond : elapsed;
      line += clock(secs) + (left > 0 ? ' ETA' : '    ');
    }
    this.stream.write(`\r${line}`);
  }
}
