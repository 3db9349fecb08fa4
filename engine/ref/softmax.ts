/** Placeholder: being written. */
export const softmaxRef = {};
