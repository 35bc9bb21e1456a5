/**
 * A list filter that cannot be parsed or does not fit the namespace's search attributes.
 * The server maps it to gRPC INVALID_ARGUMENT; the message says what is wrong, where, and (as `hint`)
 * what would be accepted.
 */
export class VisibilityQueryError extends Error {
  // Explicit so that matching on `name` survives minification.
  override readonly name = 'VisibilityQueryError';
  /** 1-based character position in the query, when the problem has one. */
  readonly position: number | undefined;

  constructor(problem: string, position?: number, hint?: string) {
    const where = position === undefined ? '' : ` at position ${position}`;
    super(`${problem}${where}${hint ? `; ${hint}` : ''}`);
    this.position = position;
  }
}
