/** Placeholder: being written. */
export const gatherRef = {};
