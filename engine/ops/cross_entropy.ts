/** Placeholder: being written. */
export const crossEntropyOps = {} as const;
