/**
 * SQL question templates over the shop database: natural-language question + gold SQL.
 * Parameters are drawn from the database itself (cities that exist, customers who ordered...),
 * and the generator keeps only questions whose gold query returns rows.
 */
import type Database from 'better-sqlite3';
import type { Rng } from '../random.js';

export type Level = 'easy' | 'medium' | 'hard';
export const LEVELS: readonly Level[] = ['easy', 'medium', 'hard'];

export interface SqlQuestion {
  question: string;
  sql: string;
}

export interface SqlTemplate {
  id: string;
  level: Level;
  make(rng: Rng, db: Database.Database): SqlQuestion;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A SQL string literal. */
export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function column<T>(db: Database.Database, sql: string): T[] {
  return db.prepare(sql).pluck().all() as T[];
}

export const SQL_TEMPLATES: SqlTemplate[] = [
  {
    id: 'customers-in-city', level: 'easy',
    make(rng, db) {
      const city = rng.pick(column<string>(db, 'SELECT DISTINCT city FROM customers ORDER BY city'));
      return { question: `List the names of all customers who live in ${city}.`, sql: `SELECT name FROM customers WHERE city = ${lit(city)};` };
    },
  },
  {
    id: 'products-above-price', level: 'easy',
    make(rng, db) {
      const cat = rng.pick(column<string>(db, 'SELECT DISTINCT category FROM products ORDER BY category'));
      const prices = column<number>(db, `SELECT price FROM products WHERE category = ${lit(cat)} ORDER BY price`);
      const threshold = rng.int(Math.floor(prices[0]!), Math.max(Math.floor(prices[0]!), Math.ceil(prices.at(-1)!) - 1));
      return { question: `Which products in the ${cat} category cost more than ${threshold}? Give their names and prices.`, sql: `SELECT name, price FROM products WHERE category = ${lit(cat)} AND price > ${threshold};` };
    },
  },
  {
    id: 'products-price-range', level: 'easy',
    make(rng, db) {
      const lo = rng.int(2, 150);
      const hi = lo + rng.int(5, 60);
      return { question: `Which products cost between ${lo} and ${hi} (inclusive)? Give name, category and price.`, sql: `SELECT name, category, price FROM products WHERE price BETWEEN ${lo} AND ${hi};` };
    },
  },
  {
    id: 'customers-signed-up-after', level: 'easy',
    make(rng, db) {
      const country = rng.pick(column<string>(db, 'SELECT DISTINCT country FROM customers ORDER BY 1'));
      const day = rng.pick(column<string>(db, `SELECT signup_date FROM customers WHERE country = ${lit(country)} ORDER BY 1`));
      return { question: `List the names and emails of customers from ${country} who signed up after ${day}.`, sql: `SELECT name, email FROM customers WHERE country = ${lit(country)} AND signup_date > ${lit(day)};` };
    },
  },
  {
    id: 'orders-between-dates', level: 'easy',
    make(rng, db) {
      const days = column<string>(db, 'SELECT DISTINCT order_date FROM orders ORDER BY 1');
      const a = rng.int(0, days.length - 2);
      const b = Math.min(days.length - 1, a + rng.int(1, 40));
      return { question: `How many orders were placed from ${days[a]} to ${days[b]}, both days included?`, sql: `SELECT COUNT(*) FROM orders WHERE order_date BETWEEN ${lit(days[a]!)} AND ${lit(days[b]!)};` };
    },
  },
  {
    id: 'count-orders-status', level: 'easy',
    make(rng, db) {
      const status = rng.pick(column<string>(db, 'SELECT DISTINCT status FROM orders ORDER BY status'));
      const year = rng.pick(column<string>(db, "SELECT DISTINCT strftime('%Y', order_date) FROM orders ORDER BY 1"));
      return { question: `How many orders placed in ${year} have the status '${status}'?`, sql: `SELECT COUNT(*) FROM orders WHERE status = ${lit(status)} AND strftime('%Y', order_date) = ${lit(year)};` };
    },
  },
  {
    id: 'average-price-category', level: 'easy',
    make(rng, db) {
      const cat = rng.pick(column<string>(db, 'SELECT DISTINCT category FROM products ORDER BY category'));
      const agg = rng.pick([['average', 'AVG'], ['highest', 'MAX'], ['lowest', 'MIN']] as const);
      return { question: `What is the ${agg[0]} price of the products in the ${cat} category?`, sql: `SELECT ${agg[1]}(price) FROM products WHERE category = ${lit(cat)};` };
    },
  },
  {
    id: 'customers-per-country', level: 'medium',
    make(rng, db) {
      const year = rng.pick(column<string>(db, "SELECT DISTINCT strftime('%Y', signup_date) FROM customers ORDER BY 1"));
      return { question: `For each country, how many customers signed up in ${year}?`, sql: `SELECT country, COUNT(*) AS customers FROM customers WHERE strftime('%Y', signup_date) = ${lit(year)} GROUP BY country;` };
    },
  },
  {
    id: 'most-expensive-products', level: 'medium',
    make(rng, db) {
      const cat = rng.pick(column<string>(db, 'SELECT DISTINCT category FROM products ORDER BY category'));
      const k = rng.int(2, 5);
      return { question: `What are the ${k} most expensive products in the ${cat} category? List name and price, most expensive first.`, sql: `SELECT name, price FROM products WHERE category = ${lit(cat)} ORDER BY price DESC LIMIT ${k};` };
    },
  },
  {
    id: 'orders-per-status-city', level: 'medium',
    make(rng, db) {
      const city = rng.pick(column<string>(db, 'SELECT DISTINCT c.city FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY 1'));
      return { question: `How many orders of each status were placed by customers in ${city}?`, sql: `SELECT o.status, COUNT(*) AS orders FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.city = ${lit(city)} GROUP BY o.status;` };
    },
  },
  {
    id: 'customer-products', level: 'hard',
    make(rng, db) {
      const name = rng.pick(column<string>(db, 'SELECT DISTINCT c.name FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY 1'));
      return {
        question: `Which products has ${name} ordered? List each product name once.`,
        sql: `SELECT DISTINCT p.name FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id WHERE c.name = ${lit(name)};`,
      };
    },
  },
  {
    id: 'customer-order-count', level: 'medium',
    make(rng, db) {
      const name = rng.pick(column<string>(db, 'SELECT DISTINCT c.name FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY 1'));
      const status = rng.pick(['', ...column<string>(db, 'SELECT DISTINCT status FROM orders ORDER BY 1')]);
      return status === ''
        ? { question: `How many orders has ${name} placed?`, sql: `SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.name = ${lit(name)};` }
        : { question: `How many of ${name}'s orders have the status '${status}'?`, sql: `SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.name = ${lit(name)} AND o.status = ${lit(status)};` };
    },
  },
  {
    id: 'product-units-sold', level: 'medium',
    make(rng, db) {
      const product = rng.pick(column<string>(db, 'SELECT DISTINCT p.name FROM products p JOIN order_items oi ON oi.product_id = p.id ORDER BY 1'));
      const year = rng.pick(column<string>(db, "SELECT DISTINCT strftime('%Y', order_date) FROM orders ORDER BY 1"));
      return {
        question: `How many units of the product '${product}' were sold in orders placed in ${year}?`,
        sql: `SELECT SUM(oi.quantity) FROM order_items oi JOIN products p ON p.id = oi.product_id JOIN orders o ON o.id = oi.order_id WHERE p.name = ${lit(product)} AND strftime('%Y', o.order_date) = ${lit(year)};`,
      };
    },
  },
  {
    id: 'customer-spend', level: 'hard',
    make(rng, db) {
      const name = rng.pick(column<string>(db, "SELECT DISTINCT c.name FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.status <> 'cancelled' ORDER BY 1"));
      return {
        question: `How much has ${name} spent in total (quantity times unit price) on orders that were not cancelled?`,
        sql: `SELECT SUM(oi.quantity * oi.unit_price) FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id WHERE c.name = ${lit(name)} AND o.status <> 'cancelled';`,
      };
    },
  },
  {
    id: 'product-buyers', level: 'hard',
    make(rng, db) {
      const product = rng.pick(column<string>(db, 'SELECT DISTINCT p.name FROM products p JOIN order_items oi ON oi.product_id = p.id ORDER BY 1'));
      const country = rng.pick(['', ...column<string>(db, 'SELECT DISTINCT country FROM customers ORDER BY 1')]);
      const where = country === '' ? '' : ` AND c.country = ${lit(country)}`;
      return {
        question: `Which customers${country === '' ? '' : ` from ${country}`} have bought the product '${product}'? List each name once.`,
        sql: `SELECT DISTINCT c.name FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id WHERE p.name = ${lit(product)}${where};`,
      };
    },
  },
  {
    id: 'city-revenue', level: 'hard',
    make(rng, db) {
      const city = rng.pick(column<string>(db, 'SELECT DISTINCT c.city FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY 1'));
      const status = rng.pick(column<string>(db, 'SELECT DISTINCT status FROM orders ORDER BY 1'));
      return {
        question: `What is the total value (quantity times unit price) of the ${status} orders of customers living in ${city}?`,
        sql: `SELECT SUM(oi.quantity * oi.unit_price) FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id WHERE c.city = ${lit(city)} AND o.status = ${lit(status)};`,
      };
    },
  },
  {
    id: 'revenue-month', level: 'hard',
    make(rng, db) {
      const ym = rng.pick(column<string>(db, "SELECT DISTINCT strftime('%Y-%m', order_date) FROM orders WHERE status = 'delivered' ORDER BY 1"));
      const [y, m] = ym.split('-') as [string, string];
      return {
        question: `What was the total revenue (quantity times unit price) of delivered orders placed in ${MONTHS[Number(m) - 1]} ${y}?`,
        sql: `SELECT SUM(oi.quantity * oi.unit_price) FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.status = 'delivered' AND strftime('%Y-%m', o.order_date) = ${lit(ym)};`,
      };
    },
  },
  {
    id: 'top-customers', level: 'hard',
    make(rng, db) {
      const country = rng.pick(column<string>(db, 'SELECT DISTINCT c.country FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY 1'));
      const k = rng.int(2, 4);
      return {
        question: `Which ${k} customers from ${country} placed the most orders? Show each name with its number of orders, most first (ties by name).`,
        sql: `SELECT c.name, COUNT(*) AS orders FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.country = ${lit(country)} GROUP BY c.id ORDER BY orders DESC, c.name LIMIT ${k};`,
      };
    },
  },
  {
    id: 'units-per-category', level: 'hard',
    make(rng, db) {
      const year = rng.pick(column<string>(db, "SELECT DISTINCT strftime('%Y', order_date) FROM orders ORDER BY 1"));
      return {
        question: `How many units were sold in each product category in ${year}, not counting cancelled orders? Order from most to fewest units.`,
        sql: `SELECT p.category, SUM(oi.quantity) AS units FROM order_items oi JOIN orders o ON o.id = oi.order_id JOIN products p ON p.id = oi.product_id WHERE o.status <> 'cancelled' AND strftime('%Y', o.order_date) = ${lit(year)} GROUP BY p.category ORDER BY units DESC;`,
      };
    },
  },
  {
    id: 'customers-without-orders', level: 'hard',
    make(rng, db) {
      const country = rng.pick(column<string>(db, 'SELECT DISTINCT country FROM customers WHERE id NOT IN (SELECT customer_id FROM orders) ORDER BY 1'));
      return { question: `Which customers from ${country} have never placed an order?`, sql: `SELECT name FROM customers WHERE country = ${lit(country)} AND id NOT IN (SELECT customer_id FROM orders);` };
    },
  },
  {
    id: 'big-orders', level: 'hard',
    make(rng, db) {
      const totals = column<number>(db, 'SELECT SUM(quantity * unit_price) FROM order_items GROUP BY order_id ORDER BY 1');
      const threshold = Math.floor(totals[Math.floor(totals.length * (0.5 + rng.next() * 0.45))]! / 10) * 10;
      return {
        question: `List the ids of the orders whose total value (quantity times unit price over their items) is above ${threshold}, largest first.`,
        sql: `SELECT order_id FROM order_items GROUP BY order_id HAVING SUM(quantity * unit_price) > ${threshold} ORDER BY SUM(quantity * unit_price) DESC, order_id;`,
      };
    },
  },
];
