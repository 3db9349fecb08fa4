/** Placeholder: being written. */
export const dropoutOps = {} as const;
