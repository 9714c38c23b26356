/** MULTI and pipelines report each command's error in their results rather than rejecting. */
export function throwFirstError(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('Redis transaction aborted');
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
}
