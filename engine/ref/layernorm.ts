/** Placeholder: being written. */
export const layernormRef = {};
