/**
 * The dashboard's static files (src/server/dashboard/: one page, plain JS, no build step) and
 * uPlot from the package's own node_modules — nothing from a CDN. The page is a client of the
 * REST API and can do nothing the API and the CLI cannot.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { notFound } from './errors.js';

// dist/src/server/dashboard.js → <package>/src/server/dashboard/
const ROOT = fileURLToPath(new URL('../../../src/server/dashboard/', import.meta.url));
const require = createRequire(import.meta.url);
const UPLOT = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

const FILES: Record<string, string> = {
  '': join(ROOT, 'index.html'),
  'index.html': join(ROOT, 'index.html'),
  'app.js': join(ROOT, 'app.js'),
  'style.css': join(ROOT, 'style.css'),
  'uPlot.iife.min.js': join(UPLOT, 'uPlot.iife.min.js'),
  'uPlot.min.css': join(UPLOT, 'uPlot.min.css'),
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export function serveDashboard(res: ServerResponse, path: string): void {
  if (path === '/dashboard') {
    res.writeHead(302, { location: '/dashboard/' });
    return void res.end();
  }
  // only the files of the table are served, so no path can reach beyond them
  const rel = path.slice('/dashboard/'.length);
  const file = FILES[rel];
  if (!file || !existsSync(file)) throw notFound(`no dashboard file "${rel}"`, null, 'unknown_url');
  const ext = file.split('.').pop()!;
  res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
}
