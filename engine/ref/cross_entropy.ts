/** Placeholder: being written. */
export const crossEntropyRef = {};
