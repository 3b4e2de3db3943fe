/**
 * `/openapi.json`: the OpenAPI 3.1 document of the jobs API, with request bodies generated from
 * the same zod schemas the server validates with (z.toJSONSchema), so the two cannot drift.
 */
import { z } from 'zod';
import { rftJobSpecSchema, sftJobSpecSchema } from '../jobs/spec.js';
import { JOB_STATES } from '../jobs/store.js';

const errorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('every problem of a refused body, each with its JSON path or dataset line'),
  }),
});

const datasetCreate = z.object({
  datasetId: z.string().optional(),
  dataset: z.object({ displayName: z.string().optional(), format: z.enum(['RFT', 'SFT']).optional() }).optional(),
});

const evaluatorCreate = z.object({
  evaluatorId: z.string().optional(),
  evaluator: z.object({
    displayName: z.string().optional(),
    spec: z.union([z.string(), z.looseObject({ type: z.string() })]).optional().describe('a built-in name, or a spec object'),
    module: z.object({ code: z.string(), language: z.enum(['js', 'ts']) }).optional().describe('an evaluator module (default export: (rollout) => result)'),
  }),
});

const deploymentCreate = z.object({ job: z.string(), deploymentId: z.string().optional() });

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const schema = (s: z.ZodType) => {
    const { $schema: _s, ...rest } = z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
    return rest;
  };
  const components = {
    ReinforcementFineTuningJobSpec: schema(rftJobSpecSchema),
    SupervisedFineTuningJobSpec: schema(sftJobSpecSchema),
    DatasetCreate: schema(datasetCreate),
    EvaluatorCreate: schema(evaluatorCreate),
    DeploymentCreate: schema(deploymentCreate),
    Error: schema(errorSchema),
    JobState: { type: 'string', enum: [...JOB_STATES] },
  };
  const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
  const json = (n: string) => ({ content: { 'application/json': { schema: ref(n) } } });
  const ok = { '200': { description: 'the resource', content: { 'application/json': { schema: { type: 'object' } } } }, default: { description: 'an error', ...json('Error') } };
  const account = { name: 'account', in: 'path', required: true, schema: { type: 'string' } };
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const listParams = ['pageSize', 'pageToken', 'filter', 'orderBy'].map((n) => ({ name: n, in: 'query', schema: { type: n === 'pageSize' ? 'integer' : 'string' } }));
  const paths: Record<string, unknown> = {
    '/health': { get: { summary: 'liveness', responses: ok } },
    '/v1/accounts/{account}/datasets': {
      get: { summary: 'list datasets', parameters: [account, ...listParams], responses: ok },
      post: { summary: 'create a dataset (then upload its JSONL)', parameters: [account], requestBody: json('DatasetCreate'), responses: ok },
    },
    '/v1/accounts/{account}/datasets/{id}': { get: { parameters: [account, id], responses: ok }, delete: { parameters: [account, id], responses: ok } },
    '/v1/accounts/{account}/datasets/{id}:upload': {
      post: { summary: 'upload JSONL (streamed, validated: every problem with its line)', parameters: [account, id], requestBody: { content: { 'application/jsonl': { schema: { type: 'string' } } } }, responses: ok },
    },
    '/v1/accounts/{account}/datasets/{id}/rows': { get: { summary: 'preview rows', parameters: [account, id], responses: ok } },
    '/v1/accounts/{account}/evaluators': {
      get: { parameters: [account, ...listParams], responses: ok },
      post: { parameters: [account], requestBody: json('EvaluatorCreate'), responses: ok },
    },
    '/v1/accounts/{account}/evaluators/{id}': { get: { parameters: [account, id], responses: ok }, delete: { parameters: [account, id], responses: ok } },
    '/v1/accounts/{account}/evaluators/{id}:addVersion': { post: { parameters: [account, id], requestBody: json('EvaluatorCreate'), responses: ok } },
    '/v1/accounts/{account}/evaluators/{id}:preview': { post: { summary: 'score responses: {dataset | rows, responses: [string | string[]]}', parameters: [account, id], responses: ok } },
    '/v1/accounts/{account}/deployments': {
      get: { parameters: [account], responses: ok },
      post: { summary: "serve a completed job's output through /v1/chat/completions", parameters: [account], requestBody: json('DeploymentCreate'), responses: ok },
    },
    '/v1/accounts/{account}/deployments/{id}': { get: { parameters: [account, id], responses: ok }, delete: { summary: 'undeploy', parameters: [account, id], responses: ok } },
  };
  for (const [collection, spec] of [['reinforcementFineTuningJobs', 'ReinforcementFineTuningJobSpec'], ['supervisedFineTuningJobs', 'SupervisedFineTuningJobSpec']] as const) {
    const base = `/v1/accounts/{account}/${collection}`;
    paths[base] = {
      get: { parameters: [account, ...listParams], responses: ok },
      post: { parameters: [account, { name: collection === 'reinforcementFineTuningJobs' ? 'reinforcementFineTuningJobId' : 'supervisedFineTuningJobId', in: 'query', schema: { type: 'string' } }], requestBody: json(spec), responses: ok },
    };
    paths[`${base}/{id}`] = { get: { parameters: [account, id], responses: ok }, delete: { parameters: [account, id], responses: ok } };
    for (const verb of ['cancel', 'pause', 'resume', 'deploy']) paths[`${base}/{id}:${verb}`] = { post: { parameters: [account, id], responses: ok } };
    for (const sub of ['metrics', 'metrics:stream', 'evaluations', 'rollouts', 'logs', 'checkpoints']) paths[`${base}/{id}/${sub}`] = { get: { parameters: [account, id], responses: ok } };
    paths[`${base}/{id}/checkpoints/{checkpoint}:download`] = { get: { summary: 'a tar of the checkpoint (final: the PEFT adapter)', parameters: [account, id, { name: 'checkpoint', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'tar', content: { 'application/x-tar': {} } } } } };
  }
  cached = { openapi: '3.1.0', info: { title: 'rft jobs API', version: '0.1.0' }, paths, components: { schemas: components, securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } }, security: [{ apiKey: [] }, {}] };
  return cached;
}
