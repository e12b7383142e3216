/** One problem in a pool configuration; `path` is the field path ("pools[2].ranges[0].end"), empty for the whole document. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

const MAX_LISTED = 50;

export function formatConfigProblem(problem: ConfigProblem): string {
  return problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
}

/** Every problem found in one configuration source, reported together. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: readonly ConfigProblem[]) {
    super(describe(source, problems));
    this.name = 'ConfigError';
  }
}

function describe(source: string, problems: readonly ConfigProblem[]): string {
  if (problems.length === 1) return `${source}: ${formatConfigProblem(problems[0]!)}`;
  const lines = problems.slice(0, MAX_LISTED).map((problem) => `  ${formatConfigProblem(problem)}`);
  if (problems.length > MAX_LISTED) lines.push(`  ... and ${problems.length - MAX_LISTED} more`);
  return `${source}: ${problems.length} problems:\n${lines.join('\n')}`;
}
