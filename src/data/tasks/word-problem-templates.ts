/**
 * Word-problem templates: percentages, discounts, markups/tax, rates, unit prices, work rates,
 * each with its inverse. Every template picks numbers, computes the answer exactly (Rational),
 * and returns undefined when the answer would not be clean (more than 2 decimals) so the
 * generator tries again. `params` are the numbers the question states, so a test can recompute
 * the answer independently.
 */
import { Rational, R } from '../rational.js';
import type { Rng } from '../random.js';

export type Family = 'discount' | 'percent' | 'markup' | 'rate' | 'unit-price' | 'work-rate';
export const FAMILIES: readonly Family[] = ['discount', 'percent', 'markup', 'rate', 'unit-price', 'work-rate'];

export interface Problem {
  question: string;
  /** Lines of the worked solution, each with the real computation. */
  work: string[];
  answer: Rational;
  params: Record<string, number>;
}

export interface Template {
  id: string;
  family: Family;
  /** Arithmetic steps the solution takes: the difficulty. */
  steps: number;
  make(rng: Rng): Problem | undefined;
}

const ITEMS = ['shirt', 'jacket', 'pair of shoes', 'lamp', 'backpack', 'bicycle', 'kettle', 'desk chair', 'watch', 'pair of headphones', 'coat', 'tent'];
const BULK = ['notebooks', 'pens', 'mugs', 'light bulbs', 'towels', 'batteries', 'plant pots', 'folders'];
const NAMES = ['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Fatima', 'Goran', 'Hana', 'Ivan', 'Jade', 'Kofi', 'Lena'];
const VEHICLES = ['train', 'bus', 'cyclist', 'truck', 'ferry', 'car'];
const MACHINES = ['printer', 'bottling machine', 'bakery oven', 'packing robot', 'loom'];
const PRODUCTS = ['pages', 'bottles', 'loaves', 'boxes', 'scarves'];

/** A number as people write it: exact decimals up to 6 places, else a fraction. */
export function fmt(r: Rational): string {
  return r.toDecimal(6) ?? r.toString();
}
const pct = (p: number) => R(p, 100);
const clean = (r: Rational) => r.num > 0n && r.toDecimal(2) !== undefined;

