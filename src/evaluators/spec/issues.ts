/**
 * Spec errors as data: parsers collect every problem with the JSON path of the bad field
 * (`$.components[1].evaluator.weight`) and throw one `SpecError` listing them all.
 */
export interface SpecIssue {
  path: string;
  message: string;
}

export class SpecError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    this.name = 'SpecError';
  }
}

export class Issues {
  readonly list: SpecIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  throwIfAny(): void {
    if (this.list.length) throw new SpecError(this.list);
  }
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * Typed reads from one JSON object of a spec, each recording an issue (with the path) instead of
 * throwing; `done()` reports keys nobody read, so that a misspelt option is not silently ignored.
 */
export class Options {
  private readonly seen = new Set<string>(['type', 'name']);
  constructor(readonly obj: Record<string, unknown>, readonly path: string, readonly issues: Issues) {}

  static of(value: unknown, path: string, issues: Issues): Options | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.add(path, `expected an object, got ${describeValue(value)}`);
      return undefined;
    }
    return new Options(value as Record<string, unknown>, path, issues);
  }

  at(key: string): string {
    return /^[A-Za-z_$][\w$]*$/.test(key) ? `${this.path}.${key}` : `${this.path}[${JSON.stringify(key)}]`;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  string(key: string, opts: { required: true }): string;
  string(key: string, opts?: { required?: boolean }): string | undefined;
  string(key: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined) {
      if (opts.required) this.issues.add(this.at(key), 'is required (a string)');
      return opts.required ? '' : undefined;
    }
    if (typeof v !== 'string') {
      this.issues.add(this.at(key), `must be a string, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  number(key: string, opts: { min?: number; max?: number; integer?: boolean; required?: boolean } = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) {
      if (opts.required) this.issues.add(this.at(key), 'is required (a number)');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.issues.add(this.at(key), `must be a number, got ${describeValue(v)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) this.issues.add(this.at(key), `must be an integer, got ${v}`);
    else if (opts.min !== undefined && v < opts.min) this.issues.add(this.at(key), `must be ≥ ${opts.min}, got ${v}`);
    else if (opts.max !== undefined && v > opts.max) this.issues.add(this.at(key), `must be ≤ ${opts.max}, got ${v}`);
    else return v;
    return undefined;
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.issues.add(this.at(key), `must be true or false, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const v = this.string(key, opts);
    if (v === undefined || (opts.required && v === '')) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      this.issues.add(this.at(key), `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v as T;
  }

  stringArray(key: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) {
      if (opts.required) this.issues.add(this.at(key), 'is required (an array of strings)');
      return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.issues.add(this.at(key), `must be an array of strings, got ${describeValue(v)}`);
      return undefined;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.issues.add(this.at(key), 'must not be empty');
      return undefined;
    }
    return v as string[];
  }

  /** Reports keys present in the object that no reader asked for. */
  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) this.issues.add(this.at(k), 'unknown option (check the spelling; see the README for the options of each evaluator)');
    }
  }
}
