/**
 * Information extraction: a prose company description, generated from a random record with
 * the facts in varied wording and order (plus optional distractor facts), and the gold JSON
 * of company name, founding year, address, business areas, revenue, CEO, phone and email.
 *
 * Row: ground_truth { company_name, founding_year, address, business_areas, revenue, ceo, phone, email }.
 * Teacher answer: that JSON.
 */
import type { Rng } from '../random.js';
import type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';

export interface CompanyRecord {
  company_name: string;
  founding_year: number;
  address: string;
  business_areas: string[];
  revenue: string;
  ceo: string;
  phone: string;
  email: string;
}

const PREFIX = ['Northwind', 'Bluefield', 'Silver Oak', 'Red Harbor', 'Greenleaf', 'Ironbridge', 'Sunrise', 'Crescent', 'Maple Row', 'Granite Peak', 'Clearwater', 'Summit', 'Brightline', 'Falcon', 'Harborview', 'Oakridge', 'Kestrel', 'Lumen'];
const CORE = ['Analytics', 'Logistics', 'Foods', 'Robotics', 'Textiles', 'Energy', 'Health', 'Software', 'Ceramics', 'Labs', 'Media', 'Pharma', 'Systems', 'Materials'];
const SUFFIX = ['Inc.', 'Ltd.', 'GmbH', 'LLC', 'Group', 'Co.', 'AG', 'S.A.'];
const STREETS = ['Maple Avenue', 'Harbor Street', 'King Road', 'Elm Street', 'Station Square', 'Mill Lane', 'River Drive', 'Park Boulevard', 'Church Street', 'Canal Way', 'Hillside Road', 'Market Place'];
const CITIES = ['Springfield', 'Riverton', 'Lakewood', 'Fairview', 'Georgetown', 'Ashford', 'Bristol', 'Dover', 'Kingston', 'Milford', 'Oakland', 'Salem'];
const AREAS = ['cloud software', 'logistics', 'food processing', 'medical devices', 'renewable energy', 'industrial robotics', 'textiles', 'consulting', 'e-commerce', 'cybersecurity', 'biotechnology', 'packaging', 'data analytics', 'water treatment'];
const FIRST = ['Maria', 'James', 'Aiko', 'Omar', 'Sofia', 'Daniel', 'Priya', 'Lukas', 'Chloe', 'Mateo', 'Ingrid', 'Kwame', 'Elena', 'Tomasz'];
const LAST = ['Fernandes', 'Okafor', 'Tanaka', 'Schneider', 'Haddad', 'Larsen', 'Moreau', 'Kowalski', 'Reyes', 'Nakamura', 'Bianchi', 'Osei', 'Lindqvist', 'Duarte'];

export const extractionKnobs: KnobSpec[] = [
  { name: 'distractors', type: 'int', description: 'misleading extra facts per description (other people, other years and numbers), 0-4', default: 1 },
];

function digits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/\b(inc|ltd|gmbh|llc|group|co|ag|s\.a)\.?$/g, '').replace(/[^a-z0-9]+/g, '');
}

function person(rng: Rng): string {
  return `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
}

export function makeCompany(rng: Rng): CompanyRecord {
  const company_name = `${rng.pick(PREFIX)} ${rng.pick(CORE)} ${rng.pick(SUFFIX)}`;
  const amount = rng.chance(0.2) ? `${rng.int(11, 95) / 10} billion` : `${rng.int(12, 990) / 10} million`;
  return {
    company_name,
    founding_year: rng.int(1950, 2022),
    address: `${rng.int(1, 1999)} ${rng.pick(STREETS)}, ${rng.pick(CITIES)}`,
    business_areas: rng.sample(AREAS, rng.int(1, 3)),
    revenue: `$${amount}`,
    ceo: person(rng),
    phone: `+1-555-${digits(rng, 3)}-${digits(rng, 4)}`,
    email: `${rng.pick(['info', 'contact', 'hello', 'press'])}@${slug(company_name)}.com`,
  };
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** One sentence per fact, each in a randomly chosen wording; the name opens, the rest is shuffled. */
export function describe(c: CompanyRecord, rng: Rng, distractors: number): string {
  const n = c.company_name;
  const opening = rng.pick([
    `${n} was founded in ${c.founding_year}.`,
    `Established in ${c.founding_year}, ${n} has grown steadily since.`,
    `${n} traces its history back to ${c.founding_year}.`,
  ]);
  const facts = [
    rng.pick([`The company is headquartered at ${c.address}.`, `Its head office is located at ${c.address}.`, `Visitors will find its offices at ${c.address}.`]),
    rng.pick([`It works in ${list(c.business_areas)}.`, `Its main business areas are ${list(c.business_areas)}.`, `The firm is active in ${list(c.business_areas)}.`]),
    rng.pick([`Last year it reported revenue of ${c.revenue}.`, `Annual revenue reached ${c.revenue}.`, `The business brought in ${c.revenue} in revenue last year.`]),
    rng.pick([`${c.ceo} serves as chief executive officer.`, `The company is led by CEO ${c.ceo}.`, `Since taking over as CEO, ${c.ceo} has focused on growth.`]),
    rng.pick([`Customers can call ${c.phone}`, `The main phone line is ${c.phone}`, `By phone, it is reachable at ${c.phone}`]) +
      rng.pick([` or write to ${c.email}.`, `, and its email address is ${c.email}.`, `; inquiries by email go to ${c.email}.`]),
  ];
  const pool = [
    () => `Its founder, ${person(rng)}, retired in ${rng.int(Math.min(c.founding_year + 5, 2024), 2024)}.`,
    () => `The company employs about ${rng.int(2, 90) * 10} people.`,
    () => `A competitor, ${rng.pick(PREFIX)} ${rng.pick(CORE)}, was founded in ${rng.int(1950, 2022)}.`,
    () => `Its chief financial officer is ${person(rng)}.`,
    () => `The company opened a branch office at ${rng.int(1, 1999)} ${rng.pick(STREETS)}, ${rng.pick(CITIES)} in ${rng.int(c.founding_year, 2023)}.`,
    () => `Its largest customer spends around $${rng.int(2, 90) / 10} million a year with it.`,
  ];
  const extras = rng.sample(pool, distractors).map((f) => f());
  return [opening, ...rng.shuffle([...facts, ...extras])].join(' ');
}

export const EXTRACTION_INSTRUCTIONS =
  'Extract the company facts from the description below. Reply with only a JSON object with the keys ' +
  'company_name, founding_year (an integer), address, business_areas (an array of strings), revenue, ceo, phone and email.';

export function makeExtraction(rng: Rng, distractors: number): TaskExample {
  const record = makeCompany(rng);
  const prompt = [{ role: 'user' as const, content: `${EXTRACTION_INSTRUCTIONS}\n\nDescription: ${describe(record, rng, distractors)}` }];
  return {
    rft: { messages: prompt, ground_truth: record },
    sft: { messages: [...prompt, { role: 'assistant', content: JSON.stringify(record) }], ground_truth: record },
  };
}

export const extraction: TaskGenerator = {
  name: 'extraction',
  description: 'extract company name, founding year, address, business areas, revenue, CEO, phone and email from prose into JSON',
  knobs: extractionKnobs,
  async setup(k: KnobValues) {
    const distractors = k['distractors'] as number;
    if (!(Number.isInteger(distractors) && distractors >= 0 && distractors <= 4)) throw new RangeError(`--distractors must be 0..4, got ${distractors}`);
    return { make: (rng) => makeExtraction(rng, distractors), files: [] };
  },
};
