import type { OpCase } from '../lib/case.js';
/** Placeholder: being written. */
export const gatherCases: OpCase[] = [];
