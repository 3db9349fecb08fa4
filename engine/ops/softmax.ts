/** Placeholder: being written. */
export const softmaxOps = {} as const;
