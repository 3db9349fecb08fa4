/** Every op case, by family. */
import type { OpCase } from '../lib/case.js';
import { elementwiseCases } from './elementwise.js';
import { matmulCases } from './matmul.js';
import { gatherCases } from './gather.js';
import { softmaxCases } from './softmax.js';
import { attentionCases } from './attention.js';
import { layernormCases } from './layernorm.js';
import { rotaryCases } from './rotary.js';
import { dropoutCases } from './dropout.js';
import { crossEntropyCases } from './cross_entropy.js';
import { reduceCases } from './reduce.js';
import { shapeCases } from './shape.js';

export const ALL_CASES: readonly OpCase[] = [...elementwiseCases, ...reduceCases, ...shapeCases, ...matmulCases, ...gatherCases, ...softmaxCases, ...attentionCases, ...layernormCases, ...rotaryCases, ...dropoutCases, ...crossEntropyCases];
