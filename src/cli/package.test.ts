/**
 * rft as another project meets it: `npm pack`, the tarball installed into a scratch project
 * (offline, from the npm cache that the repo's own `npm install` filled), the `rft` bin of that
 * project running a `.ts` evaluator that imports from 'rft', the public faces resolving with
 * their types, and the CLI on the PATH after a global install from the clone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../engine/native.js';

// `npm test` passes npm_config_* / npm_package_* variables down; they would point the scratch
// project's npm at the repo (local_prefix) — drop them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const run = (cmd: string, args: string[], o: SpawnSyncOptions) => spawnSync(cmd, args, { encoding: 'utf8', env: cleanEnv, ...o }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
const tarball = `${pkg.name}-${pkg.version}.tgz`;

/**
 * A lockfile for a project that depends only on the tarball: rft's entry plus the repo lock's
 * non-dev packages (the same versions and integrities, so `npm install --offline` finds every
 * tarball in the cache by its integrity and needs no registry metadata).
 */
function scratchLock(dep: string): unknown {
  const lock = JSON.parse(readFileSync(join(packageRoot, 'package-lock.json'), 'utf8'));
  const root = lock.packages[''];
  const packages: Record<string, unknown> = {
    '': { name: 'scratch', dependencies: { rft: dep } },
    'node_modules/rft': { version: pkg.version, resolved: dep, license: pkg.license, hasInstallScript: true, dependencies: root.dependencies, optionalDependencies: root.optionalDependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }>)) {
    if (path && !entry.dev && !entry.devOptional && !entry.link) packages[path] = entry;
  }
  return { name: 'scratch', lockfileVersion: 3, requires: true, packages };
}

