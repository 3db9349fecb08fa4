/**
 * The one error type of the I/O layer. Its message is a single line, "<file>: <what is wrong>",
 * so the CLI can print it as it is, without a stack trace.
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';

  /**
   * @param file the file (or label) being read, as the user named it
   * @param detail what is wrong, e.g. "tensor 'x' data_offsets [0, 400] exceed the 256-byte data section"
   */
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
