// A YAML parse error as one line a user can act on.

/** The first line of the parser's message, with a hint where a common mistake explains it. */
export function yamlErrorMessage(code: string, message: string, text: string): string {
  const firstLine = (message.split('\n')[0] ?? message).replace(/:$/, '');
  const where = / at line (\d+), column \d+$/.exec(firstLine);
  const detail = code === 'MULTIPLE_DOCS' ? `contains more than one YAML document${where ? where[0] : ''}` : firstLine;
  const line = where ? text.split('\n')[Number(where[1]) - 1] : undefined;
  // A plain IPv6 scalar ending in "::" inside [..] or {..} reads as a key: quoting fixes it.
  const hint = line?.includes('::') ? ' (quote IPv6 addresses, e.g. "fd00::1")' : '';
  return `not valid YAML or JSON: ${detail}${hint}`;
}
