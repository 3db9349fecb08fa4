/** Placeholder: being written. */
export const matmulRef = {};
