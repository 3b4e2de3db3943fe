/**
 * The dashboard's files, served by `rft server` at `/` and `/dashboard/…`: plain HTML, CSS and
 * ES modules from the package's dashboard/ folder (no build step, no CDN; listed in package.json
 * "files") plus uPlot's dist files from the installed `uplot` package. The dashboard is a client of the jobs REST API and nothing more
 * (it learns whether keys are needed from `/health`, the built-in evaluators from
 * `/v1/builtinEvaluators`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** The package's dashboard/ folder, found from this module whether it runs compiled (dist/src/server) or from source. */
export function dashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dashboard', 'index.html'))) return join(dir, 'dashboard');
    dir = dirname(dir);
  }
  throw new Error('the dashboard files (dashboard/index.html) are missing from the package');
}

function vendorFile(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  const files: Record<string, string> = { 'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js', 'uPlot.min.css': 'uplot/dist/uPlot.min.css' };
  const spec = files[name];
  if (!spec) return undefined;
  try {
    return require.resolve(spec);
  } catch {
    return undefined;
  }
}

let root: string | undefined;

/** Serves the dashboard for GET `/`, `/dashboard` and `/dashboard/…`; returns false for any other path. */
export function handleDashboard(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path !== '/' && path !== '/dashboard' && !path.startsWith('/dashboard/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end(`${req.method} is not allowed on ${path}`);
    return true;
  }
  if (path === '/') {
    res.writeHead(302, { location: '/dashboard/' }).end();
    return true;
  }
  root ??= dashboardDir();
  const rel = path === '/dashboard' ? 'index.html' : decodeURIComponent(path.slice('/dashboard/'.length)) || 'index.html';
  let file: string | undefined;
  if (rel.startsWith('vendor/')) file = vendorFile(rel.slice('vendor/'.length));
  else {
    const p = normalize(join(root, rel));
    if (p.startsWith(root + sep) && existsSync(p) && statSync(p).isFile()) file = p;
  }
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`no dashboard file ${rel}`);
    return true;
  }
  const body = readFileSync(file);
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
