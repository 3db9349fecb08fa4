/** Placeholder: being written. */
export const rotaryRef = {};
