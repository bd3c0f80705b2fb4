/** A start-up failure of `aces run` with its ACES_E_START_* code (docs/errors.md); nothing is left attached. */
export class StartupError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
