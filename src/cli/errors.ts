/** An error meant for the user: printed as `rft: message` without a stack; exit code 2 unless given. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
