/** The pure-TypeScript reference kernels: the test oracle for native/, and the fallback engine. */
import type { Kernels } from '../kernels.js';
import { sgemm, sgemmBatched, sgemmW16 } from './gemm.js';
import { rmsnormForward, rmsnormBackward } from './norm.js';
import { rope } from './rope.js';
import { swigluForward, swigluBackward } from './swiglu.js';
import { attentionForward, attentionBackward } from './attention.js';
import { softmaxForward, softmaxBackward, logSoftmaxForward, logSoftmaxBackward } from './softmax.js';
import { tokenLogprobsForward, tokenLogprobsBackward, entropy } from './logprobs.js';
import { embeddingForward, embeddingBackward } from './embedding.js';
import { adamw } from './adamw.js';

export const referenceKernels: Kernels = {
  name: 'reference',
  getThreads: () => 1,
  setThreads: () => {},
  sgemm,
  sgemmBatched,
  sgemmW16,
  rmsnormForward,
  rmsnormBackward,
  rope,
  swigluForward,
  swigluBackward,
  attentionForward,
  attentionBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  tokenLogprobsForward,
  tokenLogprobsBackward,
  entropy,
  embeddingForward,
  embeddingBackward,
  adamw,
};
