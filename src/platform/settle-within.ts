/**
 * Waits for `work` to settle, but no longer than `ms`: whatever is still running then is left to
 * itself. Never rejects; a caller that needs the outcome awaits `work` itself.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ignore = () => undefined;
  await Promise.race([
    work.then(ignore, ignore),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))),
  ]);
  clearTimeout(timer);
}
