/** The pure-TypeScript reference kernels: the test oracle for native/, and the fallback engine. */
import type { Kernels } from '../kernels.js';
import { sgemm, sgemmBatched } from './gemm.js';

function missing(name: string): never {
  throw new Error(`reference kernel ${name} is not implemented yet`);
}

const implemented: Partial<Kernels> = { name: 'reference', getThreads: () => 1, setThreads: () => {}, sgemm, sgemmBatched };

export const referenceKernels: Kernels = new Proxy(implemented as Kernels, {
  get(target, prop) {
    if (prop in target) return (target as any)[prop];
    return () => missing(String(prop));
  },
});
