/**
 * Quoting for POSIX shells (sh, dash, bash, zsh), for commands the stack prints for people to paste
 * (adminUiAccess, apiForAgents.exampleCurl). A word of only characters no shell treats specially is
 * left bare, for readability; anything else is wrapped in single quotes, inside which nothing
 * expands, and each `'` becomes `'\''` (close, escaped quote, reopen). A leading `=` is quoted too:
 * zsh expands `=cmd` to the command's path.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:@,+-][A-Za-z0-9_./=:@,+-]*$/.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from its words, each quoted with shellQuote. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
