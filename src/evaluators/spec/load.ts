/**
 * Evaluator specs → evaluators. A spec is
 * - a built-in's name: `"countdown"`;
 * - a path to a `.json` file holding a spec, or to a `.js`/`.ts` module (run in worker threads);
 * - inline JSON, or an object:
 *     `{"type": "numeric", "rel_tol": 0.01}`                      a built-in with options
 *     `{"type": "string_check", "input": "{{sample.output_text}}", ...}`  an OpenAI grader
 *     `{"type": "weighted", "components": [{"evaluator": SPEC, "weight": 0.2}, ...]}`
 *     `{"type": "module", "path": "./my-eval.ts"}`
 * Every problem is reported at once with its JSON path (SpecError).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { Evaluator } from '../../contracts/evaluation.js';
import { weightedEvaluator, type WeightedComponent } from '../compose.js';
import { OPENAI_GRADER_TYPES, openAIGraderEvaluator } from '../graders/openai-graders.js';
import { EvaluatorPool, type EvaluatorPoolOptions } from '../isolation/evaluator-pool.js';
import { MODULE_EXTENSIONS } from '../isolation/load-module.js';
import { BUILTINS } from '../registry.js';
import { describeValue, Issues, Options, SpecError } from './issues.js';
import { parseJsonText } from '../../data/json-text.js';

export interface LoadOptions {
  /** Where relative paths in the spec resolve (default: the current directory). */
  baseDir?: string;
  /** Worker pool settings for users' modules. */
  pool?: EvaluatorPoolOptions;
}

const STRUCTURAL = ['weighted', 'module'] as const;

function allTypes(): string[] {
  return [...Object.keys(BUILTINS), ...STRUCTURAL, ...OPENAI_GRADER_TYPES];
}

/** The options a built-in cannot do without (those its parser reports as required when given none). */
export function requiredOptions(name: string): string[] {
  const issues = new Issues();
  BUILTINS[name].create(new Options({ type: name }, '$', issues));
  return issues.list.filter((i) => /is required/.test(i.message)).map((i) => i.path.replace(/^\$\./, ''));
}

/** The built-ins that need options, with those options: `llm-judge (rubric)`. */
export function builtinsNeedingOptions(): Record<string, string[]> {
  return Object.fromEntries(Object.keys(BUILTINS).map((n) => [n, requiredOptions(n)]).filter(([, o]) => o.length));
}

class Loader {
  readonly issues = new Issues();
  pool?: EvaluatorPool;
  constructor(readonly opts: LoadOptions) {}

  private getPool(): EvaluatorPool {
    return (this.pool ??= new EvaluatorPool(this.opts.pool));
  }

  async fromString(spec: string, path: string, baseDir: string): Promise<Evaluator | undefined> {
    const s = spec.trim();
    if (s.startsWith('{')) {
      let value: unknown;
      try {
        value = parseJsonText(s, 'inline JSON spec');
      } catch (e) {
        this.issues.add(path, (e as Error).message);
        return undefined;
      }
      return this.fromValue(value, path, baseDir);
    }
    if (BUILTINS[s]) {
      const needed = requiredOptions(s);
      if (needed.length) {
        const example = JSON.stringify(Object.fromEntries([['type', s], ...needed.map((k) => [k, '…'])]));
        this.issues.add(path, `the built-in ${JSON.stringify(s)} needs options (${needed.join(', ')}): give it as a JSON object, e.g. '${example}' (see README "Built-in evaluators")`);
        return undefined;
      }
      return this.fromValue({ type: s }, path, baseDir);
    }
    const ext = extname(s).toLowerCase();
    if (ext === '.json') {
      const file = resolve(baseDir, s);
      if (!existsSync(file)) {
        this.issues.add(path, `spec file ${file} does not exist`);
        return undefined;
      }
      let value: unknown;
      try {
        value = parseJsonText(readFileSync(file, 'utf8'), `spec file ${file}`);
      } catch (e) {
        this.issues.add(path, (e as Error).message);
        return undefined;
      }
      return this.fromValue(value, '$', dirname(file));
    }
    if (MODULE_EXTENSIONS.includes(ext)) return this.module(s, path, baseDir);
    this.issues.add(
      path,
      `unknown evaluator ${JSON.stringify(s)}: give a built-in (${Object.keys(BUILTINS).join(', ')}), a .json spec file, inline JSON, or a .js/.ts module path`,
    );
    return undefined;
  }

