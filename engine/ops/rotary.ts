/** Placeholder: being written. */
export const rotaryOps = {} as const;
