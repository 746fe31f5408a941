import { accessSync, constants, readFileSync } from 'node:fs';

/**
 * A file named on the command line that cannot be read, or does not hold
 * what the option asks for: bad input (exit 3), said in one line, never an
 * internal error with a stack.
 */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The text of `file`, named by `option` (e.g. `--checkpoint`). */
export function readInputFile(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputFileError(`cannot read ${option} ${file}: ${reason(error)}`);
  }
}

/** Fails now, before anything runs, when `file` cannot be opened for reading (it is streamed later). */
export function requireReadable(option: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (error) {
    throw new InputFileError(`cannot read ${option} ${file}: ${reason(error)}`);
  }
}

/** `parse(text of file)`; a parse failure names the option, the file and what is wrong. */
export function parseInputFile<T>(option: string, file: string, parse: (text: string) => T): T {
  const text = readInputFile(option, file);
  try {
    return parse(text);
  } catch (error) {
    throw new InputFileError(`${option} ${file}: ${reason(error)}`);
  }
}