test('npm pack → install the tarball in another project → its rft bin previews a .ts evaluator that imports from "rft"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-package-'));
  // --ignore-scripts: dist/ is what `npm test` just compiled (prepare would rebuild it under the running tests)
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: packageRoot });
  assert.equal(packed.status, 0, packed.stderr);
  const files = (JSON.parse(packed.stdout)[0].files as { path: string }[]).map((f) => f.path);
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/src/train/index.d.ts', 'dist/src/evaluators/isolation/module-worker.js', 'dist/bench/registry.js', 'scripts/build-native.mjs', 'binding.gyp', 'native/src/addon.cc', 'dashboard/index.html', 'dashboard/js/main.js', 'dashboard/style.css']) {
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  }
  const hasAddon = existsSync(join(packageRoot, 'build/Release/rft_native.node'));
  if (hasAddon) assert.ok(files.includes('build/Release/rft_native.node'), 'the tarball lacks the built native addon');
  assert.deepEqual(files.filter((f) => /\.test\.|^src\/|fixtures/.test(f)), [], 'tests, sources and fixtures stay out of the tarball');

  const proj = join(dir, 'proj');
  mkdirSync(proj);
  const dep = `file:../${tarball}`;
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { rft: dep } }));
  writeFileSync(join(proj, 'package-lock.json'), JSON.stringify(scratchLock(dep)));
  // --ignore-scripts: the dependencies' own native builds (better-sqlite3, isolated-vm) would compile for minutes
  const installed = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: proj });
  assert.equal(installed.status, 0, installed.stderr);

  writeFileSync(join(proj, 'my-eval.ts'), [
    "import { defineEvaluator, type Rollout } from 'rft';",
    "import { answerPatterns, extractAnswer } from 'rft/data';",
    "const patterns = answerPatterns({ answerTag: 'answer' });",
    'export default defineEvaluator({',
    "  name: 'tagged-answer',",
    '  evaluate({ row, output }: Rollout) {',
    '    const answer = extractAnswer(output, patterns);',
    '    const right = answer === String(row.ground_truth);',
    "    return { score: 0.75 * Number(right) + 0.25 * Number(answer !== undefined), valid: true, reason: `answer ${answer ?? 'none'}` };",
    '  },',
    '});',
  ].join('\n'));
  writeFileSync(join(proj, 'rows.jsonl'), ['4', '6', '9'].map((g, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }], ground_truth: g })).join('\n') + '\n');
  writeFileSync(join(proj, 'responses.jsonl'), ['<answer>4</answer>', '<answer>7</answer>', 'no idea'].map((s) => JSON.stringify(s)).join('\n') + '\n');
  const preview = run(join(proj, 'node_modules/.bin/rft'), ['evaluator', 'preview', '--evaluator', './my-eval.ts', '--dataset', 'rows.jsonl', '--responses', 'responses.jsonl', '--json'], { cwd: proj });
  assert.equal(preview.status, 0, preview.stderr);
  const out = JSON.parse(preview.stdout);
  assert.deepEqual(out.results.map((r: { score: number; reason: string }) => [r.score, r.reason]), [[1, 'answer 4'], [0.25, 'answer 7'], [0, 'answer none']]);

  // every public face resolves with its types (the repo's own TypeScript checks the scratch project)
  writeFileSync(join(proj, 'faces.ts'), [
    "import { defineEvaluator, type EvaluationResult, type PolicyEngine } from 'rft';",
    "import { validateRows } from 'rft/data';",
    "import { loadEvaluator } from 'rft/evaluators';",
    "import { initModel, TransformerPolicy } from 'rft/model';",
    "import { tensor } from 'rft/engine';",
    "import { runRftLoop, runSft, rftFields, runRftFromConfig } from 'rft/train';",
    'const r: EvaluationResult = { score: 1, valid: true };',
    'export const used: unknown[] = [defineEvaluator, validateRows, loadEvaluator, initModel, TransformerPolicy, tensor, runRftLoop, runSft, rftFields, runRftFromConfig, r];',
    'export type P = PolicyEngine;',
  ].join('\n'));
  // and every name the README's TypeScript snippets import from rft exists there
  const readmeImports = [...readFileSync(join(packageRoot, 'README.md'), 'utf8').matchAll(/^import \{([^}]+)\} from '(rft(?:\/\w+)?)';/gm)];
  assert.ok(readmeImports.length >= 3, 'the README imports from rft');
  writeFileSync(join(proj, 'readme-imports.ts'), readmeImports.map(([, names, face], i) =>
    `import { ${names.split(',').map((n) => n.trim()).filter(Boolean).map((n) => `${n} as r${i}_${n.replace(/\W/g, '')}`).join(', ')} } from '${face}';\nexport const u${i}: unknown[] = [${names.split(',').map((n) => n.trim()).filter(Boolean).map((n) => `r${i}_${n.replace(/\W/g, '')}`).join(', ')}];`).join('\n'));
  writeFileSync(join(proj, 'bad.ts'), "import { notExported } from 'rft/train';\nexport const x = notExported;\n");
  writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['*.ts'] }));
  const tsc = run(process.execPath, [join(packageRoot, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: proj });
  // exactly one error: the deliberate one in bad.ts (so the check really looks at the faces)
  assert.equal(tsc.stdout.trim().split('\n').filter((l) => /error TS/.test(l)).join('\n'), "bad.ts(1,10): error TS2305: Module '\"rft/train\"' has no exported member 'notExported'.");
  for (const face of ['rft', 'rft/data', 'rft/evaluators', 'rft/model', 'rft/engine', 'rft/train']) {
    const r = run(process.execPath, ['--input-type=module', '-e', `const m = await import('${face}'); console.log(Object.keys(m).length)`], { cwd: proj });
    assert.equal(r.status, 0, `${face}: ${r.stderr}`);
    assert.ok(Number(r.stdout) > 3, `${face} exports ${r.stdout}`);
  }

  if (hasAddon) {
    // the install script keeps the prebuilt addon instead of compiling (an installed package has no .git)
    const build = run(process.execPath, [join(proj, 'node_modules/rft/scripts/build-native.mjs')], { cwd: join(proj, 'node_modules/rft') });
    assert.equal(build.status, 0, build.stderr);
    assert.match(build.stdout, /using the prebuilt native engine/);
    const k = run(process.execPath, ['--input-type=module', '-e', "const { kernels } = await import('rft'); console.log(kernels().name)"], { cwd: proj });
    assert.match(k.stdout, /^native/);
  }
});

test('npm install -g from the clone puts rft on the PATH', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'rft-global-'));
  const r = run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, packageRoot], { cwd: prefix });
  assert.equal(r.status, 0, r.stderr);
  const v = run('rft', ['--version'], { cwd: tmpdir(), env: { ...cleanEnv, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), pkg.version);
});
