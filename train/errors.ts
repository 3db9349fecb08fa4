/** Errors of the training library that the command line reports as usage errors. */

/** A bad option value or combination (the CLI prints it as a one-line usage error, exit code 2). */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}
