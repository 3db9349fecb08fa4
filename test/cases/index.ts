/** Every op case, by family. */
import type { OpCase } from '../lib/case.js';
import { elementwiseCases } from './elementwise.js';
import { reduceCases } from './reduce.js';
import { shapeCases } from './shape.js';

export const ALL_CASES: readonly OpCase[] = [...elementwiseCases, ...reduceCases, ...shapeCases];
