/** The pure-TypeScript reference kernels: the test oracle for native/, and the fallback engine. */
import type { Kernels } from '../kernels.js';

function missing(name: string): never {
  throw new Error(`reference kernel ${name} is not implemented yet`);
}

export const referenceKernels: Kernels = new Proxy({ name: 'reference', getThreads: () => 1, setThreads: () => {} } as unknown as Kernels, {
  get(target, prop) {
    if (prop in target) return (target as any)[prop];
    return () => missing(String(prop));
  },
});
