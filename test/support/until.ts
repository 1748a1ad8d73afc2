/**
 * Waits until `check` holds, doing `poke` now and then (events emitted before a subscription is set up
 * are not replayed): a liveness deadline, never a timed assertion.
 */
export async function until(
  check: () => boolean,
  poke: () => Promise<unknown> = async () => undefined,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await poke();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
