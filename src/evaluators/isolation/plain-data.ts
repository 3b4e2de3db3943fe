/**
 * Taking a value that graded code returned out as plain JSON data, with this realm's own
 * intrinsics only. The value is hostile: it may come from a `node:vm` context whose
 * prototypes the code replaced, hold proxies, getters that change on every read or throw, or
 * `then`/`toJSON`/`Symbol.toPrimitive` hooks. Nothing of it is called: no getter, no trap,
 * no method (proxies and accessor properties are refused, own data properties are read by
 * descriptor), so no model code runs while the copy is made, and the copy is made once: what
 * is compared is exactly what is reported.
 *
 * The rules are JSON's (what `JSON.stringify` then `JSON.parse` would give for ordinary data):
 * non-finite numbers and array holes become null, `undefined` properties are left out, a Date
 * becomes its ISO string, boxed primitives are unboxed, objects keep their own enumerable
 * string-keyed properties. Refused, with the path: proxies, accessors, functions, symbols,
 * bigints, promises, cycles, nesting deeper than 1000, more than a million values in all.
 */
import { types } from 'node:util';

export class NotPlainData extends Error {}

// Captured at load, before any graded code exists in the process.
const { getOwnPropertyDescriptor, defineProperty } = Object;
const { ownKeys } = Reflect;
const { isArray } = Array;
const toISOString = Date.prototype.toISOString;
const dateValue = Date.prototype.getTime;
const numberValue = Number.prototype.valueOf;
const stringValue = String.prototype.valueOf;
const booleanValue = Boolean.prototype.valueOf;
const apply = Reflect.apply;

const MAX_DEPTH = 1000;
/** Values copied at most (array slots included): a sparse `new Array(1e9)` must not hang the worker. */
const MAX_VALUES = 1_000_000;

/**
 * The plain-data copy of `v` (undefined at the top becomes null), or a thrown `NotPlainData`
 * saying what and where (`result[2].a`).
 */
export function toPlainData(v: unknown): unknown {
  const c = copy(v, 'result', new Set(), 0, { left: MAX_VALUES });
  return c === undefined ? null : c;
}

function copy(v: unknown, path: string, open: Set<object>, depth: number, budget: { left: number }): unknown {
  if (--budget.left < 0) throw new NotPlainData(`result holds more than ${MAX_VALUES} values`);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'undefined':
      return undefined;
    case 'bigint':
      throw new NotPlainData(`${path} is a BigInt, which is not JSON`);
    case 'symbol':
      throw new NotPlainData(`${path} is a Symbol, which is not JSON`);
    case 'function':
      throw new NotPlainData(`${path} is a function, which is not data`);
  }
  if (v === null) return null;
  const o = v as object;
  if (types.isProxy(o)) throw new NotPlainData(`${path} is a Proxy; return plain data`);
  if (types.isPromise(o)) throw new NotPlainData(`${path} is a Promise; the function must return its result, not a promise of it`);
  if (types.isDate(o)) return Number.isFinite(apply(dateValue, o, [])) ? apply(toISOString, o, []) : null;
  if (types.isNumberObject(o)) return copy(apply(numberValue, o, []), path, open, depth, budget);
  if (types.isStringObject(o)) return apply(stringValue, o, []);
  if (types.isBooleanObject(o)) return apply(booleanValue, o, []);
  if (types.isBoxedPrimitive(o)) throw new NotPlainData(`${path} is a boxed Symbol or BigInt, which is not JSON`);
  if (depth >= MAX_DEPTH) throw new NotPlainData(`${path} is nested more than ${MAX_DEPTH} levels deep`);
  if (open.has(o)) throw new NotPlainData(`${path} refers back to itself (a cycle)`);
  open.add(o);
  try {
    if (isArray(o)) {
      const len = dataValue(o, 'length', path);
      if (typeof len !== 'number') throw new NotPlainData(`${path} has no array length`);
      if (len > budget.left) throw new NotPlainData(`${path} has ${len} elements, more than the ${MAX_VALUES} values a result may hold`);
      const out: unknown[] = [];
      for (let i = 0; i < len; i++) {
        const d = getOwnPropertyDescriptor(o, i);
        const x = d === undefined ? undefined : copy(dataValue(o, i, path), `${path}[${i}]`, open, depth + 1, budget);
        out.push(x === undefined ? null : x);
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const k of ownKeys(o)) {
      if (typeof k !== 'string') continue;
      const d = getOwnPropertyDescriptor(o, k)!;
      if (!d.enumerable) continue;
      const at = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
      const x = copy(dataValue(o, k, path), at, open, depth + 1, budget);
      // defineProperty, so that a "__proto__" key stays an ordinary own property.
      if (x !== undefined) defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    open.delete(o);
  }
}

function dataValue(o: object, k: string | number, path: string): unknown {
  const d = getOwnPropertyDescriptor(o, k);
  if (d === undefined) return undefined;
  if (!('value' in d)) throw new NotPlainData(`${path}${typeof k === 'number' ? `[${k}]` : `.${k}`} is a getter/setter; return plain data`);
  return d.value;
}
