/**
 * Exact rational numbers over bigint, for generators whose answers must be exact
 * (countdown intermediates, word-problem money): floats would turn 150 / 0.75 into 199.99999….
 */
export class Rational {
  readonly num: bigint;
  readonly den: bigint; // always > 0, gcd(num, den) = 1

  constructor(num: bigint | number, den: bigint | number = 1n) {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === 0n) throw new RangeError('division by zero');
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n < 0n ? -n : n, d);
    this.num = n / g;
    this.den = d / g;
  }

  /** Parses "12", "-3", "12.5", "0.075" exactly. */
  static parse(text: string): Rational {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
    if (!m) throw new SyntaxError(`not a decimal number: ${JSON.stringify(text)}`);
    const frac = m[3] ?? '';
    const n = BigInt(m[2]! + frac) * (m[1] ? -1n : 1n);
    return new Rational(n, 10n ** BigInt(frac.length));
  }

  add(o: Rational): Rational {
    return new Rational(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Rational): Rational {
    return new Rational(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Rational): Rational {
    return new Rational(this.num * o.num, this.den * o.den);
  }
  div(o: Rational): Rational {
    if (o.num === 0n) throw new RangeError('division by zero');
    return new Rational(this.num * o.den, this.den * o.num);
  }
  eq(o: Rational): boolean {
    return this.num === o.num && this.den === o.den;
  }
  cmp(o: Rational): number {
    const d = this.num * o.den - o.num * this.den;
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  isInteger(): boolean {
    return this.den === 1n;
  }
  toNumber(): number {
    return Number(this.num) / Number(this.den);
  }

  /**
   * The exact decimal string when it has at most `maxDecimals` digits after the point
   * ("200", "12.5", "0.05"), else undefined: generators use it to keep only clean answers.
   */
  toDecimal(maxDecimals = 2): string | undefined {
    for (let k = 0; k <= maxDecimals; k++) {
      const scale = 10n ** BigInt(k);
      if ((this.num * scale) % this.den !== 0n) continue;
      const scaled = (this.num * scale) / this.den;
      const neg = scaled < 0n;
      const digits = (neg ? -scaled : scaled).toString().padStart(k + 1, '0');
      const body = k === 0 ? digits : `${digits.slice(0, digits.length - k)}.${digits.slice(digits.length - k)}`;
      return neg ? `-${body}` : body;
    }
    return undefined;
  }

  toString(): string {
    return this.den === 1n ? this.num.toString() : `${this.num}/${this.den}`;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

export const R = (n: number | bigint, d: number | bigint = 1n): Rational => new Rational(n, d);
