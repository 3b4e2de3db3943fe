/**
 * Terminal progress for long commands: a bar with the key numbers, redrawn in place on a TTY,
 * one line per update otherwise (logs, CI). Always on stderr, so --json stdout stays clean.
 */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastLine = '';

  constructor(private readonly label: string) {}

  update(done: number, total: number, fields: Record<string, number | string | undefined>): void {
    const width = 24;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined && !(typeof v === 'number' && Number.isNaN(v)))
      .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`);
    const line = `${this.label} ${bar} ${done}/${total}  ${parts.join('  ')}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(line + '\n');
    this.lastLine = line;
  }

  /** A message on its own line (keeps the bar below it on a TTY). */
  log(message: string): void {
    if (this.tty && this.lastLine) process.stderr.write(`\r\x1b[2K${message}\n${this.lastLine}`);
    else process.stderr.write(message + '\n');
  }

  done(): void {
    if (this.tty && this.lastLine) process.stderr.write('\n');
    this.lastLine = '';
  }
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 3 : 1);
}
