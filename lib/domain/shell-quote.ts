/**
 * Quotes a word for a POSIX shell when it needs it (JSON documents always do), so that a command
 * printed for an operator can be pasted as it is.
 */
export function shellQuote(text: string): string {
  return /^[\w+=,.@:/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
