/** Placeholder: being written. */
export const dropoutRef = {};
