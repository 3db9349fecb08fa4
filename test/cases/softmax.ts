import type { OpCase } from '../lib/case.js';
/** Placeholder: being written. */
export const softmaxCases: OpCase[] = [];
