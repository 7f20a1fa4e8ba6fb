/** Polls `condition` until it holds; only a hang (two minutes) fails, so load never does. */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const hung = Date.now() + 120_000;
  while (!(await condition())) {
    if (Date.now() > hung) throw new Error(`still waiting for ${what} after two minutes`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}
