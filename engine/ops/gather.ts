/** Placeholder: being written. */
export const gatherOps = {} as const;
