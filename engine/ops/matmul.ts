/** Placeholder: being written. */
export const matmulOps = {} as const;
