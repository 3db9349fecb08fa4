import type { OpCase } from '../lib/case.js';
/** Placeholder: being written. */
export const dropoutCases: OpCase[] = [];
