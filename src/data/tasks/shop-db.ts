/**
 * The bundled shop database for the SQL task, built deterministically from a seed:
 *   customers (60)  id, name, email, city, country, signup_date
 *   products (40)   id, name, category, price
 *   orders (180)    id, customer_id -> customers, order_date, status
 *   order_items     id, order_id -> orders, product_id -> products, quantity, unit_price   (~450)
 * Prices are multiples of 0.25 so that sums are exact in binary floating point: equivalent
 * queries that add in different orders still return identical numbers.
 */
import Database from 'better-sqlite3';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Rng } from '../random.js';

export const SHOP_SCHEMA = `CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  signup_date TEXT NOT NULL -- YYYY-MM-DD
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  price REAL NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  order_date TEXT NOT NULL, -- YYYY-MM-DD
  status TEXT NOT NULL -- pending, shipped, delivered or cancelled
);
CREATE TABLE order_items (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL,
  unit_price REAL NOT NULL
);`;

export const CITIES: ReadonlyArray<readonly [string, string]> = [
  ['Lisbon', 'Portugal'], ['Porto', 'Portugal'], ['Madrid', 'Spain'], ['Valencia', 'Spain'], ['Lyon', 'France'], ['Paris', 'France'],
  ['Munich', 'Germany'], ['Hamburg', 'Germany'], ['Milan', 'Italy'], ['Turin', 'Italy'], ['Utrecht', 'Netherlands'], ['Rotterdam', 'Netherlands'],
];
const FIRST = ['Alice', 'Bruno', 'Carla', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Klara', 'Luca', 'Marta', 'Nils', 'Olga', 'Pedro', 'Rosa', 'Simon', 'Tara', 'Victor'];
const LAST = ['Almeida', 'Bauer', 'Costa', 'Dubois', 'Esposito', 'Fischer', 'Garcia', 'Hoffmann', 'Jansen', 'Klein', 'Lopez', 'Martin', 'Novak', 'Rossi', 'Silva', 'Weber'];
export const CATEGORIES: Record<string, string[]> = {
  Electronics: ['USB cable', 'Wireless mouse', 'Keyboard', 'Headphones', 'Webcam', 'Power bank', 'Monitor stand'],
  Books: ['Cookbook', 'Travel guide', 'Novel', 'Atlas', 'Poetry collection', 'Dictionary', 'Comic album'],
  Kitchen: ['Chef knife', 'Frying pan', 'Teapot', 'Cutting board', 'Coffee grinder', 'Salad bowl', 'Spice rack'],
  Garden: ['Watering can', 'Garden hose', 'Pruning shears', 'Flower pot', 'Seed kit', 'Gloves'],
  Toys: ['Puzzle', 'Board game', 'Kite', 'Building blocks', 'Yo-yo', 'Plush bear'],
  Sports: ['Yoga mat', 'Tennis balls', 'Water bottle', 'Jump rope', 'Dumbbells', 'Bike helmet', 'Football'],
};
export const STATUSES = ['pending', 'shipped', 'delivered', 'cancelled'] as const;

function date(rng: Rng, fromYear: number, toYear: number): string {
  const y = rng.int(fromYear, toYear);
  const m = rng.int(1, 12);
  const d = rng.int(1, 28);
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Fills an open database with the seeded shop data. */
export function fillShop(db: Database.Database, rng: Rng): void {
  db.exec(SHOP_SCHEMA);
  const insert = db.transaction(() => {
    const names = rng.sample(FIRST.flatMap((f) => LAST.map((l) => `${f} ${l}`)), 60);
    const addCustomer = db.prepare('INSERT INTO customers (id, name, email, city, country, signup_date) VALUES (?, ?, ?, ?, ?, ?)');
    names.forEach((name, i) => {
      const [city, country] = rng.pick(CITIES);
      addCustomer.run(i + 1, name, `${name.toLowerCase().replace(' ', '.')}@example.com`, city, country, date(rng, 2021, 2023));
    });
    const addProduct = db.prepare('INSERT INTO products (id, name, category, price) VALUES (?, ?, ?, ?)');
    let pid = 0;
    for (const [category, items] of Object.entries(CATEGORIES)) {
      for (const item of items) addProduct.run(++pid, item, category, rng.int(8, 800) * 0.25);
    }
    const prices = db.prepare('SELECT id, price FROM products ORDER BY id').all() as { id: number; price: number }[];
    // About one customer in eight never orders, so "never ordered" questions have answers.
    const buyers = Array.from({ length: names.length }, (_, i) => i + 1).filter(() => !rng.chance(0.12));
    const addOrder = db.prepare('INSERT INTO orders (id, customer_id, order_date, status) VALUES (?, ?, ?, ?)');
    const addItem = db.prepare('INSERT INTO order_items (id, order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, ?)');
    let itemId = 0;
    for (let o = 1; o <= 180; o++) {
      const status = rng.chance(0.55) ? 'delivered' : rng.pick(STATUSES);
      addOrder.run(o, rng.pick(buyers), date(rng, 2023, 2024), status);
      for (const p of rng.sample(prices, rng.int(1, 4))) addItem.run(++itemId, o, p.id, rng.int(1, 5), p.price);
    }
  });
  insert();
}

/** Writes the shop database to `path` atomically (built beside it, then renamed). */
export async function writeShopDatabase(path: string, rng: Rng): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await rm(tmp, { force: true });
  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = DELETE');
    fillShop(db, rng);
  } finally {
    db.close();
  }
  await rename(tmp, path);
}