export const TEMPLATES: Template[] = [
  {
    id: 'discount-price', family: 'discount', steps: 1,
    make(rng) {
      const item = rng.pick(ITEMS); const price = rng.int(4, 100) * 5; const d = rng.pick([5, 10, 15, 20, 25, 30, 40, 50]);
      const keep = pct(100 - d); const answer = R(price).mul(keep);
      if (!clean(answer)) return undefined;
      return { question: `A ${item} costs ${price}. It is on sale for ${d}% off. What is the sale price?`,
        work: [`A ${d}% discount leaves 100% - ${d}% = ${100 - d}% of the price.`, `${price} × ${fmt(keep)} = ${fmt(answer)}`], answer, params: { price, discount: d } };
    },
  },
  {
    id: 'discount-original', family: 'discount', steps: 1,
    make(rng) {
      const item = rng.pick(ITEMS); const answer = R(rng.int(4, 100) * 5); const d = rng.pick([10, 20, 25, 40, 50]);
      const keep = pct(100 - d); const final = answer.mul(keep);
      if (!clean(final)) return undefined;
      return { question: `After a ${d}% discount a ${item} costs ${fmt(final)}. What was the original price?`,
        work: [`After a ${d}% discount the price is ${100 - d}% of the original.`, `${fmt(final)} / ${fmt(keep)} = ${fmt(answer)}`], answer, params: { final: final.toNumber(), discount: d } };
    },
  },
  {
    id: 'discount-rate', family: 'discount', steps: 2,
    make(rng) {
      const item = rng.pick(ITEMS); const price = rng.int(4, 100) * 5; const d = rng.pick([5, 10, 15, 20, 25, 30, 40, 50]);
      const final = R(price).mul(pct(100 - d)); if (!clean(final)) return undefined;
      const off = R(price).sub(final); const answer = off.div(R(price)).mul(R(100));
      return { question: `A ${item} that used to cost ${price} now costs ${fmt(final)}. By what percentage was it discounted?`,
        work: [`The price dropped by ${price} - ${fmt(final)} = ${fmt(off)}.`, `${fmt(off)} / ${price} × 100 = ${fmt(answer)}%`], answer, params: { price, final: final.toNumber() } };
    },
  },
  {
    id: 'percent-of', family: 'percent', steps: 1,
    make(rng) {
      const p = rng.pick([5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 60, 75, 80, 120, 150]); const x = rng.int(2, 80) * 10;
      const answer = R(x).mul(pct(p)); if (!clean(answer)) return undefined;
      return { question: `What is ${p}% of ${x}?`, work: [`${p}% of ${x} = ${x} × ${fmt(pct(p))} = ${fmt(answer)}`], answer, params: { percent: p, whole: x } };
    },
  },
  {
    id: 'percent-whole', family: 'percent', steps: 1,
    make(rng) {
      const p = rng.pick([5, 10, 20, 25, 40, 50, 75, 80]); const answer = R(rng.int(2, 80) * 10);
      const part = answer.mul(pct(p)); if (!clean(part)) return undefined;
      const name = rng.pick(NAMES);
      return { question: `${name} has read ${fmt(part)} pages, which is ${p}% of the book. How many pages does the book have?`,
        work: [`${fmt(part)} is ${p}% of the whole, so the whole is ${fmt(part)} / ${fmt(pct(p))} = ${fmt(answer)}`], answer, params: { part: part.toNumber(), percent: p } };
    },
  },
  {
    id: 'percent-ratio', family: 'percent', steps: 1,
    make(rng) {
      const whole = rng.int(2, 50) * 10; const p = rng.pick([5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90]);
      const part = R(whole).mul(pct(p)); if (!part.isInteger()) return undefined;
      const answer = part.div(R(whole)).mul(R(100));
      return { question: `A school has ${whole} students and ${fmt(part)} of them walk to school. What percentage of the students walk to school?`,
        work: [`${fmt(part)} / ${whole} × 100 = ${fmt(answer)}%`], answer, params: { part: part.toNumber(), whole } };
    },
  },
  {
    id: 'markup-price', family: 'markup', steps: 1,
    make(rng) {
      const item = rng.pick(ITEMS); const price = rng.int(4, 100) * 5; const t = rng.pick([5, 8, 10, 12, 15, 20, 25]);
      const factor = pct(100 + t); const answer = R(price).mul(factor); if (!clean(answer)) return undefined;
      return { question: `A ${item} costs ${price} before a ${t}% sales tax. What does it cost with the tax?`,
        work: [`With ${t}% tax the price is ${100 + t}% of the base price.`, `${price} × ${fmt(factor)} = ${fmt(answer)}`], answer, params: { price, tax: t } };
    },
  },
  {
    id: 'markup-base', family: 'markup', steps: 1,
    make(rng) {
      const item = rng.pick(ITEMS); const answer = R(rng.int(4, 100) * 5); const t = rng.pick([5, 10, 20, 25]);
      const factor = pct(100 + t); const total = answer.mul(factor); if (!clean(total)) return undefined;
      return { question: `Including a ${t}% sales tax, a ${item} costs ${fmt(total)}. What was the price before tax?`,
        work: [`The total is ${100 + t}% of the price before tax.`, `${fmt(total)} / ${fmt(factor)} = ${fmt(answer)}`], answer, params: { total: total.toNumber(), tax: t } };
    },
  },
  {
    id: 'discount-then-tax', family: 'markup', steps: 2,
    make(rng) {
      const item = rng.pick(ITEMS); const price = rng.int(4, 60) * 10; const d = rng.pick([10, 20, 25, 50]); const t = rng.pick([5, 10, 20]);
      const sale = R(price).mul(pct(100 - d)); const answer = sale.mul(pct(100 + t)); if (!clean(answer) || !clean(sale)) return undefined;
      return { question: `A ${item} costs ${price}. It is discounted by ${d}%, and then a ${t}% sales tax is added to the sale price. What is the final price?`,
        work: [`Sale price: ${price} × ${fmt(pct(100 - d))} = ${fmt(sale)}`, `With tax: ${fmt(sale)} × ${fmt(pct(100 + t))} = ${fmt(answer)}`], answer, params: { price, discount: d, tax: t } };
    },
  },
  {
    id: 'two-discounts-original', family: 'discount', steps: 2,
    make(rng) {
      const item = rng.pick(ITEMS); const answer = R(rng.int(4, 60) * 20); const d1 = rng.pick([10, 20, 25, 50]); const d2 = rng.pick([10, 20, 25, 50]);
      const mid = answer.mul(pct(100 - d1)); const final = mid.mul(pct(100 - d2)); if (!clean(final) || !clean(mid)) return undefined;
      return { question: `A ${item} was reduced by ${d1}%, and later the reduced price was cut by another ${d2}%. It now costs ${fmt(final)}. What was the original price?`,
        work: [`Before the second cut: ${fmt(final)} / ${fmt(pct(100 - d2))} = ${fmt(mid)}`, `Before the first cut: ${fmt(mid)} / ${fmt(pct(100 - d1))} = ${fmt(answer)}`], answer, params: { final: final.toNumber(), discount1: d1, discount2: d2 } };
    },
  },
  {
    id: 'speed', family: 'rate', steps: 1,
    make(rng) {
      const v = rng.pick(VEHICLES); const answer = R(rng.int(8, 24) * 5); const hours = R(rng.int(1, 12), 2);
      const dist = answer.mul(hours); if (!clean(dist)) return undefined;
      return { question: `A ${v} travels ${fmt(dist)} km in ${fmt(hours)} hours. What is its average speed in km/h?`,
        work: [`speed = distance / time = ${fmt(dist)} / ${fmt(hours)} = ${fmt(answer)}`], answer, params: { distance: dist.toNumber(), hours: hours.toNumber() } };
    },
  },
  {
    id: 'travel-time', family: 'rate', steps: 1,
    make(rng) {
      const v = rng.pick(VEHICLES); const speed = R(rng.int(8, 24) * 5); const answer = R(rng.int(1, 16), 4);
      const dist = speed.mul(answer); if (!clean(dist)) return undefined;
      return { question: `How many hours does a ${v} moving at ${fmt(speed)} km/h need to cover ${fmt(dist)} km?`,
        work: [`time = distance / speed = ${fmt(dist)} / ${fmt(speed)} = ${fmt(answer)}`], answer, params: { distance: dist.toNumber(), speed: speed.toNumber() } };
    },
  },
  {
    id: 'average-speed-two-legs', family: 'rate', steps: 3,
    make(rng) {
      const s1 = rng.int(4, 24) * 5; const s2 = rng.int(4, 24) * 5; const t1 = R(rng.int(1, 8), 2); const t2 = R(rng.int(1, 8), 2);
      const d1 = R(s1).mul(t1); const d2 = R(s2).mul(t2); const tt = t1.add(t2); const answer = d1.add(d2).div(tt);
      if (!clean(answer) || !d1.isInteger() || !d2.isInteger()) return undefined;
      return { question: `A cyclist rides ${fmt(d1)} km at ${s1} km/h and then ${fmt(d2)} km at ${s2} km/h. What is the average speed for the whole trip in km/h?`,
        work: [`First leg: ${fmt(d1)} / ${s1} = ${fmt(t1)} h; second leg: ${fmt(d2)} / ${s2} = ${fmt(t2)} h`, `Total: ${fmt(d1.add(d2))} km in ${fmt(tt)} h`, `${fmt(d1.add(d2))} / ${fmt(tt)} = ${fmt(answer)}`], answer, params: { d1: d1.toNumber(), s1, d2: d2.toNumber(), s2 } };
    },
  },
  {
    id: 'unit-price', family: 'unit-price', steps: 1,
    make(rng) {
      const what = rng.pick(BULK); const n = rng.int(2, 24); const answer = R(rng.int(5, 400), 20);
      const total = answer.mul(R(n)); if (!clean(total) || !clean(answer)) return undefined;
      return { question: `${n} ${what} cost ${fmt(total)} in total. What is the price of one?`,
        work: [`${fmt(total)} / ${n} = ${fmt(answer)}`], answer, params: { count: n, total: total.toNumber() } };
    },
  },
  {
    id: 'unit-total', family: 'unit-price', steps: 1,
    make(rng) {
      const what = rng.pick(BULK); const n = rng.int(2, 30); const unit = R(rng.int(5, 400), 20);
      const answer = unit.mul(R(n)); if (!clean(answer) || !clean(unit)) return undefined;
      return { question: `One pack of ${what} costs ${fmt(unit)}. How much do ${n} packs cost?`,
        work: [`${fmt(unit)} × ${n} = ${fmt(answer)}`], answer, params: { unit: unit.toNumber(), count: n } };
    },
  },
  {
    id: 'unit-compare', family: 'unit-price', steps: 3,
    make(rng) {
      const what = rng.pick(BULK); const n1 = rng.int(2, 12); const n2 = rng.int(13, 40);
      const u1 = R(rng.int(20, 200), 20); const u2 = R(rng.int(10, 190), 20);
      if (u2.cmp(u1) >= 0) return undefined;
      const p1 = u1.mul(R(n1)); const p2 = u2.mul(R(n2)); const answer = u1.sub(u2);
      if (!clean(p1) || !clean(p2) || !clean(answer)) return undefined;
      return { question: `A small pack of ${n1} ${what} costs ${fmt(p1)} and a large pack of ${n2} costs ${fmt(p2)}. How much cheaper per item is the large pack?`,
        work: [`Small: ${fmt(p1)} / ${n1} = ${fmt(u1)} per item`, `Large: ${fmt(p2)} / ${n2} = ${fmt(u2)} per item`, `${fmt(u1)} - ${fmt(u2)} = ${fmt(answer)}`], answer, params: { n1, p1: p1.toNumber(), n2, p2: p2.toNumber() } };
    },
  },
  {
    id: 'bulk-discount-tax', family: 'unit-price', steps: 3,
    make(rng) {
      const what = rng.pick(BULK); const n = rng.int(2, 20); const unit = R(rng.int(2, 40) * 5); const d = rng.pick([10, 20, 25]); const t = rng.pick([5, 10, 20]);
      const sub = unit.mul(R(n)); const sale = sub.mul(pct(100 - d)); const answer = sale.mul(pct(100 + t));
      if (!clean(sale) || !clean(answer)) return undefined;
      return { question: `${rng.pick(NAMES)} buys ${n} ${what} at ${fmt(unit)} each. The shop gives ${d}% off the order and then adds ${t}% tax. What is the total?`,
        work: [`Subtotal: ${n} × ${fmt(unit)} = ${fmt(sub)}`, `After ${d}% off: ${fmt(sub)} × ${fmt(pct(100 - d))} = ${fmt(sale)}`, `With ${t}% tax: ${fmt(sale)} × ${fmt(pct(100 + t))} = ${fmt(answer)}`], answer, params: { count: n, unit: unit.toNumber(), discount: d, tax: t } };
    },
  },
  {
    id: 'work-output', family: 'work-rate', steps: 1,
    make(rng) {
      const m = rng.pick(MACHINES); const p = rng.pick(PRODUCTS); const rate = rng.int(3, 60) * 5; const hours = R(rng.int(1, 16), 2);
      const answer = R(rate).mul(hours); if (!answer.isInteger()) return undefined;
      return { question: `A ${m} makes ${rate} ${p} per hour. How many ${p} does it make in ${fmt(hours)} hours?`,
        work: [`${rate} × ${fmt(hours)} = ${fmt(answer)}`], answer, params: { rate, hours: hours.toNumber() } };
    },
  },
  {
    id: 'work-hours', family: 'work-rate', steps: 1,
    make(rng) {
      const m = rng.pick(MACHINES); const p = rng.pick(PRODUCTS); const rate = rng.int(3, 60) * 5; const answer = R(rng.int(1, 16), 2);
      const total = R(rate).mul(answer); if (!total.isInteger()) return undefined;
      return { question: `A ${m} makes ${rate} ${p} per hour. How many hours does it need to make ${fmt(total)} ${p}?`,
        work: [`${fmt(total)} / ${rate} = ${fmt(answer)}`], answer, params: { rate, total: total.toNumber() } };
    },
  },
  {
    id: 'work-two-machines', family: 'work-rate', steps: 2,
    make(rng) {
      const p = rng.pick(PRODUCTS); const r1 = rng.int(2, 30) * 5; const r2 = rng.int(2, 30) * 5; const answer = R(rng.int(1, 12), 2);
      const total = R(r1 + r2).mul(answer); if (!total.isInteger()) return undefined;
      return { question: `One machine makes ${r1} ${p} per hour and another makes ${r2} per hour. Working together, how many hours do they need for ${fmt(total)} ${p}?`,
        work: [`Together: ${r1} + ${r2} = ${r1 + r2} per hour`, `${fmt(total)} / ${r1 + r2} = ${fmt(answer)}`], answer, params: { r1, r2, total: total.toNumber() } };
    },
  },
];
