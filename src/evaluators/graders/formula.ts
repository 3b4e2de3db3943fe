/**
 * A safe formula evaluator for `multi` graders' `calculate_output`: numbers, variables (grader
 * names), `+ - * / ^`, unary minus, parentheses and min/max/abs/sqrt/log/exp/floor/ceil/round.
 * Hand-written recursive descent; no `eval`. Parsed once into a closure tree.
 *
 *   expr  := term (('+'|'-') term)*      term := unary (('*'|'/') unary)*
 *   unary := '-' unary | power           power := atom ('^' unary)?     (right-associative)
 *   atom  := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
 */

export class FormulaError extends Error {}

export type Formula = { variables: Set<string>; evaluate(vars: Record<string, number>): number };

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...a: number[]) => number }> = {
  min: { arity: [1, Infinity], fn: Math.min },
  max: { arity: [1, Infinity], fn: Math.max },
  abs: { arity: [1, 1], fn: Math.abs },
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  log: { arity: [1, 1], fn: Math.log },
  exp: { arity: [1, 1], fn: Math.exp },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  round: { arity: [1, 1], fn: Math.round },
};

type Tok = { t: 'num'; v: number } | { t: 'name'; v: string } | { t: 'op'; v: string };
type Node = (vars: Record<string, number>) => number;

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|([-+*/^(),]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new FormulaError(`unexpected ${JSON.stringify(src.slice(pos).trim()[0])} at position ${pos}`);
    if (m[1]) out.push({ t: 'num', v: Number(m[1]) });
    else if (m[2]) out.push({ t: 'name', v: m[2] });
    else out.push({ t: 'op', v: m[3]! });
    pos = re.lastIndex;
  }
  return out;
}

export function parseFormula(src: string): Formula {
  const toks = lex(src);
  let i = 0;
  const variables = new Set<string>();
  const isOp = (v: string) => toks[i]?.t === 'op' && toks[i]!.v === v;
  const expect = (v: string) => {
    if (!isOp(v)) throw new FormulaError(`expected "${v}"${toks[i] ? ` before "${toks[i]!.v}"` : ' at the end'}`);
    i++;
  };
  function expr(): Node {
    let l = term();
    while (isOp('+') || isOp('-')) {
      const op = toks[i++]!.v;
      const a = l;
      const b = term();
      l = op === '+' ? (v) => a(v) + b(v) : (v) => a(v) - b(v);
    }
    return l;
  }
  function term(): Node {
    let l = unary();
    while (isOp('*') || isOp('/')) {
      const op = toks[i++]!.v;
      const a = l;
      const b = unary();
      l = op === '*' ? (v) => a(v) * b(v) : (v) => a(v) / b(v);
    }
    return l;
  }
  function unary(): Node {
    if (isOp('-')) {
      i++;
      const a = unary();
      return (v) => -a(v);
    }
    if (isOp('+')) {
      i++;
      return unary();
    }
    return power();
  }
  function power(): Node {
    const base = atom();
    if (isOp('^')) {
      i++;
      const e = unary();
      return (v) => base(v) ** e(v);
    }
    return base;
  }
  function atom(): Node {
    const tok = toks[i];
    if (!tok) throw new FormulaError('the formula ends too early');
    i++;
    if (tok.t === 'num') return () => tok.v;
    if (tok.t === 'name') {
      if (isOp('(')) {
        const f = FUNCTIONS[tok.v];
        if (!f) throw new FormulaError(`unknown function ${tok.v}(); available: ${Object.keys(FUNCTIONS).join(', ')}`);
        i++;
        const args: Node[] = [expr()];
        while (isOp(',')) {
          i++;
          args.push(expr());
        }
        expect(')');
        if (args.length < f.arity[0] || args.length > f.arity[1]) throw new FormulaError(`${tok.v}() takes ${f.arity[0]}${f.arity[1] === Infinity ? ' or more' : ''} argument(s), got ${args.length}`);
        return (v) => f.fn(...args.map((a) => a(v)));
      }
      const name = tok.v;
      variables.add(name);
      return (v) => {
        const x = v[name];
        if (x === undefined) throw new FormulaError(`unknown variable ${name}`);
        return x;
      };
    }
    if (tok.v === '(') {
      const e = expr();
      expect(')');
      return e;
    }
    throw new FormulaError(`unexpected "${tok.v}"`);
  }
  if (toks.length === 0) throw new FormulaError('empty formula');
  const root = expr();
  if (i < toks.length) throw new FormulaError(`unexpected "${toks[i]!.v}" after the end of the formula`);
  return { variables, evaluate: root };
}
