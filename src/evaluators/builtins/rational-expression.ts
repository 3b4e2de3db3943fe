/**
 * A safe arithmetic parser for countdown answers: integers, binary `+ - * /` and parentheses,
 * nothing else (no unary minus, no decimals, no functions, no `eval`). Evaluates with exact
 * rationals (BigInt numerator / denominator), so `(1/3)*3` is exactly 1.
 *
 * Grammar:  expr := term (('+'|'-') term)* ;  term := factor (('*'|'/') factor)* ;
 *           factor := INT | '(' expr ')'
 */

export class ExpressionError extends Error {}

export interface Rational {
  num: bigint;
  den: bigint; // > 0, gcd(num, den) = 1
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new ExpressionError('division by zero');
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

const add = (a: Rational, b: Rational) => rational(a.num * b.den + b.num * a.den, a.den * b.den);
const sub = (a: Rational, b: Rational) => rational(a.num * b.den - b.num * a.den, a.den * b.den);
const mul = (a: Rational, b: Rational) => rational(a.num * b.num, a.den * b.den);
const div = (a: Rational, b: Rational) => {
  if (b.num === 0n) throw new ExpressionError('division by zero');
  return rational(a.num * b.den, a.den * b.num);
};

type Token = { kind: 'int'; value: bigint; text: string } | { kind: 'op'; value: string };

const MAX_LENGTH = 500;
const MAX_DIGITS = 12;
const MAX_DEPTH = 50;

export function tokenize(src: string): Token[] {
  if (src.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`);
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (/[0-9]/.test(ch)) {
      let j = i;
      while (j < src.length && /[0-9]/.test(src[j]!)) j++;
      const text = src.slice(i, j);
      if (src[j] === '.') throw new ExpressionError(`decimal numbers are not allowed (at "${src.slice(i, j + 2)}")`);
      if (text.length > MAX_DIGITS) throw new ExpressionError(`number ${text.slice(0, 15)}… is too long`);
      out.push({ kind: 'int', value: BigInt(text), text });
      i = j;
    } else if ('+-*/()'.includes(ch)) {
      out.push({ kind: 'op', value: ch });
      i++;
    } else {
      throw new ExpressionError(`unexpected character ${JSON.stringify(ch)} at position ${i} (only integers, + - * / and parentheses)`);
    }
  }
  return out;
}

export interface ParsedExpression {
  value: Rational;
  /** The integer literals in the order they appear. */
  numbers: bigint[];
}

export function evaluateExpression(src: string): ParsedExpression {
  const tokens = tokenize(src);
  if (tokens.length === 0) throw new ExpressionError('empty expression');
  let pos = 0;
  const numbers: bigint[] = [];
  const peek = () => tokens[pos];
  const isOp = (v: string) => {
    const t = peek();
    return t?.kind === 'op' && t.value === v;
  };
  function expr(depth: number): Rational {
    if (depth > MAX_DEPTH) throw new ExpressionError('parentheses nested too deeply');
    let v = term(depth);
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as { value: string }).value;
      const r = term(depth);
      v = op === '+' ? add(v, r) : sub(v, r);
    }
    return v;
  }
  function term(depth: number): Rational {
    let v = factor(depth);
    while (isOp('*') || isOp('/')) {
      const op = (tokens[pos++] as { value: string }).value;
      const r = factor(depth);
      v = op === '*' ? mul(v, r) : div(v, r);
    }
    return v;
  }
  function factor(depth: number): Rational {
    const t = tokens[pos];
    if (!t) throw new ExpressionError('expression ends too early');
    if (t.kind === 'int') {
      pos++;
      numbers.push(t.value);
      return rational(t.value);
    }
    if (t.value === '(') {
      pos++;
      const v = expr(depth + 1);
      if (!isOp(')')) throw new ExpressionError('missing closing parenthesis');
      pos++;
      return v;
    }
    if (t.value === '-' || t.value === '+') throw new ExpressionError('unary plus/minus is not allowed');
    throw new ExpressionError(`unexpected "${t.value}"`);
  }
  const value = expr(0);
  if (pos < tokens.length) {
    const t = tokens[pos]!;
    throw new ExpressionError(`unexpected ${t.kind === 'int' ? t.text : `"${t.value}"`} after the end of the expression`);
  }
  return { value, numbers };
}

export function formatRational(r: Rational): string {
  return r.den === 1n ? String(r.num) : `${r.num}/${r.den}`;
}