  async module(p: string, path: string, baseDir: string): Promise<Evaluator | undefined> {
    const file = resolve(baseDir, p);
    if (!existsSync(file)) {
      this.issues.add(path, `evaluator module ${file} does not exist`);
      return undefined;
    }
    try {
      return await this.getPool().load(file);
    } catch (e) {
      this.issues.add(path, `could not load evaluator module ${file}: ${(e as Error).message}`);
      return undefined;
    }
  }

  async fromValue(value: unknown, path: string, baseDir: string): Promise<Evaluator | undefined> {
    if (typeof value === 'string') return this.fromString(value, path, baseDir);
    const o = Options.of(value, path, this.issues);
    if (!o) return undefined;
    const type = o.obj.type;
    if (typeof type !== 'string') {
      this.issues.add(o.at('type'), `is required: one of ${allTypes().join(', ')}`);
      return undefined;
    }
    if (BUILTINS[type]) {
      const before = this.issues.list.length;
      const build = BUILTINS[type].create(o);
      o.done();
      return this.issues.list.length > before ? undefined : build();
    }
    if ((OPENAI_GRADER_TYPES as readonly string[]).includes(type)) return openAIGraderEvaluator(o, this.issues);
    if (type === 'module') {
      const p = o.string('path', { required: true });
      o.done();
      return p ? this.module(p, o.at('path'), baseDir) : undefined;
    }
    if (type === 'weighted') return this.weighted(o, baseDir);
    const hint = type === 'python' ? ' (python graders are not supported: write the evaluator as a .js/.ts module)' : '';
    this.issues.add(o.at('type'), `unknown type ${JSON.stringify(type)}${hint}; one of ${allTypes().join(', ')}`);
    return undefined;
  }

  async weighted(o: Options, baseDir: string): Promise<Evaluator | undefined> {
    const comps = o.raw('components');
    o.done();
    if (!Array.isArray(comps) || comps.length === 0) {
      this.issues.add(o.at('components'), `must be a non-empty array of {"evaluator": SPEC, "weight": number}, got ${describeValue(comps)}`);
      return undefined;
    }
    const out: WeightedComponent[] = [];
    for (const [i, c] of comps.entries()) {
      const co = Options.of(c, `${o.at('components')}[${i}]`, this.issues);
      if (!co) continue;
      const weight = co.number('weight', { min: 0, required: true });
      const name = co.string('name');
      if (!co.has('evaluator')) this.issues.add(co.at('evaluator'), 'is required (a spec: a name, a path or an object)');
      const ev = co.has('evaluator') ? await this.fromValue(co.raw('evaluator'), co.at('evaluator'), baseDir) : undefined;
      co.done();
      if (ev && weight !== undefined) out.push({ evaluator: ev, weight, name });
    }
    if (out.length === comps.length && out.reduce((s, c) => s + c.weight, 0) <= 0) {
      this.issues.add(o.at('components'), 'the weights must sum to more than 0');
      return undefined;
    }
    return out.length === comps.length ? weightedEvaluator(out, typeof o.obj.name === 'string' ? o.obj.name : 'weighted') : undefined;
  }
}

/** Builds an evaluator from a spec; throws SpecError listing every problem. Call `close()` when done. */
export async function loadEvaluator(spec: unknown, opts: LoadOptions = {}): Promise<Evaluator> {
  const loader = new Loader(opts);
  const baseDir = opts.baseDir ?? process.cwd();
  let ev: Evaluator | undefined;
  try {
    ev = await loader.fromValue(spec, '$', baseDir);
  } catch (e) {
    await loader.pool?.close();
    throw e;
  }
  if (loader.issues.list.length || !ev) {
    await loader.pool?.close();
    await ev?.close?.();
    if (!loader.issues.list.length) loader.issues.add('$', 'could not build an evaluator from this spec');
    throw new SpecError(loader.issues.list);
  }
  const pool = loader.pool;
  if (!pool) return ev;
  const inner = ev;
  return {
    name: inner.name,
    evaluate: (r) => inner.evaluate(r),
    close: async () => {
      await inner.close?.();
      await pool.close();
    },
  };
}
