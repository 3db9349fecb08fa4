/** Placeholder: being written. */
export const layernormOps = {} as const;
